// topic_hits.c — topic hit rate of conditioned generations against the base rate (topic_hits.h).
#include "eval/topic_hits.h"
#include "engine/base/fsutil.h"
#include "engine/base/jsonl.h"
#include "eval/corpus.h"
#include "eval/topicfit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The generated texts and the topic each was asked for (-1: none).
typedef struct Gen {
    char **text;
    int *asked;
    int n, cap;
} Gen;

static void gen_free(Gen *g) {
    for (int i = 0; i < g->n; i++) free(g->text[i]);
    free(g->text), free(g->asked);
}

static int gen_add(Gen *g, const char *text, int asked, ElmError *err) {
    if (g->n == g->cap) {
        int cap = g->cap ? 2 * g->cap : 256;
        char **t = elm_realloc(g->text, (size_t)cap * sizeof *t, err);
        if (!t) return -1;
        g->text = t;
        int *a = elm_realloc(g->asked, (size_t)cap * sizeof *a, err);
        if (!a) return -1;
        g->asked = a, g->cap = cap;
    }
    if (!(g->text[g->n] = strdup(text))) return elm_err(err, "out of memory");
    g->asked[g->n++] = asked;
    return 0;
}

static int read_file(const char *path, const ElmTopicFit *f, Gen *g, ElmError *err) {
    ElmJsonl r;
    if (elm_jsonl_open(&r, path, err)) return -1;
    int rc = 0;
    cJSON *o;
    while (rc == 0 && (o = elm_jsonl_next(&r, err))) {
        const char *text = elm_json_str(o, "text"), *topic = elm_json_str(o, "topic");
        int t = topic ? elm_topicfit_find(f->names, f->lda.k, topic) : -1;
        if (!text)
            rc = elm_err(err, "%s:%d: no \"text\" string", path, r.line);
        else if (topic && t < 0)
            rc = elm_err(err, "%s:%d: topic \"%s\" is not one of topicfit's", path, r.line, topic);
        else
            rc = gen_add(g, text, t, err);
        cJSON_Delete(o);
    }
    if (rc == 0 && err->msg[0]) rc = -1;
    elm_jsonl_close(&r);
    return rc;
}

// The generated tweets topics.generated names (a folder: its *.jsonl in name order).
static int read_generated(const ElmRun *run, const ElmTopicFit *f, Gen *g, ElmError *err) {
    char gen[4096];
    elm_corpus_generated_path(run, "topics", gen, sizeof gen);
    if (!elm_is_dir(gen)) return elm_file_exists(gen) ? read_file(gen, f, g, err) : 0;
    char **paths;
    int n, rc = 0;
    if (elm_corpus_jsonl_paths(gen, &paths, &n, err)) return -1;
    for (int i = 0; i < n; i++) {
        if (rc == 0) rc = read_file(paths[i], f, g, err);
        free(paths[i]);
    }
    free(paths);
    return rc;
}

// Per asked topic: texts, hits and (k) dominant counts; base counts of the unconditioned.
typedef struct Hits {
    int k, asked_total, base_n, base_real;
    int *asked, *hits, *confusion, *base;
    double *real_share;
} Hits;

static cJSON *hits_json(const Hits *h, char *const *names) {
    cJSON *o = cJSON_CreateObject(), *topics = cJSON_CreateArray(), *conf = cJSON_CreateArray();
    double hit = 0, expect = 0;
    for (int t = 0; t < h->k; t++) {
        double base = h->base_real ? h->real_share[t] : (double)h->base[t] / h->base_n;
        hit += h->hits[t], expect += h->asked[t] * base;
        cJSON *e = cJSON_CreateObject(), *row = cJSON_CreateArray();
        cJSON_AddStringToObject(e, "name", names[t]);
        cJSON_AddNumberToObject(e, "asked", h->asked[t]);
        cJSON_AddNumberToObject(e, "hits", h->hits[t]);
        if (h->asked[t]) cJSON_AddNumberToObject(e, "hit_rate", (double)h->hits[t] / h->asked[t]);
        cJSON_AddNumberToObject(e, "base_rate", base);
        cJSON_AddItemToArray(topics, e);
        for (int u = 0; u < h->k; u++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber(h->confusion[t * h->k + u]));
        cJSON_AddItemToArray(conf, row);
    }
    cJSON_AddStringToObject(o, "model", "topicfit");
    cJSON_AddStringToObject(o, "base_source", h->base_real ? "real" : "unconditioned");
    cJSON_AddNumberToObject(o, "conditioned", h->asked_total);
    cJSON_AddNumberToObject(o, "unconditioned", h->base_n);
    if (h->asked_total) {
        cJSON_AddNumberToObject(o, "hit_rate", hit / h->asked_total);
        cJSON_AddNumberToObject(o, "base_rate", expect / h->asked_total);
    }
    cJSON_AddItemToObject(o, "topics", topics);
    cJSON_AddItemToObject(o, "confusion", conf); // rows: asked, columns: dominant
    return o;
}

// The real tweets' topic shares, from topicfit's documents per topic.
static void real_shares(const ElmTopicFit *f, double *share) {
    double total = 0;
    for (int t = 0; t < f->lda.k; t++) total += f->docs[t];
    for (int t = 0; t < f->lda.k; t++) share[t] = total > 0 ? f->docs[t] / total : 0;
}

static int count(const ElmTopicFit *f, const Gen *g, const int *dom, Hits *h, ElmError *err) {
    int k = h->k;
    if (!(h->asked = elm_calloc((size_t)k, sizeof(int), err)) ||
        !(h->hits = elm_calloc((size_t)k, sizeof(int), err)) ||
        !(h->base = elm_calloc((size_t)k, sizeof(int), err)) ||
        !(h->confusion = elm_calloc((size_t)k * k, sizeof(int), err)) ||
        !(h->real_share = elm_calloc((size_t)k, sizeof(double), err)))
        return -1;
    for (int i = 0; i < g->n; i++) {
        int a = g->asked[i], d = dom[i];
        if (a >= 0) {
            h->asked[a]++, h->asked_total++;
            h->hits[a] += d == a;
            if (d >= 0) h->confusion[a * k + d]++;
        } else if (d >= 0) {
            h->base[d]++, h->base_n++;
        }
    }
    h->base_real = h->base_n == 0;
    if (h->base_real) real_shares(f, h->real_share);
    return 0;
}

int elm_topic_hits_json(const ElmRun *run, cJSON *out, ElmError *err) {
    ElmTopicFit f;
    int have = elm_topicfit_load(run, &f, err);
    if (have != 0) return have < 0 ? -1 : 0;
    Gen g = {0};
    Hits h = {.k = f.lda.k};
    int *dom = NULL, rc = read_generated(run, &f, &g, err);
    if (rc == 0 && g.n > 0) {
        rc = (dom = elm_malloc((size_t)g.n * sizeof *dom, err)) ? 0 : -1;
        if (rc == 0)
            rc =
                elm_topicfit_dominant(&f, (const char *const *)g.text, g.n, run->threads, dom, err);
        if (rc == 0) rc = count(&f, &g, dom, &h, err);
        if (rc == 0) cJSON_AddItemToObject(out, "conditioning", hits_json(&h, f.names));
    }
    free(h.asked), free(h.hits), free(h.base), free(h.confusion), free(h.real_share);
    free(dom);
    gen_free(&g);
    elm_topicfit_free(&f);
    return rc;
}
