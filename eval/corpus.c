// corpus.c — reading labelled texts from JSONL and CSV (libcsv, quoted fields, embedded newlines).
#include "eval/corpus.h"
#include "engine/base/fsutil.h"
#include "eval/gridsearch.h"

#include <cjson/cJSON.h>
#include <csv.h>
#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

void elm_corpus_init(ElmCorpus *c) {
    memset(c, 0, sizeof *c);
}

void elm_corpus_free(ElmCorpus *c) {
    for (int i = 0; i < c->n; i++) free(c->text[i]);
    free(c->text);
    free(c->label);
    free(c->line);
    memset(c, 0, sizeof *c);
}

int elm_corpus_add(ElmCorpus *c, const char *text, int label, int line, ElmError *err) {
    if (c->n == c->cap) {
        int nc = c->cap ? c->cap * 2 : 1024;
        char **t = realloc(c->text, (size_t)nc * sizeof *t);
        if (t) c->text = t;
        int *l = realloc(c->label, (size_t)nc * sizeof *l);
        if (l) c->label = l;
        int *ln = realloc(c->line, (size_t)nc * sizeof *ln);
        if (ln) c->line = ln;
        if (!t || !l || !ln) return elm_err(err, "out of memory reading texts");
        c->cap = nc;
    }
    char *copy = strdup(text);
    if (!copy) return elm_err(err, "out of memory reading texts");
    c->text[c->n] = copy;
    c->label[c->n] = label;
    c->line[c->n] = line;
    c->n++;
    return 0;
}

static int blank(const char *p) {
    while (*p && isspace((unsigned char)*p)) p++;
    return *p == 0;
}

int elm_corpus_load_jsonl(ElmCorpus *c, const char *path, const char *field, int label,
                          ElmError *err) {
    char *data;
    size_t n;
    if (elm_read_file(path, &data, &n, err)) return -1;
    int line = 0, rc = 0;
    for (char *p = data; p < data + n && rc == 0;) {
        char *nl = memchr(p, '\n', (size_t)(data + n - p));
        char *end = nl ? nl : data + n;
        *end = 0;
        line++;
        char *q = p;
        while (*q && isspace((unsigned char)*q)) q++;
        if (*q) {
            cJSON *o = cJSON_Parse(q);
            const cJSON *t = o ? cJSON_GetObjectItemCaseSensitive(o, field) : NULL;
            if (!o || !cJSON_IsObject(o))
                rc = elm_err(err, "%s:%d: not a JSON object", path, line);
            else if (!cJSON_IsString(t))
                rc = elm_err(err, "%s:%d: no string field \"%s\"", path, line, field);
            else if (blank(t->valuestring))
                rc = elm_err(err, "%s:%d: empty text in \"%s\"", path, line, field);
            else
                rc = elm_corpus_add(c, t->valuestring, label, line, err);
            cJSON_Delete(o);
        }
        p = end + 1;
    }
    free(data);
    return rc;
}

typedef struct CsvState {
    ElmCorpus *c;
    const char *path, *text_col, *label_col;
    int label, text_idx, label_idx, field, row, line, rc;
    char *text, *lab;
    ElmError *err;
} CsvState;

// Column name match; "auto" matches "text" or "tweet_clean".
static int col_is(const char *want, const char *f, size_t len) {
    if (!strcmp(want, "auto")) return col_is("text", f, len) || col_is("tweet_clean", f, len);
    return strlen(want) == len && !strncmp(f, want, len);
}

static void csv_field(void *s, size_t len, void *data) {
    CsvState *st = data;
    if (st->rc) return;
    const char *f = s ? s : "";
    if (st->row == 0) {
        if (st->text_idx < 0 && col_is(st->text_col, f, len)) st->text_idx = st->field;
        if (st->label_col && strlen(st->label_col) == len && !strncmp(f, st->label_col, len))
            st->label_idx = st->field;
    } else if (st->field == st->text_idx || st->field == st->label_idx) {
        char *copy = malloc(len + 1);
        if (!copy) {
            st->rc = elm_err(st->err, "out of memory reading %s", st->path);
            return;
        }
        memcpy(copy, f, len);
        copy[len] = 0;
        if (st->field == st->text_idx)
            free(st->text), st->text = copy;
        else
            free(st->lab), st->lab = copy;
    }
    st->field++;
}

static void csv_row(int ch, void *data) {
    (void)ch;
    CsvState *st = data;
    if (st->rc) return;
    if (st->row == 0) {
        if (st->text_idx < 0)
            st->rc =
                elm_err(st->err, "%s:1: no column \"%s\" in the header", st->path,
                        strcmp(st->text_col, "auto") ? st->text_col : "text\" or \"tweet_clean");
        else if (st->label_col && *st->label_col && st->label_idx < 0)
            st->rc =
                elm_err(st->err, "%s:1: no column \"%s\" in the header", st->path, st->label_col);
    } else {
        int label = st->label;
        if (!st->text) {
            st->rc = elm_err(st->err, "%s: record %d: missing column \"%s\"", st->path, st->row + 1,
                             st->text_col);
        } else if (st->label_idx >= 0) {
            char *end = NULL;
            long v = st->lab ? strtol(st->lab, &end, 10) : 0;
            if (!st->lab || end == st->lab || *end)
                st->rc = elm_err(st->err, "%s: record %d: label \"%s\" is not an integer", st->path,
                                 st->row + 1, st->lab ? st->lab : "");
            label = (int)v;
        }
        if (!st->rc && blank(st->text))
            st->rc = elm_err(st->err, "%s: record %d: empty text in column \"%s\"", st->path,
                             st->row + 1, st->text_col);
        if (!st->rc) st->rc = elm_corpus_add(st->c, st->text, label, st->row + 1, st->err);
    }
    free(st->text), free(st->lab);
    st->text = st->lab = NULL;
    st->field = 0;
    st->row++;
}

int elm_corpus_load_csv(ElmCorpus *c, const char *path, const char *text_col, const char *label_col,
                        int label, ElmError *err) {
    char *data;
    size_t n;
    if (elm_read_file(path, &data, &n, err)) return -1;
    struct csv_parser p;
    if (csv_init(&p, CSV_APPEND_NULL | CSV_STRICT | CSV_STRICT_FINI)) {
        free(data);
        return elm_err(err, "csv parser init failed");
    }
    CsvState st = {.c = c,
                   .path = path,
                   .text_col = text_col,
                   .label_col = label_col && *label_col ? label_col : NULL,
                   .label = label,
                   .text_idx = -1,
                   .label_idx = -1,
                   .err = err};
    size_t used = csv_parse(&p, data, n, csv_field, csv_row, &st);
    if (!st.rc && used != n)
        st.rc = elm_err(err, "%s: record %d: malformed CSV (%s)", path, st.row + 1,
                        csv_strerror(csv_error(&p)));
    if (!st.rc && csv_fini(&p, csv_field, csv_row, &st))
        st.rc = elm_err(err, "%s: record %d: malformed CSV at the end of the file (%s)", path,
                        st.row + 1, csv_strerror(csv_error(&p)));
    csv_free(&p);
    free(st.text), free(st.lab);
    free(data);
    if (!st.rc && st.row == 0) st.rc = elm_err(err, "%s: empty file (no header)", path);
    return st.rc;
}

int elm_corpus_load(ElmCorpus *c, const char *path, const char *text_col, const char *label_col,
                    int label, ElmError *err) {
    size_t n = strlen(path);
    int csv =
        (n >= 4 && !strcmp(path + n - 4, ".csv")) || (n >= 7 && !strcmp(path + n - 7, ".csv.gz"));
    if (csv) return elm_corpus_load_csv(c, path, text_col, label_col, label, err);
    return elm_corpus_load_jsonl(c, path, strcmp(text_col, "auto") ? text_col : "text", label, err);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int elm_corpus_jsonl_paths(const char *dir, char ***paths, int *n, ElmError *err) {
    *paths = NULL, *n = 0;
    DIR *d = opendir(dir);
    if (!d) return elm_err(err, "%s: cannot open folder", dir);
    char **names = elm_malloc(4096 * sizeof *names, err);
    int k = 0;
    struct dirent *e;
    while (names && (e = readdir(d)) && k < 4096) {
        size_t len = strlen(e->d_name);
        if (len > 6 && !strcmp(e->d_name + len - 6, ".jsonl")) names[k++] = strdup(e->d_name);
    }
    closedir(d);
    if (!names) return -1;
    qsort(names, (size_t)k, sizeof *names, cmp_str);
    int rc = 0;
    for (int i = 0; i < k; i++) {
        if (!names[i]) {
            rc = -1;
            continue;
        }
        char path[4096];
        elm_path_join(path, sizeof path, dir, names[i]);
        free(names[i]);
        if (!(names[i] = strdup(path))) rc = -1;
    }
    if (rc) {
        for (int i = 0; i < k; i++) free(names[i]);
        free(names);
        return elm_err(err, "%s: out of memory listing the folder", dir);
    }
    *paths = names, *n = k;
    return 0;
}

int elm_corpus_load_dir(ElmCorpus *c, const char *dir, const char *field, int label,
                        ElmError *err) {
    char **paths;
    int k;
    if (elm_corpus_jsonl_paths(dir, &paths, &k, err)) return -1;
    int rc = 0;
    if (k == 0) rc = elm_err(err, "%s: no *.jsonl files (run `elm generate` first)", dir);
    for (int i = 0; i < k; i++) {
        if (!rc) rc = elm_corpus_load_jsonl(c, paths[i], field, label, err);
        free(paths[i]);
    }
    free(paths);
    return rc;
}

void elm_corpus_generated_path(const ElmRun *run, const char *section, char *out, size_t cap) {
    char key[64];
    snprintf(key, sizeof key, "%s.generated", section);
    if (elm_cfg_str(&run->cfg, key)[0] == 0)
        elm_run_path(run, "generated/tweets.jsonl", out, cap);
    else
        elm_cfg_path(&run->cfg, key, out, cap);
}

int elm_corpus_load_config(ElmCorpus *c, const ElmRun *run, const char *section, int need_generated,
                           ElmError *err) {
    char key[128], data[4096], real[4096], gen[4096];
    const ElmConfig *cfg = &run->cfg;
    snprintf(key, sizeof key, "%s.text_column", section);
    const char *text_col = elm_cfg_str(cfg, key);
    snprintf(key, sizeof key, "%s.label_column", section);
    const char *label_col = elm_cfg_str(cfg, key);
    snprintf(key, sizeof key, "%s.data", section);
    elm_cfg_path(cfg, key, data, sizeof data);
    snprintf(key, sizeof key, "%s.real", section);
    elm_cfg_path(cfg, key, real, sizeof real);
    elm_corpus_generated_path(run, section, gen, sizeof gen);
    ElmCorpus all;
    elm_corpus_init(&all);
    int rc = 0;
    snprintf(key, sizeof key, "%s.data", section);
    if (elm_cfg_str(cfg, key)[0]) {
        rc = elm_corpus_load(&all, data, text_col, label_col, 1, err);
        for (int i = 0; rc == 0 && i < all.n; i++)
            if (all.label[i] != 0 && all.label[i] != 1)
                rc = elm_err(err, "%s: record %d: label %d is not 0 (generated) or 1 (real)", data,
                             all.line[i], all.label[i]);
    } else {
        snprintf(key, sizeof key, "%s.real", section);
        if (elm_cfg_str(cfg, key)[0] == 0) elm_run_path(run, "clean.jsonl", real, sizeof real);
        if (!elm_file_exists(real))
            rc = elm_err(err, "%s: no real tweets (run `elm clean`, or set %s.real / %s.data)",
                         real, section, section);
        if (!rc) rc = elm_corpus_load(&all, real, text_col, NULL, 1, err);
        if (!rc && elm_is_dir(gen))
            rc = elm_corpus_load_dir(&all, gen, "text", 0, err);
        else if (!rc && elm_file_exists(gen))
            rc = elm_corpus_load(&all, gen, text_col, NULL, 0, err);
        else if (!rc && need_generated)
            rc = elm_err(err, "%s: no generated tweets (run `elm generate`, or set %s.generated)",
                         gen, section);
    }
    int n_real = 0;
    for (int i = 0; i < all.n; i++) n_real += all.label[i] == 1;
    if (!rc && all.n == 0) rc = elm_err(err, "no texts to read");
    if (!rc && need_generated && (n_real == 0 || n_real == all.n))
        rc = elm_err(err, "only %s texts (%d) and no %s ones: need both classes",
                     n_real ? "real" : "generated", all.n, n_real ? "generated" : "real");
    if (rc) {
        elm_corpus_free(&all);
        return -1;
    }
    snprintf(key, sizeof key, "%s.max_rows", section);
    int max_rows = (int)elm_cfg_int(cfg, key);
    int *keep = elm_malloc((size_t)all.n * sizeof *keep, err), n_keep = 0;
    if (!keep ||
        elm_stratified_subset(all.label, all.n, 2, max_rows, run->seed, keep, &n_keep, err)) {
        free(keep);
        elm_corpus_free(&all);
        return -1;
    }
    // Move the kept texts; c->line keeps each text's source line (or CSV record).
    elm_corpus_init(c);
    for (int i = 0; i < n_keep && rc == 0; i++)
        rc = elm_corpus_add(c, all.text[keep[i]], all.label[keep[i]], all.line[keep[i]], err);
    free(keep);
    elm_corpus_free(&all);
    if (rc) elm_corpus_free(c);
    return rc;
}
