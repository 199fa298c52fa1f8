// ingest.c — the ingest driver: resolves [data] source entries to files, reads each with the
// reader for its format, filters and de-duplicates posts, writes corpus.jsonl and ingest.json.
#include "engine/data/ingest.h"
#include "engine/base/hash.h"
#include "engine/base/hashset.h"

#include "engine/base/fsutil.h"
#include "engine/data/ingest_internal.h"
#include "engine/base/json_write.h"
#include "engine/base/progress.h"
#include "engine/base/utf8.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <glob.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Why a post was not kept; the order is the order the checks run in.
enum {
    DROP_INVALID_UTF8,
    DROP_EMPTY,
    DROP_RETWEET,
    DROP_REPLY,
    DROP_LANGUAGE,
    DROP_DUPLICATE_ID,
    DROP_DUPLICATE_TEXT,
    DROP_COUNT,
};
static const char *drop_names[DROP_COUNT] = {
    "invalid_utf8", "empty", "retweet", "reply", "language", "duplicate_id", "duplicate_text"};

typedef struct Counts {
    uint64_t read, kept, dropped[DROP_COUNT], utf8_replaced;
} Counts;

typedef struct Account {
    char *name;
    size_t len;
    uint64_t hash;
    Counts c;
} Account;

struct ElmIngestSink {
    // settings
    int drop_retweets, drop_replies, dedupe_ids, dedupe_text, utf8_mode; // 0 replace 1 drop 2 error
    char **langs;
    int n_langs;
    // the file being read
    const char *path;
    const char *account; // forced account, or NULL for auto
    const char *stem;    // fallback account and id prefix
    uint64_t file_read;
    // state
    FILE *out;
    Account *acc;
    int n_acc, cap_acc, last_acc;
    int *acc_slot; // open addressing over acc by name hash: index + 1, 0 = empty
    size_t acc_slot_cap;
    ElmHashSet ids, texts;
    char *buf; // scratch for repaired text
    size_t buf_cap;
    ElmProgress progress;
    uint64_t seen;
};

// Frees what reading built up (accounts and their index, the de-duplication sets, scratch);
// the settings (langs) belong to the caller.
static void sink_free_state(ElmIngestSink *k) {
    for (int i = 0; i < k->n_acc; i++) free(k->acc[i].name);
    free(k->acc);
    free(k->acc_slot);
    elm_hashset_free(&k->ids);
    elm_hashset_free(&k->texts);
    free(k->buf);
}

const char *elm_ingest_format_name(ElmIngestFormat f) {
    switch (f) {
    case ELM_FMT_CSV:
        return "csv";
    case ELM_FMT_TWEETS_JS:
        return "tweets.js";
    case ELM_FMT_JSON_ARRAY:
        return "json";
    case ELM_FMT_JSONL:
        return "jsonl";
    case ELM_FMT_TEXT:
        return "text";
    }
    return "?";
}

// ---- the sink -------------------------------------------------------------------------------

// The account called name[0..len), added when new. A hash index over the names keeps this
// O(1): a linear search per post was quadratic in the number of accounts (an archive of many
// users, such as a keyword scrape, has one per few posts).
static Account *account_get(ElmIngestSink *k, const char *name, size_t len) {
    if (k->last_acc >= 0) {
        Account *a = &k->acc[k->last_acc];
        if (a->len == len && memcmp(a->name, name, len) == 0) return a;
    }
    uint64_t h = elm_hash_fnv1a(ELM_HASH_FNV_OFFSET ^ 0xacc, name, len);
    size_t mask = k->acc_slot_cap - 1, j = h & mask;
    for (; k->acc_slot_cap && k->acc_slot[j]; j = (j + 1) & mask) {
        Account *a = &k->acc[k->acc_slot[j] - 1];
        if (a->hash == h && a->len == len && memcmp(a->name, name, len) == 0)
            return &k->acc[k->last_acc = k->acc_slot[j] - 1];
    }
    if (k->n_acc == k->cap_acc) {
        if (k->cap_acc > INT_MAX / 2 - 1) return NULL;
        int cap = k->cap_acc ? k->cap_acc * 2 : 8;
        Account *na = realloc(k->acc, (size_t)cap * sizeof *na);
        if (!na) return NULL;
        k->acc = na, k->cap_acc = cap;
    }
    if ((size_t)(k->n_acc + 1) * 2 > k->acc_slot_cap) { // grow to at most half full, rehash
        size_t cap = k->acc_slot_cap ? k->acc_slot_cap * 2 : 64;
        int *slot = calloc(cap, sizeof *slot);
        if (!slot) return NULL;
        for (int i = 0; i < k->n_acc; i++) {
            size_t s = k->acc[i].hash & (cap - 1);
            while (slot[s]) s = (s + 1) & (cap - 1);
            slot[s] = i + 1;
        }
        free(k->acc_slot);
        k->acc_slot = slot, k->acc_slot_cap = cap;
        j = h & (cap - 1);
        while (slot[j]) j = (j + 1) & (cap - 1);
    }
    Account *a = &k->acc[k->n_acc];
    memset(a, 0, sizeof *a);
    a->name = malloc(len + 1);
    if (!a->name) return NULL;
    memcpy(a->name, name, len);
    a->name[len] = '\0';
    a->len = len, a->hash = h;
    k->acc_slot[j] = k->n_acc + 1;
    k->last_acc = k->n_acc++;
    return a;
}

static int starts_with_mention(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    if (i < n && s[i] == '@')
        i++;
    else if (i + 2 < n && (unsigned char)s[i] == 0xEF && (unsigned char)s[i + 1] == 0xBC &&
             (unsigned char)s[i + 2] == 0xA0)
        i += 3; // U+FF20 FULLWIDTH COMMERCIAL AT
    else
        return 0;
    return i < n && (isalnum((unsigned char)s[i]) || s[i] == '_');
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i])) return 0;
    return 1;
}

static int lang_wanted(const ElmIngestSink *k, const char *lang, size_t n) {
    if (k->n_langs == 0 || !lang || n == 0) return 1; // unknown language: kept
    for (int i = 0; i < k->n_langs; i++)
        if (strlen(k->langs[i]) == n && strncasecmp(k->langs[i], lang, n) == 0) return 1;
    return 0;
}

// Writes a metadata string, replacing invalid UTF-8 silently (only the text is policed).
static void write_meta(ElmIngestSink *k, const char *key, const char *s, size_t n, int first) {
    if (!s) s = "", n = 0;
    if (elm_utf8_check(s, n) == n) {
        elm_json_write_field(k->out, key, s, n, first);
        return;
    }
    char small[1024];
    char *b = 3 * n <= sizeof small ? small : malloc(3 * n);
    if (!b) return;
    size_t m = elm_utf8_repair(s, n, b, NULL);
    elm_json_write_field(k->out, key, b, m, first);
    if (b != small) free(b);
}

int elm_ingest_emit(ElmIngestSink *k, const ElmRawPost *p, ElmError *err) {
    const char *acc = k->account;
    size_t acc_len = acc ? strlen(acc) : 0;
    if (!acc) {
        acc = p->account, acc_len = p->account_len;
        while (acc && acc_len && acc[0] == '@') acc++, acc_len--;
        if (!acc || acc_len == 0) acc = k->stem, acc_len = strlen(k->stem);
    }
    Account *a = account_get(k, acc, acc_len);
    if (!a) return elm_err(err, "%s: out of memory", k->path);
    a->c.read++;
    k->file_read++;
    if (++k->seen % 1024 == 0) elm_progress_update(&k->progress, k->seen);

    const char *text = p->text ? p->text : "";
    size_t n = p->text ? p->text_len : 0;
    size_t bad_at = elm_utf8_check(text, n);
    if (bad_at < n) {
        if (k->utf8_mode == 2)
            return elm_err(err, "%s:%d: invalid UTF-8 in the post text (byte %zu of the post)",
                           k->path, p->line, bad_at + 1);
        if (k->utf8_mode == 1) {
            a->c.dropped[DROP_INVALID_UTF8]++;
            return 0;
        }
        if (3 * n + 1 > k->buf_cap) {
            char *nb = realloc(k->buf, 3 * n + 1);
            if (!nb) return elm_err(err, "%s: out of memory", k->path);
            k->buf = nb, k->buf_cap = 3 * n + 1;
        }
        n = elm_utf8_repair(text, n, k->buf, NULL);
        text = k->buf;
        a->c.utf8_replaced++;
    }
    if (is_blank(text, n)) {
        a->c.dropped[DROP_EMPTY]++;
        return 0;
    }
    int retweet = p->is_retweet == 1 || (n >= 4 && memcmp(text, "RT @", 4) == 0);
    int reply = p->is_reply == 1 || starts_with_mention(text, n);
    if (retweet && k->drop_retweets) {
        a->c.dropped[DROP_RETWEET]++;
        return 0;
    }
    if (reply && k->drop_replies) {
        a->c.dropped[DROP_REPLY]++;
        return 0;
    }
    if (!lang_wanted(k, p->lang, p->lang_len)) {
        a->c.dropped[DROP_LANGUAGE]++;
        return 0;
    }
    char idbuf[600];
    const char *id = p->id;
    size_t id_len = p->id_len;
    if (!id || id_len == 0) {
        id_len = (size_t)snprintf(idbuf, sizeof idbuf, "%s:%d", k->stem, p->line);
        if (id_len >= sizeof idbuf) id_len = sizeof idbuf - 1;
        id = idbuf;
    }
    if (k->dedupe_ids && id != idbuf) { // made-up ids ("stem:line") are not de-duplicated
        int r = elm_hashset_insert(&k->ids, elm_hash_fnv1a(ELM_HASH_FNV_OFFSET ^ 0x1d, id, id_len));
        if (r < 0) return elm_err(err, "%s: out of memory", k->path);
        if (r == 0) {
            a->c.dropped[DROP_DUPLICATE_ID]++;
            return 0;
        }
    }
    if (k->dedupe_text) {
        uint64_t ha = elm_hash_fnv1a(ELM_HASH_FNV_OFFSET ^ 0x7e, acc, acc_len);
        uint64_t h = elm_hash_fnv1a(ELM_HASH_FNV_OFFSET ^ ha, text, n);
        int r = elm_hashset_insert(&k->texts, h);
        if (r < 0) return elm_err(err, "%s: out of memory", k->path);
        if (r == 0) {
            a->c.dropped[DROP_DUPLICATE_TEXT]++;
            return 0;
        }
    }
    a->c.kept++;
    FILE *f = k->out;
    putc('{', f);
    write_meta(k, "id", id, id_len, 1);
    write_meta(k, "account", acc, acc_len, 0);
    write_meta(k, "created_at", p->created_at, p->created_len, 0);
    elm_json_write_field(f, "text", text, n, 0);
    fprintf(f, ",\"is_retweet\":%s,\"is_reply\":%s", retweet ? "true" : "false",
            reply ? "true" : "false");
    write_meta(k, "lang", p->lang, p->lang_len, 0);
    write_meta(k, "source", k->path, strlen(k->path), 0);
    fputs("}\n", f);
    return 0;
}

// ---- format detection -----------------------------------------------------------------------

static int is_text_column(const char *name, size_t n) {
    static const char *names[] = {"tweet", "text", "full_text", "content", "rawcontent", NULL};
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == n && strncasecmp(names[i], name, n) == 0) return 1;
    return 0;
}

// Does this first line look like a CSV header with a text column, split by `delim`?
static int csv_header(const char *line, size_t n, char delim) {
    if (!memchr(line, delim, n)) return 0;
    size_t a = 0;
    while (a <= n) {
        size_t b = a;
        while (b < n && line[b] != delim) b++;
        size_t s = a, e = b;
        while (s < e && (line[s] == '"' || line[s] == ' ')) s++;
        while (e > s && (line[e - 1] == '"' || line[e - 1] == ' ' || line[e - 1] == '\r')) e--;
        if (is_text_column(line + s, e - s)) return 1;
        a = b + 1;
    }
    return 0;
}

ElmIngestFormat elm_ingest_detect(const char *d, size_t n) {
    size_t i = 0;
    if (n >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0) i = 3;
    while (i < n && isspace((unsigned char)d[i])) i++;
    if (i < n && d[i] == '[') return ELM_FMT_JSON_ARRAY;
    if (i < n && d[i] == '{') return ELM_FMT_JSONL;
    // a JavaScript assignment of an array: window.YTD.tweets.part0 = [ ...
    size_t j = i;
    while (j < n && (isalnum((unsigned char)d[j]) || d[j] == '_' || d[j] == '.' || d[j] == '$'))
        j++;
    if (j > i) {
        size_t k = j;
        while (k < n && (d[k] == ' ' || d[k] == '\t')) k++;
        if (k < n && d[k] == '=') {
            k++;
            while (k < n && isspace((unsigned char)d[k])) k++;
            if (k < n && d[k] == '[') return ELM_FMT_TWEETS_JS;
        }
    }
    const char *nl = memchr(d + i, '\n', n - i);
    size_t len = nl ? (size_t)(nl - (d + i)) : n - i;
    if (csv_header(d + i, len, '\t') || csv_header(d + i, len, ',')) return ELM_FMT_CSV;
    return ELM_FMT_TEXT;
}

// ---- sources --------------------------------------------------------------------------------

typedef struct Source {
    char *account; // NULL = auto
    char *spec;
    glob_t g;
    int fetched; // <run>/fetch/*/*.jsonl (`elm fetch`): an account with no posts is no error
} Source;

static char *trimmed_copy(const char *s, size_t n) {
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    char *c = malloc(n + 1);
    if (c) memcpy(c, s, n), c[n] = '\0';
    return c;
}

// "ACCOUNT_OR_AUTO : PATH_OR_GLOB" (or just a path: account auto) into src.
static int source_parse(const ElmConfig *cfg, int index, Source *src, ElmError *err) {
    char **items;
    elm_cfg_list(cfg, "data.source", &items);
    const char *item = items[index];
    char where[512];
    elm_cfg_where_item(cfg, "data.source", index, where, sizeof where);
    memset(src, 0, sizeof *src);
    src->spec = trimmed_copy(item, strlen(item));
    const char *colon = strchr(item, ':');
    char *pattern = trimmed_copy(colon ? colon + 1 : item, strlen(colon ? colon + 1 : item));
    if (colon) {
        src->account = trimmed_copy(item, (size_t)(colon - item));
        if (src->account && (!src->account[0] || strcasecmp(src->account, "auto") == 0)) {
            free(src->account);
            src->account = NULL;
        }
    }
    if (!pattern || !src->spec) {
        free(pattern);
        return elm_err(err, "out of memory");
    }
    if (!pattern[0]) {
        free(pattern);
        return elm_err(err, "%s: source '%s' names no file (expected ACCOUNT_OR_AUTO : PATH)",
                       where, src->spec);
    }
    char path[4096];
    elm_cfg_resolve_pattern(cfg, pattern, path, sizeof path);
    free(pattern);
    int rc = glob(path, GLOB_ERR, NULL, &src->g);
    if (rc == GLOB_NOMATCH || (rc == 0 && src->g.gl_pathc == 0)) {
        if (rc == 0) globfree(&src->g);
        memset(&src->g, 0, sizeof src->g);
        return elm_err(err, "%s: source '%s': %s: no such file", where, src->spec, path);
    }
    if (rc != 0) {
        memset(&src->g, 0, sizeof src->g);
        return elm_err(err, "%s: source '%s': cannot list %s", where, src->spec, path);
    }
    return 0;
}

static void source_free(Source *s) {
    free(s->account);
    free(s->spec);
    if (s->g.gl_pathv) globfree(&s->g);
}

// File name without folder and without .gz and one more extension.
static void file_stem(const char *path, char *out, size_t cap) {
    const char *base = strrchr(path, '/');
    snprintf(out, cap, "%s", base ? base + 1 : path);
    size_t n = strlen(out);
    if (n > 3 && strcmp(out + n - 3, ".gz") == 0) out[n -= 3] = '\0';
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = '\0';
}

// For an X archive's data/tweets.js, the user name in data/account.js beside it.
static void archive_account(const char *path, char *out, size_t cap) {
    char dir[4096], acc[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    snprintf(acc, sizeof acc, "%s/account.js", dir);
    if (!elm_file_exists(acc)) return;
    char *data;
    size_t n;
    ElmError e;
    if (elm_read_file(acc, &data, &n, &e)) return;
    const char *bracket = strchr(data, '[');
    cJSON *doc = bracket ? cJSON_Parse(bracket) : NULL;
    const cJSON *a = cJSON_GetObjectItem(cJSON_GetArrayItem(doc, 0), "account");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(a, "username"));
    if (name && name[0]) snprintf(out, cap, "%s", name);
    cJSON_Delete(doc);
    free(data);
}

// ---- the report -----------------------------------------------------------------------------

static cJSON *counts_json(const Counts *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "read", (double)c->read);
    cJSON_AddNumberToObject(o, "kept", (double)c->kept);
    cJSON *d = cJSON_AddObjectToObject(o, "dropped");
    for (int i = 0; i < DROP_COUNT; i++)
        cJSON_AddNumberToObject(d, drop_names[i], (double)c->dropped[i]);
    cJSON_AddNumberToObject(o, "utf8_replaced", (double)c->utf8_replaced);
    return o;
}

// ---- the stage ------------------------------------------------------------------------------

static char **split_languages(const char *s, int *n) {
    *n = 0;
    if (!s || !*s) return NULL;
    int cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    char **out = calloc((size_t)cap, sizeof *out);
    if (!out) return NULL;
    const char *a = s;
    for (;;) {
        const char *b = strchr(a, ',');
        size_t len = b ? (size_t)(b - a) : strlen(a);
        char *t = trimmed_copy(a, len);
        if (t && t[0])
            out[(*n)++] = t;
        else
            free(t);
        if (!b) break;
        a = b + 1;
    }
    return out;
}

// The sink's filters from [data]; everything else starts empty.
static void sink_from_config(const ElmConfig *cfg, ElmIngestSink *k) {
    memset(k, 0, sizeof *k);
    k->last_acc = -1;
    k->drop_retweets = elm_cfg_bool(cfg, "data.drop_retweets");
    k->drop_replies = elm_cfg_bool(cfg, "data.drop_replies");
    k->dedupe_ids = elm_cfg_bool(cfg, "data.dedupe_ids");
    k->dedupe_text = elm_cfg_bool(cfg, "data.dedupe_text");
    k->utf8_mode = elm_cfg_enum(cfg, "data.invalid_utf8");
    k->langs = split_languages(elm_cfg_str(cfg, "data.languages"), &k->n_langs);
}

// Reads one file of source s with the reader for its format into the sink, and adds the file
// to the report's sources.
static int ingest_file(const Source *s, const char *path, ElmIngestSink *k, cJSON *jsources,
                       ElmError *err) {
    char stem[512], account[512] = "";
    file_stem(path, stem, sizeof stem);
    char *data;
    size_t n;
    if (elm_read_file(path, &data, &n, err)) return -1;
    if (is_blank(data, n)) {
        free(data);
        return s->fetched ? 0 : elm_err(err, "%s:1: empty file (no posts)", path);
    }
    ElmIngestFormat fmt = elm_ingest_detect(data, n);
    if (fmt == ELM_FMT_TWEETS_JS && !s->account) {
        archive_account(path, account, sizeof account);
        if (account[0]) snprintf(stem, sizeof stem, "%s", account);
    }
    k->path = path;
    k->account = s->account;
    k->stem = stem;
    k->file_read = 0;
    int rc;
    if (fmt == ELM_FMT_CSV)
        rc = elm_ingest_read_csv(path, data, n, k, err);
    else if (fmt == ELM_FMT_TEXT)
        rc = elm_ingest_read_text(path, data, n, k, err);
    else
        rc = elm_ingest_read_json(path, data, n, fmt, k, err);
    free(data);
    if (rc) return rc;
    cJSON *js = cJSON_CreateObject();
    cJSON_AddStringToObject(js, "path", path);
    cJSON_AddStringToObject(js, "account", s->account ? s->account : "auto");
    cJSON_AddStringToObject(js, "format", elm_ingest_format_name(fmt));
    cJSON_AddNumberToObject(js, "read", (double)k->file_read);
    cJSON_AddItemToArray(jsources, js);
    return 0;
}

static Counts ingest_totals(const ElmIngestSink *k) {
    Counts total;
    memset(&total, 0, sizeof total);
    for (int i = 0; i < k->n_acc; i++) {
        total.read += k->acc[i].c.read;
        total.kept += k->acc[i].c.kept;
        total.utf8_replaced += k->acc[i].c.utf8_replaced;
        for (int d = 0; d < DROP_COUNT; d++) total.dropped[d] += k->acc[i].c.dropped[d];
    }
    return total;
}

// ingest.json's text: the sources read so far in report, then per-account and total counts;
// NULL when out of memory.
static char *ingest_report(cJSON *report, const ElmIngestSink *k, const Counts *total) {
    cJSON *jacc = cJSON_AddObjectToObject(report, "accounts");
    for (int i = 0; i < k->n_acc; i++)
        cJSON_AddItemToObject(jacc, k->acc[i].name, counts_json(&k->acc[i].c));
    cJSON_AddItemToObject(report, "total", counts_json(total));
    return cJSON_Print(report);
}

// The posts `elm fetch` wrote, <run>/fetch/*/*.jsonl, as one more source (account auto: each
// line names its account). 0 when there are none (src->g left empty).
static int fetched_source(const ElmRun *run, Source *src, ElmError *err) {
    memset(src, 0, sizeof *src);
    char dir[8200], pattern[8300];
    elm_glob_escape(run->dir, dir, sizeof dir); // the folder is literal
    snprintf(pattern, sizeof pattern, "%s/fetch/*/*.jsonl", dir);
    int rc = glob(pattern, 0, NULL, &src->g);
    if (rc == GLOB_NOMATCH) {
        memset(&src->g, 0, sizeof src->g);
        return 0;
    }
    if (rc != 0) return elm_err(err, "%s: cannot list", pattern);
    src->spec = trimmed_copy("fetch", 5);
    src->fetched = 1;
    return src->spec ? 0 : elm_err(err, "out of memory");
}

int elm_ingest_run(ElmRun *run, ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    char **items;
    int n_cfg = elm_cfg_list(cfg, "data.source", &items), n_items = n_cfg;
    Source *src = elm_calloc((size_t)n_cfg + 1, sizeof *src, err);
    if (!src) return -1;
    int rc = 0;
    for (int i = 0; i < n_items && rc == 0; i++) rc = source_parse(cfg, i, &src[i], err);
    if (rc == 0) rc = fetched_source(run, &src[n_cfg], err);
    if (src[n_cfg].g.gl_pathc > 0) n_items++;
    if (rc == 0 && n_items == 0)
        rc = elm_err(err,
                     "%s: [data] lists no source (add e.g. `source = auto : tweets.csv`) and "
                     "<run>/fetch/ holds no fetched posts ([fetch] source, `elm fetch`)",
                     cfg->path[0] ? cfg->path : "config");
    ElmIngestSink k;
    sink_from_config(cfg, &k);

    char corpus_path[4096], report_path[4096];
    elm_run_path(run, "corpus.jsonl", corpus_path, sizeof corpus_path);
    elm_run_path(run, "ingest.json", report_path, sizeof report_path);
    ElmAtomicFile af;
    int opened = 0;
    if (rc == 0) rc = elm_run_mkdir(run, err);
    if (rc == 0) rc = elm_atomic_open(&af, corpus_path, err);
    if (rc == 0) opened = 1;
    k.out = opened ? af.f : NULL;
    cJSON *report = cJSON_CreateObject();
    cJSON *jsources = cJSON_AddArrayToObject(report, "sources");
    // Every file of every source into corpus.jsonl.
    if (rc == 0) elm_progress_start(&k.progress, "ingest", "posts", 0, run->quiet);
    for (int i = 0; i < n_items && rc == 0; i++)
        for (size_t f = 0; f < src[i].g.gl_pathc && rc == 0; f++)
            rc = ingest_file(&src[i], src[i].g.gl_pathv[f], &k, jsources, err);
    Counts total = ingest_totals(&k);
    if (rc == 0) {
        elm_progress_update(&k.progress, k.seen);
        elm_progress_finish(&k.progress);
        if (total.kept == 0)
            rc = elm_err(err, "no post kept: %llu read, all dropped by the [data] filters",
                         (unsigned long long)total.read);
    }
    // The counts to JSON, then both files.
    char *text = NULL;
    if (rc == 0 && !(text = ingest_report(report, &k, &total))) rc = elm_err(err, "out of memory");
    if (rc == 0) {
        rc = elm_atomic_commit(&af, err);
        opened = 0;
    }
    if (rc == 0) {
        size_t len = strlen(text);
        text[len] = '\n'; // cJSON's buffer has room for the NUL we overwrite; write len+1
        rc = elm_write_file_atomic(report_path, text, len + 1, err);
        text[len] = '\0';
    }
    if (opened) elm_atomic_abort(&af);
    cJSON_free(text);
    cJSON_Delete(report);
    for (int i = 0; i <= n_cfg; i++) source_free(&src[i]);
    free(src);
    sink_free_state(&k);
    for (int i = 0; i < k.n_langs; i++) free(k.langs[i]);
    free(k.langs);
    return rc;
}
