// config.c — schema-driven INI parsing (libinih), overrides, accessors and suggestions.
#include "engine/config/config.h"
#include "engine/base/fsutil.h"

#include <ini.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 99;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++) prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] +
                         (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(size_t) * (lb + 1));
    }
    return prev[lb];
}

static const ElmCfgSection *find_section(const char *name) {
    for (const ElmCfgSection *s = elm_cfg_schema; s->name; s++)
        if (strcmp(s->name, name) == 0) return s;
    return NULL;
}

static ElmCfgValue *find_value(const ElmConfig *cfg, const char *section, const char *key) {
    for (int i = 0; i < cfg->n_values; i++) {
        ElmCfgValue *v = &cfg->values[i];
        if (strcmp(v->section->name, section) == 0 && strcmp(v->spec->key, key) == 0) return v;
    }
    return NULL;
}

// Writes " (did you mean ...?)" for the closest known section/key, or "" when nothing is close.
static void suggest(const ElmConfig *cfg, const char *section, const char *key, char *out,
                    size_t cap) {
    const char *best_s = NULL, *best_k = NULL;
    size_t best = 99;
    for (int i = 0; i < cfg->n_values; i++) {
        const ElmCfgValue *v = &cfg->values[i];
        size_t d = edit_distance(v->section->name, section) * 2 + edit_distance(v->spec->key, key);
        if (key[0] == '\0') d = edit_distance(v->section->name, section);
        if (d < best) best = d, best_s = v->section->name, best_k = v->spec->key;
    }
    if (!key[0]) {
        best = 99;
        for (const ElmCfgSection *s = elm_cfg_schema; s->name; s++) {
            size_t d = edit_distance(s->name, section);
            if (d < best) best = d, best_s = s->name;
        }
    }
    size_t limit = key[0] ? (strlen(key) / 2 + 2) : (strlen(section) / 2 + 1);
    if (!best_s || best > limit) {
        out[0] = '\0';
    } else if (key[0]) {
        snprintf(out, cap, " (did you mean %s.%s?)", best_s, best_k);
    } else {
        snprintf(out, cap, " (did you mean [%s]?)", best_s);
    }
}

static int parse_bool(const char *s, long long *out) {
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0) return *out = 0, 0;
    }
    return -1;
}

static int enum_index(const char *choices, const char *s) {
    int idx = 0;
    const char *p = choices;
    size_t n = strlen(s);
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncasecmp(p, s, n) == 0) return idx;
        idx++;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

// Parses text into v according to its spec. `where` is "file:line" or "--set".
static int set_value(ElmCfgValue *v, const char *text, const char *where, ElmError *err) {
    const ElmCfgKey *k = v->spec;
    const char *sec = v->section->name;
    char *end = NULL;
    switch (k->type) {
    case ELM_CFG_STR:
    case ELM_CFG_PATH:
        break;
    case ELM_CFG_INT: {
        errno = 0;
        long long x = strtoll(text, &end, 10);
        if (errno || end == text || *end)
            return elm_err(err, "%s: %s.%s expects an integer, got '%s'", where, sec, k->key, text);
        if ((double)x < k->min || (double)x > k->max)
            return elm_err(err, "%s: %s.%s = %lld is out of range [%.17g, %.17g]", where, sec,
                           k->key, x, k->min, k->max);
        v->i = x, v->f = (double)x;
        break;
    }
    case ELM_CFG_FLOAT: {
        errno = 0;
        double x = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(x))
            return elm_err(err, "%s: %s.%s expects a number, got '%s'", where, sec, k->key, text);
        if (x < k->min || x > k->max)
            return elm_err(err, "%s: %s.%s = %g is out of range [%g, %g]", where, sec, k->key, x,
                           k->min, k->max);
        v->f = x;
        break;
    }
    case ELM_CFG_BOOL:
        if (parse_bool(text, &v->i))
            return elm_err(err, "%s: %s.%s expects true or false, got '%s'", where, sec, k->key,
                           text);
        break;
    case ELM_CFG_ENUM: {
        int idx = enum_index(k->choices, text);
        if (idx < 0)
            return elm_err(err, "%s: %s.%s must be one of %s, got '%s'", where, sec, k->key,
                           k->choices, text);
        v->i = idx;
        break;
    }
    case ELM_CFG_LIST: {
        char **items = elm_realloc(v->items, sizeof(char *) * (size_t)(v->n_items + 1), err);
        if (!items) return -1;
        v->items = items;
        int *lines = elm_realloc(v->item_lines, sizeof(int) * (size_t)(v->n_items + 1), err);
        if (!lines) return -1;
        v->item_lines = lines;
        lines[v->n_items] = 0;
        if (!(v->items[v->n_items] = dupstr(text))) return elm_err(err, "out of memory");
        v->n_items++;
        return 0;
    }
    }
    char *t = dupstr(text);
    if (!t) return elm_err(err, "out of memory");
    free(v->text);
    v->text = t;
    return 0;
}

int elm_config_init(ElmConfig *cfg, ElmError *err) {
    memset(cfg, 0, sizeof *cfg);
    int n = 0;
    for (const ElmCfgSection *s = elm_cfg_schema; s->name; s++)
        for (const ElmCfgKey *k = s->keys; k->key; k++) n++;
    cfg->values = calloc((size_t)n, sizeof(ElmCfgValue));
    cfg->path = dupstr("");
    cfg->dir = dupstr(".");
    if (!cfg->values || !cfg->path || !cfg->dir) return elm_err(err, "out of memory");
    for (const ElmCfgSection *s = elm_cfg_schema; s->name; s++) {
        for (const ElmCfgKey *k = s->keys; k->key; k++) {
            ElmCfgValue *v = &cfg->values[cfg->n_values++];
            v->section = s, v->spec = k, v->source = ELM_SRC_DEFAULT;
            if (k->def && set_value(v, k->def, "default", err)) {
                elm_err_prefix(err, "internal: bad default");
                return -1;
            }
            if (!k->def && k->type != ELM_CFG_LIST) v->text = dupstr("");
        }
    }
    return 0;
}

// State for the libinih callback: line counting happens in our reader.
typedef struct {
    ElmConfig *cfg;
    const char *name;
    int line;
    int failed;
    ElmError *err;
    const char *text; // for string parsing
    size_t pos;
    FILE *file;
    char **longv; // values of lines longer than libinih's buffer (see read_ini_line)
    int n_long;
    int long_line; // the line the last of them came from (only its value is a stand-in)
} IniCtx;

#define LONG_MARK '\x1f' // a stashed value's stand-in: LONG_MARK then its index

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

// A line too long for libinih's fixed buffer (INI_MAX_LINE, 200 bytes in Debian's build) would
// be cut in two. So a long "key = value" line reaches libinih as "key = <mark><index>", its
// value (trimmed, inline "; comment" removed, as libinih would) kept aside; a long comment as
// an empty line; anything else cut, so libinih reports it, on the right line.
static void stand_in(IniCtx *c, char *line, char *str, int num) {
    char *s = line;
    while (isspace((unsigned char)*s)) s++;
    size_t sep = strcspn(s, "=:");
    if (*s == ';' || *s == '#') {
        snprintf(str, (size_t)num, "\n");
        return;
    }
    if (*s != '[' && s[sep] && sep + 16 < (size_t)num) {
        s[sep] = '\0';
        char *value = s + sep + 1;
        for (char *p = value; *p; p++)
            if (*p == ';' && p > value && isspace((unsigned char)p[-1])) {
                *p = '\0';
                break;
            }
        char **grown = realloc(c->longv, (size_t)(c->n_long + 1) * sizeof *grown);
        char *copy = dupstr(trim(value));
        if (grown && copy) {
            c->longv = grown;
            c->longv[c->n_long] = copy;
            snprintf(str, (size_t)num, "%s = %c%d\n", trim(s), LONG_MARK, c->n_long++);
            c->long_line = c->line;
            return;
        }
        if (grown) c->longv = grown;
        free(copy);
    }
    snprintf(str, (size_t)num, "%.*s\n", num - 2, line);
}

static char *read_ini_line(char *str, int num, void *stream) {
    IniCtx *c = stream;
    char *line = NULL;
    size_t len;
    if (c->file) {
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, c->file);
        if (n < 0) {
            free(line);
            return NULL;
        }
        len = (size_t)n;
    } else {
        const char *p = c->text + c->pos;
        if (!*p) return NULL;
        len = strcspn(p, "\n");
        if (p[len] == '\n') len++;
        line = malloc(len + 1);
        if (!line) return NULL;
        memcpy(line, p, len);
        line[len] = '\0';
        c->pos += len;
    }
    c->line++;
    if (len < (size_t)num)
        memcpy(str, line, len + 1);
    else
        stand_in(c, line, str, num);
    free(line);
    return str;
}

static int on_ini_line(void *user, const char *section, const char *name, const char *value) {
    IniCtx *c = user;
    if (c->failed) return 1;
    if (value && value[0] == LONG_MARK) {
        int i = atoi(value + 1);
        // a short line's own value may start with the mark too: it is taken as written
        if (c->long_line == c->line && i == c->n_long - 1) value = c->longv[i];
    }
    char where[600], hint[160];
    snprintf(where, sizeof where, "%s:%d", c->name, c->line);
    c->failed = 1;
    if (!section[0]) {
        elm_err(c->err, "%s: key '%s' is outside any [section]", where, name);
        return 1;
    }
    if (!find_section(section)) {
        suggest(c->cfg, section, "", hint, sizeof hint);
        elm_err(c->err, "%s: unknown section [%s]%s", where, section, hint);
        return 1;
    }
    ElmCfgValue *v = find_value(c->cfg, section, name);
    if (!v) {
        suggest(c->cfg, section, name, hint, sizeof hint);
        elm_err(c->err, "%s: unknown key '%s' in [%s]%s", where, name, section, hint);
        return 1;
    }
    if (v->source == ELM_SRC_FILE && v->spec->type != ELM_CFG_LIST) {
        elm_err(c->err, "%s: %s.%s is already set on line %d", where, section, name, v->line);
        return 1;
    }
    if (v->spec->type == ELM_CFG_LIST && v->source != ELM_SRC_FILE) {
        for (int i = 0; i < v->n_items; i++) free(v->items[i]);
        v->n_items = 0;
    }
    if (set_value(v, value, where, c->err)) return 1;
    v->source = ELM_SRC_FILE;
    v->line = c->line;
    if (v->spec->type == ELM_CFG_LIST) v->item_lines[v->n_items - 1] = c->line;
    c->failed = 0;
    return 1;
}

static void set_origin(ElmConfig *cfg, const char *path) {
    free(cfg->path);
    free(cfg->dir);
    cfg->path = dupstr(path);
    const char *slash = strrchr(path, '/');
    if (slash) {
        size_t n = (size_t)(slash - path);
        cfg->dir = malloc(n + 2);
        if (cfg->dir) {
            memcpy(cfg->dir, path, n ? n : 1);
            cfg->dir[n ? n : 1] = '\0';
        }
    } else {
        cfg->dir = dupstr(".");
    }
}

static int run_ini(ElmConfig *cfg, IniCtx *c) {
    int rc = ini_parse_stream(read_ini_line, c, on_ini_line, c);
    for (int i = 0; i < c->n_long; i++) free(c->longv[i]);
    free(c->longv);
    if (c->failed) return -1;
    if (rc > 0)
        return elm_err(c->err, "%s:%d: not an INI line (expected key = value)", c->name, rc);
    if (rc < 0) return elm_err(c->err, "%s: could not read the config", c->name);
    (void)cfg;
    return 0;
}

int elm_config_load_file(ElmConfig *cfg, const char *path, ElmError *err) {
    FILE *f = fopen(path, "r");
    if (!f) return elm_err(err, "%s: cannot open config: %s", path, strerror(errno));
    set_origin(cfg, path);
    IniCtx c = {.cfg = cfg, .name = path, .err = err, .file = f};
    int rc = run_ini(cfg, &c);
    fclose(f);
    return rc;
}

int elm_config_load_string(ElmConfig *cfg, const char *text, const char *name, ElmError *err) {
    free(cfg->path);
    cfg->path = dupstr(name);
    IniCtx c = {.cfg = cfg, .name = name, .err = err, .text = text};
    return run_ini(cfg, &c);
}

int elm_config_override(ElmConfig *cfg, const char *assignment, ElmError *err) {
    const char *eq = strchr(assignment, '=');
    const char *dot = strchr(assignment, '.');
    if (!eq || !dot || dot > eq)
        return elm_err(err, "--set %s: expected section.key=value", assignment);
    char section[128], key[128], hint[160];
    size_t ls = (size_t)(dot - assignment), lk = (size_t)(eq - dot - 1);
    if (ls >= sizeof section || lk >= sizeof key)
        return elm_err(err, "--set %s: name too long", assignment);
    memcpy(section, assignment, ls), section[ls] = '\0';
    memcpy(key, dot + 1, lk), key[lk] = '\0';
    ElmCfgValue *v = find_value(cfg, section, key);
    if (!v) {
        suggest(cfg, section, key, hint, sizeof hint);
        if (!find_section(section))
            return elm_err(err, "--set %s: unknown section [%s]%s", assignment, section, hint);
        return elm_err(err, "--set %s: unknown key '%s' in [%s]%s", assignment, key, section, hint);
    }
    if (v->spec->type == ELM_CFG_LIST && v->source != ELM_SRC_OVERRIDE) {
        for (int i = 0; i < v->n_items; i++) free(v->items[i]);
        v->n_items = 0;
    }
    char where[300];
    snprintf(where, sizeof where, "--set %s.%s", section, key);
    if (set_value(v, eq + 1, where, err)) return -1;
    v->source = ELM_SRC_OVERRIDE;
    return 0;
}

void elm_config_free(ElmConfig *cfg) {
    for (int i = 0; i < cfg->n_values; i++) {
        free(cfg->values[i].text);
        for (int j = 0; j < cfg->values[i].n_items; j++) free(cfg->values[i].items[j]);
        free(cfg->values[i].items);
        free(cfg->values[i].item_lines);
    }
    free(cfg->values);
    free(cfg->path);
    free(cfg->dir);
    memset(cfg, 0, sizeof *cfg);
}

static const char *origin(const ElmConfig *cfg, const ElmCfgValue *v, char *buf, size_t cap) {
    switch (v->source) {
    case ELM_SRC_DEFAULT:
        return "default";
    case ELM_SRC_OVERRIDE:
        return "--set";
    case ELM_SRC_FILE:
        snprintf(buf, cap, "%s:%d", cfg->path, v->line);
        return buf;
    }
    return "?";
}

void elm_config_print(const ElmConfig *cfg, FILE *f) {
    char buf[600];
    fprintf(f, "; effective config%s%s\n", cfg->path[0] ? " of " : "", cfg->path);
    const ElmCfgSection *cur = NULL;
    for (int i = 0; i < cfg->n_values; i++) {
        const ElmCfgValue *v = &cfg->values[i];
        if (v->section != cur) {
            cur = v->section;
            fprintf(f, "%s[%s]\n", i ? "\n" : "", cur->name);
        }
        const char *o = origin(cfg, v, buf, sizeof buf);
        if (v->spec->type == ELM_CFG_LIST) {
            if (v->n_items == 0) fprintf(f, "; %s =   ; (empty) %s\n", v->spec->key, o);
            for (int j = 0; j < v->n_items; j++) {
                char item[600];
                if (v->item_lines[j] > 0)
                    snprintf(item, sizeof item, "%s:%d", cfg->path, v->item_lines[j]);
                fprintf(f, "%s = %s   ; %s\n", v->spec->key, v->items[j],
                        v->item_lines[j] > 0 ? item : o);
            }
        } else {
            fprintf(f, "%s = %s   ; %s\n", v->spec->key, v->text ? v->text : "", o);
        }
    }
}

const ElmCfgValue *elm_cfg_get(const ElmConfig *cfg, const char *name) {
    const char *dot = strchr(name, '.');
    char section[128];
    if (dot && (size_t)(dot - name) < sizeof section) {
        memcpy(section, name, (size_t)(dot - name));
        section[dot - name] = '\0';
        const ElmCfgValue *v = find_value(cfg, section, dot + 1);
        if (v) return v;
    }
    fprintf(stderr, "elm: internal error: config key '%s' is not in the schema\n", name);
    abort();
}

const char *elm_cfg_str(const ElmConfig *cfg, const char *name) {
    const ElmCfgValue *v = elm_cfg_get(cfg, name);
    return v->text ? v->text : "";
}
long long elm_cfg_int(const ElmConfig *cfg, const char *name) {
    return elm_cfg_get(cfg, name)->i;
}
double elm_cfg_float(const ElmConfig *cfg, const char *name) {
    return elm_cfg_get(cfg, name)->f;
}
int elm_cfg_bool(const ElmConfig *cfg, const char *name) {
    return (int)elm_cfg_get(cfg, name)->i;
}
int elm_cfg_enum(const ElmConfig *cfg, const char *name) {
    return (int)elm_cfg_get(cfg, name)->i;
}

int elm_cfg_list(const ElmConfig *cfg, const char *name, char ***items) {
    const ElmCfgValue *v = elm_cfg_get(cfg, name);
    *items = v->items;
    return v->n_items;
}

void elm_cfg_resolve(const ElmConfig *cfg, const char *path, char *out, size_t cap) {
    if (!path[0] || path[0] == '/' || strcmp(cfg->dir, ".") == 0)
        snprintf(out, cap, "%s", path);
    else
        snprintf(out, cap, "%s/%s", cfg->dir, path);
}

void elm_cfg_resolve_pattern(const ElmConfig *cfg, const char *pattern, char *out, size_t cap) {
    if (!pattern[0] || pattern[0] == '/' || strcmp(cfg->dir, ".") == 0) {
        snprintf(out, cap, "%s", pattern);
        return;
    }
    char dir[4096];
    elm_glob_escape(cfg->dir, dir, sizeof dir);
    snprintf(out, cap, "%s/%s", dir, pattern);
}

int elm_cfg_path(const ElmConfig *cfg, const char *name, char *out, size_t cap) {
    const char *s = elm_cfg_str(cfg, name);
    elm_cfg_resolve(cfg, s, out, cap);
    return s[0] ? 0 : -1;
}

const char *elm_cfg_where_item(const ElmConfig *cfg, const char *name, int i, char *buf,
                               size_t cap) {
    const ElmCfgValue *v = elm_cfg_get(cfg, name);
    if (v->spec->type != ELM_CFG_LIST || i < 0 || i >= v->n_items || v->item_lines[i] <= 0)
        return elm_cfg_where(cfg, name, buf, cap);
    snprintf(buf, cap, "%s:%d", cfg->path, v->item_lines[i]);
    return buf;
}

const char *elm_cfg_where(const ElmConfig *cfg, const char *name, char *buf, size_t cap) {
    const ElmCfgValue *v = elm_cfg_get(cfg, name);
    const char *o = origin(cfg, v, buf, cap);
    if (o != buf) snprintf(buf, cap, "%s (%s)", o, name);
    return buf;
}
