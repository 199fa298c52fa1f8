// topicfit.c — `elm topicfit`: the LDA whose topics tag the training documents (topicfit.h).
#include "eval/topicfit.h"
#include "engine/base/fsutil.h"
#include "engine/base/jsonl.h"
#include "engine/base/progress.h"
#include "eval/corpus.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOPICFIT_SEED_SALT 0x746f70696366ull // "topicf": the E-step seeds of the transform

// One stage run: options, the real tweets, their counts, the fit and each document's topic.
typedef struct Fit {
    ElmLdaOpts lo;
    ElmTextFeatOpts fo;
    int top_n;
    ElmCorpus c;
    ElmTextFeat tf;
    ElmCsr X;
    ElmLda lda;
    int *dominant; // (c.n)
    int *docs;     // (k) documents per topic
    int *top;      // (k, top_n) word ids
    char **names;  // (k)
} Fit;

static void fit_free(Fit *F) {
    for (int t = 0; F->names && t < F->lda.k; t++) free(F->names[t]);
    free(F->names), free(F->top), free(F->docs), free(F->dominant);
    elm_lda_free(&F->lda);
    elm_csr_free(&F->X);
    elm_textfeat_free(&F->tf);
    elm_corpus_free(&F->c);
}

static void read_options(const ElmRun *run, Fit *F) {
    const ElmConfig *cfg = &run->cfg;
    elm_lda_defaults(&F->lo);
    F->lo.k = (int)elm_cfg_int(cfg, "topicfit.k");
    F->lo.alpha = elm_cfg_float(cfg, "topicfit.alpha");
    F->lo.beta = elm_cfg_float(cfg, "topicfit.beta");
    F->lo.iterations = (int)elm_cfg_int(cfg, "topicfit.iterations");
    F->lo.seed = run->seed;
    F->lo.threads = run->threads;
    F->top_n = (int)elm_cfg_int(cfg, "topicfit.top_n");
    elm_textfeat_defaults(&F->fo);
    F->fo.tfidf = 0;
    F->fo.min_df = elm_cfg_float(cfg, "topicfit.min_df");
    F->fo.max_df = elm_cfg_float(cfg, "topicfit.max_df");
    F->fo.max_features = (int)elm_cfg_int(cfg, "topicfit.max_features");
    F->fo.stop_words = elm_cfg_bool(cfg, "topicfit.stop_words");
}

int elm_topicfit_find(char *const *names, int k, const char *name) {
    for (int t = 0; t < k; t++)
        if (strcmp(names[t], name) == 0) return t;
    char *end;
    long id = strtol(name, &end, 10);
    if (name[0] >= '0' && name[0] <= '9' && !*end && id >= 0 && id < k) return (int)id;
    return -1;
}

// Names: each topic's heaviest word that no earlier topic is named by ("topic<id>" if none).
static int name_topics(Fit *F, ElmError *err) {
    int k = F->lda.k, n = F->top_n < F->lda.V ? F->top_n : F->lda.V;
    F->top_n = n;
    if (!(F->top = elm_malloc((size_t)k * n * sizeof *F->top, err)) ||
        !(F->names = elm_calloc((size_t)k, sizeof *F->names, err)))
        return -1;
    for (int t = 0; t < k; t++) {
        elm_lda_top_words(&F->lda, t, n, F->top + (size_t)t * n);
        const char *pick = NULL;
        for (int i = 0; i < n && !pick; i++) {
            const char *w = elm_textfeat_term(&F->tf, F->top[(size_t)t * n + i]);
            if (elm_topicfit_find(F->names, t, w) < 0 && !(w[0] >= '0' && w[0] <= '9')) pick = w;
        }
        char fallback[32];
        snprintf(fallback, sizeof fallback, "topic%d", t);
        if (!(F->names[t] = strdup(pick ? pick : fallback))) return elm_err(err, "out of memory");
    }
    return 0;
}

// Each document's topic; one without vocabulary words gets the commonest topic.
static int assign(const ElmRun *run, Fit *F, ElmError *err) {
    int n = F->c.n, k = F->lda.k;
    if (!(F->dominant = elm_malloc((size_t)n * sizeof *F->dominant, err)) ||
        !(F->docs = elm_calloc((size_t)k, sizeof *F->docs, err)) ||
        elm_lda_dominant(&F->lda, &F->X, run->seed ^ TOPICFIT_SEED_SALT, run->threads, F->dominant,
                         err))
        return -1;
    for (int d = 0; d < n; d++)
        if (F->dominant[d] >= 0) F->docs[F->dominant[d]]++;
    int mode = 0;
    for (int t = 1; t < k; t++)
        if (F->docs[t] > F->docs[mode]) mode = t;
    for (int d = 0; d < n; d++)
        if (F->dominant[d] < 0) F->dominant[d] = mode, F->docs[mode]++;
    return 0;
}

static int fit(const ElmRun *run, Fit *F, ElmError *err) {
    char clean[4096], where[256];
    elm_run_path(run, "clean.jsonl", clean, sizeof clean);
    if (!elm_file_exists(clean))
        return elm_err(err, "%s: not found (run `elm clean` first)", clean);
    elm_corpus_init(&F->c);
    if (elm_corpus_load_jsonl(&F->c, clean, "text", 1, err)) return -1;
    if (F->c.n == 0) return elm_err(err, "%s: no tweets to fit topics on", clean);
    if (elm_textfeat_fit(&F->tf, &F->fo, (const char *const *)F->c.text, F->c.n, &F->X, err)) {
        elm_err_prefix(err, "[topicfit] vocabulary");
        return -1;
    }
    if (F->lo.k > F->tf.n_terms)
        return elm_err(err,
                       "%s: topicfit.k = %d is larger than the vocabulary of %s (%d words after "
                       "min_df / max_df / stop words)",
                       elm_cfg_where(&run->cfg, "topicfit.k", where, sizeof where), F->lo.k, clean,
                       F->tf.n_terms);
    ElmProgress p;
    elm_progress_start(&p, "topicfit lda", "passes", (uint64_t)F->lo.iterations, run->quiet);
    int rc = elm_lda_fit(&F->lda, &F->lo, &F->X, &p, err);
    elm_progress_finish(&p);
    if (rc || assign(run, F, err)) return -1;
    return name_topics(F, err);
}

// topicfit.json: the settings and, per topic, id, name, top words and documents.
static cJSON *summary_json(const ElmRun *run, const Fit *F) {
    cJSON *j = cJSON_CreateObject(), *topics = cJSON_CreateArray();
    cJSON_AddStringToObject(j, "condition", "account+topic");
    cJSON_AddNumberToObject(j, "k", F->lda.k);
    cJSON_AddNumberToObject(j, "documents", F->c.n);
    cJSON_AddNumberToObject(j, "vocabulary", F->tf.n_terms);
    cJSON_AddNumberToObject(j, "alpha", F->lda.alpha);
    cJSON_AddNumberToObject(j, "beta", F->lda.beta);
    cJSON_AddNumberToObject(j, "iterations", F->lo.iterations);
    cJSON_AddNumberToObject(j, "seed", (double)run->seed);
    for (int t = 0; t < F->lda.k; t++) {
        cJSON *o = cJSON_CreateObject(), *w = cJSON_CreateArray();
        cJSON_AddNumberToObject(o, "id", t);
        cJSON_AddStringToObject(o, "name", F->names[t]);
        for (int i = 0; i < F->top_n; i++)
            cJSON_AddItemToArray(
                w, cJSON_CreateString(elm_textfeat_term(&F->tf, F->top[(size_t)t * F->top_n + i])));
        cJSON_AddItemToObject(o, "words", w);
        cJSON_AddNumberToObject(o, "documents", F->docs[t]);
        cJSON_AddItemToArray(topics, o);
    }
    cJSON_AddItemToObject(j, "topics", topics);
    return j;
}

// lda.json: what scoring a text needs — the vectorizer's settings, its terms by column, the
// priors and lambda (k rows of V), each number as printf's %.17g (exact round trip).
static int write_model(const char *path, const Fit *F, ElmError *err) {
    ElmAtomicFile o;
    if (elm_atomic_open(&o, path, err)) return -1;
    fprintf(o.f,
            "{\"min_df\":%.17g,\"max_df\":%.17g,\"max_features\":%d,\"stop_words\":%s,"
            "\"k\":%d,\"alpha\":%.17g,\"beta\":%.17g,\n\"terms\":[",
            F->fo.min_df, F->fo.max_df, F->fo.max_features, F->fo.stop_words ? "true" : "false",
            F->lda.k, F->lda.alpha, F->lda.beta);
    for (int v = 0; v < F->tf.n_terms; v++) {
        cJSON *s = cJSON_CreateString(elm_textfeat_term(&F->tf, v));
        char *txt = s ? cJSON_PrintUnformatted(s) : NULL;
        fprintf(o.f, "%s%s", v ? "," : "", txt ? txt : "\"\"");
        free(txt);
        cJSON_Delete(s);
    }
    fprintf(o.f, "],\n\"lambda\":[");
    for (int t = 0; t < F->lda.k; t++) {
        fprintf(o.f, "%s\n[", t ? "," : "");
        for (int v = 0; v < F->lda.V; v++)
            fprintf(o.f, "%s%.17g", v ? "," : "", F->lda.lambda[(size_t)t * F->lda.V + v]);
        fprintf(o.f, "]");
    }
    fprintf(o.f, "]}\n");
    return elm_atomic_commit(&o, err);
}

// doc_topics.txt: one topic id a line of clean.jsonl (blank lines: -1).
static int write_assignments(const char *path, const Fit *F, ElmError *err) {
    int lines = F->c.n ? F->c.line[F->c.n - 1] : 0;
    int *by_line = elm_malloc(((size_t)lines + 1) * sizeof *by_line, err);
    if (!by_line) return -1;
    for (int i = 0; i < lines; i++) by_line[i] = -1;
    for (int d = 0; d < F->c.n; d++) by_line[F->c.line[d] - 1] = F->dominant[d];
    ElmAtomicFile o;
    int rc = elm_atomic_open(&o, path, err);
    for (int i = 0; rc == 0 && i < lines; i++) fprintf(o.f, "%d\n", by_line[i]);
    free(by_line);
    return rc ? -1 : elm_atomic_commit(&o, err);
}

static int write_json(const char *path, cJSON *j, ElmError *err) {
    char *text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!text) return elm_err(err, "out of memory writing %s", path);
    int rc = elm_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

static int remove_stale(const char *path, ElmError *err) {
    if (unlink(path) && errno != ENOENT)
        return elm_err(err, "%s: cannot remove: %s", path, strerror(errno));
    return 0;
}

int elm_topicfit_run(ElmRun *run, ElmError *err) {
    char dir[4096], sum[4200], model[4200], assign_path[4200];
    elm_run_path(run, "topicfit", dir, sizeof dir);
    snprintf(sum, sizeof sum, "%s/topicfit.json", dir);
    snprintf(model, sizeof model, "%s/lda.json", dir);
    snprintf(assign_path, sizeof assign_path, "%s/doc_topics.txt", dir);
    if (elm_run_mkdir(run, err) || elm_mkdirs(dir, err)) return -1;
    const char *cond = elm_cfg_str(&run->cfg, "train.condition");
    if (strcmp(cond, "account+topic") != 0) { // nothing to tag: a model of an earlier run goes
        if (remove_stale(model, err) || remove_stale(assign_path, err)) return -1;
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "condition", cond);
        return write_json(sum, j, err);
    }
    Fit F;
    memset(&F, 0, sizeof F);
    read_options(run, &F);
    int rc = fit(run, &F, err);
    if (rc == 0) rc = write_model(model, &F, err);
    if (rc == 0) rc = write_assignments(assign_path, &F, err);
    if (rc == 0) rc = write_json(sum, summary_json(run, &F), err);
    fit_free(&F);
    return rc;
}

// ---- the saved model ----------------------------------------------------------------------

void elm_topicfit_free(ElmTopicFit *f) {
    for (int t = 0; f->names && t < f->lda.k; t++) free(f->names[t]);
    free(f->names), free(f->docs);
    elm_lda_free(&f->lda);
    elm_textfeat_free(&f->tf);
    memset(f, 0, sizeof *f);
}

static cJSON *read_json(const char *path, ElmError *err) {
    char *data;
    size_t n;
    if (elm_read_file(path, &data, &n, err)) return NULL;
    cJSON *j = cJSON_ParseWithLength(data, n);
    free(data);
    if (!j) elm_err(err, "%s: not valid JSON (rerun `elm topicfit`)", path);
    return j;
}

// The vectorizer and the LDA of lda.json.
static int load_model(const char *path, ElmTopicFit *f, ElmError *err) {
    cJSON *j = read_json(path, err);
    if (!j) return -1;
    const cJSON *terms = cJSON_GetObjectItemCaseSensitive(j, "terms");
    const cJSON *lam = cJSON_GetObjectItemCaseSensitive(j, "lambda");
    int k = cJSON_IsArray(lam) ? cJSON_GetArraySize(lam) : 0;
    int V = cJSON_IsArray(terms) ? cJSON_GetArraySize(terms) : 0, rc = 0;
    const char **tv = elm_calloc((size_t)V + 1, sizeof *tv, err);
    double *lv = elm_malloc(((size_t)k * V + 1) * sizeof *lv, err);
    if (!tv || !lv) rc = -1;
    int i = 0, t = 0;
    const cJSON *e, *row;
    cJSON_ArrayForEach(e, terms) if (rc == 0) {
        if (!cJSON_IsString(e)) rc = elm_err(err, "%s: term %d is not a string", path, i);
        tv[i++] = e->valuestring;
    }
    cJSON_ArrayForEach(row, lam) if (rc == 0) {
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != V)
            rc = elm_err(err, "%s: lambda row %d does not hold %d numbers", path, t, V);
        i = 0;
        cJSON_ArrayForEach(e, row) if (rc == 0) lv[(size_t)t * V + i++] = e->valuedouble;
        t++;
    }
    ElmTextFeatOpts fo;
    elm_textfeat_defaults(&fo);
    fo.tfidf = 0;
    fo.min_df = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "min_df"));
    fo.max_df = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "max_df"));
    fo.max_features =
        (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "max_features"));
    fo.stop_words = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "stop_words"));
    double alpha = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "alpha"));
    double beta = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "beta"));
    if (rc == 0 && (k < 1 || V < 1)) rc = elm_err(err, "%s: no topics or no terms", path);
    if (rc == 0 && (elm_textfeat_from_terms(&f->tf, &fo, tv, V, err) ||
                    elm_lda_from_lambda(&f->lda, k, V, alpha, beta, lv, err)))
        rc = -1;
    if (rc) elm_err_prefix(err, path);
    free(tv), free(lv);
    cJSON_Delete(j);
    return rc;
}

// The topics' names and documents of topicfit.json, which must be the model's k.
static int load_names(const char *path, ElmTopicFit *f, ElmError *err) {
    cJSON *j = read_json(path, err);
    if (!j) return -1;
    const cJSON *topics = cJSON_GetObjectItemCaseSensitive(j, "topics"), *o;
    int rc = 0, t = 0;
    if (!cJSON_IsArray(topics) || cJSON_GetArraySize(topics) != f->lda.k)
        rc = elm_err(err, "%s: \"topics\" does not list the model's %d topics", path, f->lda.k);
    if (rc == 0 && (!(f->names = elm_calloc((size_t)f->lda.k, sizeof *f->names, err)) ||
                    !(f->docs = elm_calloc((size_t)f->lda.k, sizeof *f->docs, err))))
        rc = -1;
    cJSON_ArrayForEach(o, topics) if (rc == 0) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "name"));
        if (!name) rc = elm_err(err, "%s: topic %d has no name", path, t);
        if (rc == 0) f->docs[t] = elm_json_num(o, "documents", 0);
        if (rc == 0 && !(f->names[t++] = strdup(name))) rc = elm_err(err, "out of memory");
    }
    cJSON_Delete(j);
    return rc;
}

int elm_topicfit_load(const ElmRun *run, ElmTopicFit *f, ElmError *err) {
    memset(f, 0, sizeof *f);
    char sum[4200], model[4200];
    elm_run_path(run, "topicfit/topicfit.json", sum, sizeof sum);
    elm_run_path(run, "topicfit/lda.json", model, sizeof model);
    if (!elm_file_exists(model)) return 1;
    f->seed = run->seed;
    if (load_model(model, f, err) || load_names(sum, f, err)) {
        elm_topicfit_free(f);
        return -1;
    }
    return 0;
}

int elm_topicfit_dominant(const ElmTopicFit *f, const char *const *texts, int n, int threads,
                          int *topic, ElmError *err) {
    ElmCsr X;
    if (elm_textfeat_transform(&f->tf, texts, n, &X, err)) return -1;
    int rc = elm_lda_dominant(&f->lda, &X, f->seed ^ TOPICFIT_SEED_SALT, threads, topic, err);
    elm_csr_free(&X);
    return rc;
}
