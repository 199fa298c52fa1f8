// clean_run.c — `elm clean` over a run: reads <run>/corpus.jsonl, cleans each post's text,
// writes <run>/clean.jsonl ({"id","account","created_at","text"} per line) and <run>/clean.json
// (per-account counts kept and dropped by reason, entities found), both atomically.
#include "engine/data/clean.h"
#include "engine/base/fsutil.h"
#include "engine/base/json_line.h"
#include "engine/base/json_write.h"
#include "engine/base/progress.h"
#include "engine/base/utf8.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CD_INVALID_UTF8, CD_EMPTY, CD_TOO_SHORT, CD_TOO_LONG, CD_COUNT };
static const char *cd_names[CD_COUNT] = {"invalid_utf8", "empty", "too_short", "too_long"};

typedef struct CleanCounts {
    unsigned long long read, kept, dropped[CD_COUNT], utf8_replaced;
} CleanCounts;

typedef struct CleanAccount {
    char *name;
    CleanCounts c;
} CleanAccount;

typedef struct Accounts {
    CleanAccount *a;
    int n, cap, last;
} Accounts;

static CleanAccount *account_of(Accounts *as, const char *name) {
    if (as->last >= 0 && as->last < as->n && strcmp(as->a[as->last].name, name) == 0)
        return &as->a[as->last];
    for (int i = 0; i < as->n; i++)
        if (strcmp(as->a[i].name, name) == 0) return &as->a[as->last = i];
    if (as->n == as->cap) {
        int cap = as->cap ? as->cap * 2 : 8;
        CleanAccount *na = realloc(as->a, (size_t)cap * sizeof *na);
        if (!na) return NULL;
        as->a = na, as->cap = cap;
    }
    CleanAccount *a = &as->a[as->n];
    memset(a, 0, sizeof *a);
    a->name = strdup(name);
    if (!a->name) return NULL;
    as->last = as->n++;
    return a;
}

static cJSON *counts_json(const CleanCounts *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "read", (double)c->read);
    cJSON_AddNumberToObject(o, "kept", (double)c->kept);
    cJSON *d = cJSON_AddObjectToObject(o, "dropped");
    for (int i = 0; i < CD_COUNT; i++)
        cJSON_AddNumberToObject(d, cd_names[i], (double)c->dropped[i]);
    cJSON_AddNumberToObject(o, "utf8_replaced", (double)c->utf8_replaced);
    return o;
}

// The state of one pass over corpus.jsonl.
typedef struct CleanPass {
    const char *in_path;
    ElmCleanOptions opt;
    int utf8_mode; // data.invalid_utf8: 0 replace, 1 drop, 2 error
    ElmCleaner *cl;
    FILE *out;
    ElmJsonLine jl;
    Accounts as;
    unsigned long long found[ELM_ENT_COUNT];
    char *fix; // the repaired text of a post with invalid UTF-8
    size_t fix_cap;
    ElmProgress prog;
    unsigned long long posts;
} CleanPass;

// Applies data.invalid_utf8 to a post's text: 0 = *text and *tn are usable (repaired into
// p->fix when they were not valid UTF-8), 1 = the post is dropped, -1 = an error.
static int clean_utf8(CleanPass *p, CleanAccount *ca, int line, const char **text, size_t *tn,
                      ElmError *err) {
    size_t bad = elm_utf8_check(*text, *tn);
    if (bad >= *tn) return 0;
    if (p->utf8_mode == 2)
        return elm_err(err, "%s:%d: invalid UTF-8 in the post text (byte %zu)", p->in_path, line,
                       bad + 1);
    if (p->utf8_mode == 1) {
        ca->c.dropped[CD_INVALID_UTF8]++;
        return 1;
    }
    if (3 * *tn + 1 > p->fix_cap) {
        char *nf = elm_realloc(p->fix, 3 * *tn + 1, err);
        if (!nf) return -1;
        p->fix = nf, p->fix_cap = 3 * *tn + 1;
    }
    *tn = elm_utf8_repair(*text, *tn, p->fix, NULL);
    *text = p->fix;
    ca->c.utf8_replaced++;
    return 0;
}

// Cleans one line of corpus.jsonl and writes the post to clean.jsonl unless a rule drops it.
static int clean_line(CleanPass *p, const char *a, size_t len, int line, ElmError *err) {
    static const char *const keys[4] = {"id", "account", "created_at", "text"};
    const char *v[4];
    size_t vl[4];
    if (elm_json_line_fields(&p->jl, a, len, keys, 4, v, vl))
        return elm_err(err, "%s:%d: malformed JSON (%s)", p->in_path, line, p->jl.error);
    const char *id = v[0], *acc = v[1], *when = v[2], *text = v[3];
    if (!text || !acc)
        return elm_err(err, "%s:%d: the post has no \"text\" or \"account\" string", p->in_path,
                       line);
    CleanAccount *ca = account_of(&p->as, acc);
    if (!ca) return elm_err(err, "out of memory");
    ca->c.read++;
    if (++p->posts % 4096 == 0) elm_progress_update(&p->prog, p->posts);
    size_t tn = vl[3];
    int u = clean_utf8(p, ca, line, &text, &tn, err);
    if (u) return u < 0 ? -1 : 0;
    size_t cn;
    const char *clean = elm_clean_text(p->cl, text, tn, &cn, p->found);
    const ElmCleanOptions *opt = &p->opt;
    // a code point is 1-4 bytes: count them only when the byte length leaves it open
    long long chars = (long long)cn <= opt->max_chars && (long long)(cn + 3) / 4 >= opt->min_chars
                          ? opt->min_chars
                          : (long long)elm_utf8_length(clean, cn);
    int drop = cn == 0                  ? CD_EMPTY
               : chars < opt->min_chars ? CD_TOO_SHORT
               : chars > opt->max_chars ? CD_TOO_LONG
                                        : -1;
    if (drop >= 0) {
        ca->c.dropped[drop]++;
        return 0;
    }
    ca->c.kept++;
    FILE *f = p->out;
    putc('{', f);
    elm_json_write_field(f, "id", id ? id : "", vl[0], 1);
    elm_json_write_field(f, "account", acc, vl[1], 0);
    elm_json_write_field(f, "created_at", when ? when : "", vl[2], 0);
    elm_json_write_field(f, "text", clean, cn, 0);
    fputs("}\n", f);
    return 0;
}

// Streams corpus.jsonl through clean_line; one line buffer is reused for every post.
static int clean_posts(CleanPass *p, FILE *in, ElmError *err) {
    char *buf = NULL;
    size_t buf_cap = 0;
    int rc = 0, line = 0;
    ssize_t got;
    while (rc == 0 && (got = getline(&buf, &buf_cap, in)) >= 0) {
        line++;
        size_t len = (size_t)got;
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ')) len--;
        if (len == 0) continue;
        rc = clean_line(p, buf, len, line, err);
    }
    free(buf);
    return rc;
}

static CleanCounts clean_totals(const Accounts *as) {
    CleanCounts total;
    memset(&total, 0, sizeof total);
    for (int i = 0; i < as->n; i++) {
        total.read += as->a[i].c.read;
        total.kept += as->a[i].c.kept;
        total.utf8_replaced += as->a[i].c.utf8_replaced;
        for (int d = 0; d < CD_COUNT; d++) total.dropped[d] += as->a[i].c.dropped[d];
    }
    return total;
}

// clean.json's text: per-account and total counts, and each entity's action and count; NULL
// when out of memory.
static char *clean_report(const CleanPass *p, const CleanCounts *total) {
    cJSON *report = cJSON_CreateObject();
    cJSON *jacc = cJSON_AddObjectToObject(report, "accounts");
    for (int i = 0; i < p->as.n; i++)
        cJSON_AddItemToObject(jacc, p->as.a[i].name, counts_json(&p->as.a[i].c));
    cJSON_AddItemToObject(report, "total", counts_json(total));
    cJSON *ent = cJSON_AddObjectToObject(report, "entities");
    for (int t = 0; t < ELM_ENT_COUNT; t++) {
        cJSON *et = cJSON_AddObjectToObject(ent, elm_extract_entity_name(t));
        cJSON_AddStringToObject(et, "action",
                                p->opt.action[t] == ELM_CLEAN_REMOVE ? "remove"
                                : p->opt.action[t] == ELM_CLEAN_WORD ? "word"
                                                                     : "keep");
        cJSON_AddNumberToObject(et, "found", (double)p->found[t]);
    }
    char *text = cJSON_Print(report);
    cJSON_Delete(report);
    return text;
}

int elm_clean_run(ElmRun *run, ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    char in_path[4096], out_path[4096], report_path[4096];
    elm_run_path(run, "corpus.jsonl", in_path, sizeof in_path);
    elm_run_path(run, "clean.jsonl", out_path, sizeof out_path);
    elm_run_path(run, "clean.json", report_path, sizeof report_path);
    if (!elm_file_exists(in_path))
        return elm_err(err, "%s: no such file (run `elm ingest` first)", in_path);
    CleanPass p = {.in_path = in_path, .jl = {NULL, 0, NULL}, .as = {NULL, 0, 0, -1}};
    elm_clean_options_from_config(cfg, &p.opt);
    p.utf8_mode = elm_cfg_enum(cfg, "data.invalid_utf8");
    FILE *in = fopen(in_path, "rb");
    if (!in) return elm_err(err, "%s: cannot open: %s", in_path, strerror(errno));
    p.cl = elm_cleaner_new(&p.opt, err);
    if (!p.cl) {
        fclose(in);
        return -1;
    }
    ElmAtomicFile af;
    if (elm_atomic_open(&af, out_path, err)) {
        elm_cleaner_free(p.cl);
        fclose(in);
        return -1;
    }
    p.out = af.f;
    // big stdio buffers: the posts stream through
    char *inbuf = malloc(1 << 20), *outbuf = malloc(1 << 20);
    if (inbuf) setvbuf(in, inbuf, _IOFBF, 1 << 20);
    if (outbuf) setvbuf(af.f, outbuf, _IOFBF, 1 << 20);
    elm_progress_start(&p.prog, "clean", "posts", 0, run->quiet);
    // Clean every post into clean.jsonl.
    int rc = clean_posts(&p, in, err);
    if (rc == 0 && ferror(in)) rc = elm_err(err, "%s: read error", in_path);
    fclose(in);
    free(inbuf);
    elm_json_line_free(&p.jl);
    free(p.fix);
    elm_cleaner_free(p.cl);
    CleanCounts total = clean_totals(&p.as);
    if (rc == 0) {
        elm_progress_update(&p.prog, p.posts);
        elm_progress_finish(&p.prog);
        if (total.kept == 0)
            rc = elm_err(err, "%s: no post left after cleaning (%llu read)", in_path, total.read);
    }
    // The counts to JSON, then both files.
    char *text = NULL;
    if (rc == 0 && !(text = clean_report(&p, &total))) rc = elm_err(err, "out of memory");
    if (rc == 0)
        rc = elm_atomic_commit(&af, err);
    else
        elm_atomic_abort(&af);
    free(outbuf);
    if (rc == 0) {
        size_t len = strlen(text);
        text[len] = '\n';
        rc = elm_write_file_atomic(report_path, text, len + 1, err);
    }
    cJSON_free(text);
    for (int i = 0; i < p.as.n; i++) free(p.as.a[i].name);
    free(p.as.a);
    return rc;
}
