// topics.c — `elm topics`: LDA on word counts of all texts (real and generated together, so
// their topics are comparable), held-out perplexity on a random share of documents, coherence
// of each topic's top words, an optional sweep over k / alpha / beta, the mean topic share of
// real vs generated texts, the top words of each side, topic conditioning (topic_hits.c) and the
// generated stories' topics (story_topics.c).
#include "eval/topics.h"
#include "eval/story_topics.h"
#include "eval/topic_hits.h"
#include "engine/base/rng.h"
#include "eval/coherence.h"
#include "eval/corpus.h"
#include "eval/lda.h"
#include "eval/npy.h"
#include "eval/textfeat.h"
#include "eval/topwords.h"
#include "engine/base/fsutil.h"
#include "engine/base/progress.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Comma-separated numbers of `key` into v (at most cap); 0 values when the key is empty.
static int read_list(const ElmConfig *cfg, const char *key, int integer, double lo, double *v,
                     int cap, ElmError *err) {
    const char *s = elm_cfg_str(cfg, key);
    char buf[1024], where[256];
    snprintf(buf, sizeof buf, "%s", s);
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        char *end;
        double x = strtod(t, &end);
        if (end == t || *end || (integer && x != floor(x)) || !(x >= lo) || x > 1e6)
            return elm_err(err, "%s: %s: \"%s\" is not %s >= %g",
                           elm_cfg_where(cfg, key, where, sizeof where), key, t,
                           integer ? "an integer" : "a number", lo);
        if (n == cap) return elm_err(err, "%s: too many values", key);
        v[n++] = x;
    }
    return n;
}

typedef struct Fit {
    ElmLda lda;
    double perplexity;
    double *umass, *npmi, *cv; // (k)
    int *top;                  // (k, top_n)
} Fit;

static void fit_free(Fit *f) {
    elm_lda_free(&f->lda);
    free(f->umass), free(f->npmi), free(f->cv), free(f->top);
    memset(f, 0, sizeof *f);
}

static double mean(const double *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return n ? s / n : NAN;
}

static int fit_one(const ElmRun *run, const ElmLdaOpts *o, const ElmCsr *train, const ElmCsr *held,
                   const ElmTokDocs *docs, int top_n, Fit *f, ElmProgress *p, ElmError *err) {
    memset(f, 0, sizeof *f);
    if (elm_lda_fit(&f->lda, o, train, p, err)) return -1;
    int k = o->k;
    f->perplexity = NAN;
    if (held->n_rows > 0) {
        double *g = elm_malloc((size_t)held->n_rows * k * sizeof *g, err);
        if (!g || elm_lda_transform(&f->lda, held, run->seed + 17, run->threads, g, err)) {
            free(g);
            fit_free(f);
            return -1;
        }
        f->perplexity = elm_lda_perplexity(&f->lda, held, g, run->threads);
        free(g);
    }
    int n = top_n < f->lda.V ? top_n : f->lda.V;
    if (!(f->top = elm_malloc((size_t)k * n * sizeof *f->top, err)) ||
        !(f->umass = elm_malloc((size_t)k * sizeof(double), err)) ||
        !(f->npmi = elm_malloc((size_t)k * sizeof(double), err)) ||
        !(f->cv = elm_malloc((size_t)k * sizeof(double), err))) {
        fit_free(f);
        return -1;
    }
    for (int t = 0; t < k; t++) elm_lda_top_words(&f->lda, t, n, f->top + (size_t)t * n);
    if (elm_coherence(docs, f->lda.V, f->top, k, n, f->umass, f->npmi, f->cv, err)) {
        fit_free(f);
        return -1;
    }
    return 0;
}

// One `elm topics` run: its options, its corpus and everything computed from them.
typedef struct Topics {
    ElmLdaOpts lo;
    ElmTextFeatOpts fo;
    int top_n;
    double sk[64], sa[64], sb[64]; // the sweep's values of k, alpha, beta
    int nk, na, nb, n_sweep;
    ElmCorpus c;
    int n;
    ElmTextFeat tf;
    ElmCsr X, Xtr, Xho; // all documents, the training ones, the held-out ones
    int *held, *rows;   // (n): 1 for a held-out document; scratch row list
    int ntr, nho;
    ElmTokDocs docs;
    ElmTokens tok;
    Fit main_fit;
    double t_fit;
    double *gamma; // (n, k) doc-topic weights of every document
    ElmTopWords tw;
} Topics;

static void topics_free(Topics *T) {
    fit_free(&T->main_fit);
    elm_topwords_free(&T->tw);
    elm_tokens_free(&T->tok);
    if (T->docs.tok)
        for (int d = 0; d < T->n; d++) free(T->docs.tok[d]);
    free(T->docs.tok), free(T->docs.len);
    free(T->gamma), free(T->held), free(T->rows);
    elm_csr_free(&T->X), elm_csr_free(&T->Xtr), elm_csr_free(&T->Xho);
    elm_textfeat_free(&T->tf);
    elm_corpus_free(&T->c);
}

// The LDA, sweep and vocabulary options from the config.
static int read_options(const ElmRun *run, Topics *T, ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    ElmLdaOpts *lo = &T->lo;
    elm_lda_defaults(lo);
    lo->k = (int)elm_cfg_int(cfg, "topics.k");
    lo->alpha = elm_cfg_float(cfg, "topics.alpha");
    lo->beta = elm_cfg_float(cfg, "topics.beta");
    lo->iterations = (int)elm_cfg_int(cfg, "topics.iterations");
    lo->seed = run->seed;
    lo->threads = run->threads;
    T->top_n = (int)elm_cfg_int(cfg, "topics.top_n");
    T->nk = read_list(cfg, "topics.sweep.k", 1, 1, T->sk, 64, err);
    T->na = T->nk < 0 ? -1 : read_list(cfg, "topics.sweep.alpha", 0, 1e-9, T->sa, 64, err);
    T->nb = T->na < 0 ? -1 : read_list(cfg, "topics.sweep.beta", 0, 1e-9, T->sb, 64, err);
    if (T->nk < 0 || T->na < 0 || T->nb < 0) return -1;
    ElmTextFeatOpts *fo = &T->fo;
    elm_textfeat_defaults(fo);
    fo->tfidf = 0;
    fo->min_df = elm_cfg_float(cfg, "topics.min_df");
    fo->max_df = elm_cfg_float(cfg, "topics.max_df");
    fo->max_features = (int)elm_cfg_int(cfg, "topics.max_features");
    fo->stop_words = elm_cfg_bool(cfg, "topics.stop_words");
    return 0;
}

// Word counts of every document; k must not exceed the vocabulary.
static int build_vocabulary(const ElmConfig *cfg, Topics *T, ElmError *err) {
    if (elm_textfeat_fit(&T->tf, &T->fo, (const char *const *)T->c.text, T->n, &T->X, err)) {
        elm_err_prefix(err, "[topics] vocabulary");
        return -1;
    }
    if (T->lo.k > T->tf.n_terms) {
        char where[256];
        return elm_err(err,
                       "%s: topics.k = %d is larger than the vocabulary (%d words after min_df / "
                       "max_df / stop words)",
                       elm_cfg_where(cfg, "topics.k", where, sizeof where), T->lo.k, T->tf.n_terms);
    }
    return 0;
}

// Held-out documents: a seeded random share.
static int split_holdout(const ElmRun *run, Topics *T, ElmError *err) {
    double hf = elm_cfg_float(&run->cfg, "topics.holdout");
    uint64_t rng = run->seed ^ 0x243f6a8885a308d3ull;
    int n = T->n;
    for (int i = 0; i < n; i++) {
        T->held[i] = elm_rng_unif(&rng) < hf;
    }
    for (int i = 0; i < n; i++)
        if (!T->held[i]) T->rows[T->ntr++] = i;
    if (T->ntr == 0 || elm_csr_take_rows(&T->X, T->rows, T->ntr, &T->Xtr, err)) {
        if (T->ntr == 0) elm_err(err, "[topics] no training documents left after the holdout");
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (T->held[i]) T->rows[T->nho++] = i;
    return elm_csr_take_rows(&T->X, T->rows, T->nho, &T->Xho, err);
}

// Token id sequences for coherence (positions matter for the sliding windows).
static int tokenize_docs(Topics *T, ElmError *err) {
    ElmTokDocs *docs = &T->docs;
    int n = T->n;
    docs->n = n;
    docs->tok = calloc((size_t)n, sizeof *docs->tok);
    docs->len = calloc((size_t)n, sizeof *docs->len);
    if (!docs->tok || !docs->len || elm_tokens_init(&T->tok, err))
        return elm_err(err, "out of memory");
    for (int d = 0; d < n; d++) {
        int nt = elm_tokenize(&T->tok, T->c.text[d], T->fo.stop_words, T->tf.locale, err);
        if (nt < 0) return -1;
        docs->tok[d] = elm_malloc((size_t)(nt ? nt : 1) * sizeof(int32_t), err);
        if (!docs->tok[d]) return -1;
        for (int i = 0; i < nt; i++)
            docs->tok[d][i] = elm_termmap_find(&T->tf.vocab, T->tok.tok[i], strlen(T->tok.tok[i]));
        docs->len[d] = nt;
    }
    return 0;
}

static void add_perplexity(cJSON *o, double perplexity) {
    if (isnan(perplexity))
        cJSON_AddNullToObject(o, "heldout_perplexity");
    else
        cJSON_AddNumberToObject(o, "heldout_perplexity", perplexity);
}

// "data" (the documents and the vocabulary) and "lda" (the main fit).
static void data_and_lda_json(cJSON *out, const Topics *T) {
    int n = T->n, k = T->lo.k;
    cJSON *jd = cJSON_AddObjectToObject(out, "data");
    int n_real = 0;
    for (int i = 0; i < n; i++) n_real += T->c.label[i] == 1;
    cJSON_AddNumberToObject(jd, "documents", n);
    cJSON_AddNumberToObject(jd, "real", n_real);
    cJSON_AddNumberToObject(jd, "generated", n - n_real);
    cJSON_AddNumberToObject(jd, "vocabulary", T->tf.n_terms);
    cJSON_AddNumberToObject(jd, "train_documents", T->ntr);
    cJSON_AddNumberToObject(jd, "heldout_documents", T->nho);
    const Fit *f = &T->main_fit;
    cJSON *jl = cJSON_AddObjectToObject(out, "lda");
    cJSON_AddStringToObject(jl, "method", "batch variational Bayes");
    cJSON_AddNumberToObject(jl, "k", k);
    cJSON_AddNumberToObject(jl, "alpha", f->lda.alpha);
    cJSON_AddNumberToObject(jl, "beta", f->lda.beta);
    cJSON_AddNumberToObject(jl, "iterations", T->lo.iterations);
    cJSON_AddNumberToObject(jl, "seconds", T->t_fit);
    add_perplexity(jl, f->perplexity);
    cJSON_AddNumberToObject(jl, "coherence_umass", mean(f->umass, k));
    cJSON_AddNumberToObject(jl, "coherence_npmi", mean(f->npmi, k));
    cJSON_AddNumberToObject(jl, "coherence_c_v", mean(f->cv, k));
}

// "topics": each topic's top words and weights, coherence, and its mean share (normalised
// doc-topic weight) among the real and the generated texts.
static void topics_json(cJSON *out, const Topics *T) {
    int n = T->n, k = T->lo.k, V = T->tf.n_terms;
    int tn = T->top_n < V ? T->top_n : V;
    const Fit *f = &T->main_fit;
    double share[2][1024] = {{0}};
    int cnt[2] = {0, 0};
    for (int d = 0; d < n; d++) {
        double *g = T->gamma + (size_t)d * k, s = 0;
        for (int t = 0; t < k; t++) s += g[t];
        int side = T->c.label[d] == 1;
        cnt[side]++;
        for (int t = 0; t < k && t < 1024; t++) share[side][t] += g[t] / s;
    }
    cJSON *jt = cJSON_AddArrayToObject(out, "topics");
    for (int t = 0; t < k; t++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "topic", t);
        cJSON *w = cJSON_AddArrayToObject(e, "words");
        cJSON *wt = cJSON_AddArrayToObject(e, "weights");
        double tot = 0;
        for (int v = 0; v < V; v++) tot += f->lda.lambda[(size_t)t * V + v];
        for (int i = 0; i < tn; i++) {
            int id = f->top[(size_t)t * tn + i];
            cJSON_AddItemToArray(w, cJSON_CreateString(elm_textfeat_term(&T->tf, id)));
            cJSON_AddItemToArray(wt, cJSON_CreateNumber(f->lda.lambda[(size_t)t * V + id] / tot));
        }
        cJSON_AddNumberToObject(e, "umass", f->umass[t]);
        cJSON_AddNumberToObject(e, "npmi", f->npmi[t]);
        cJSON_AddNumberToObject(e, "c_v", f->cv[t]);
        if (t < 1024) {
            if (cnt[1]) cJSON_AddNumberToObject(e, "share_real", share[1][t] / cnt[1]);
            if (cnt[0]) cJSON_AddNumberToObject(e, "share_generated", share[0][t] / cnt[0]);
        }
        cJSON_AddItemToArray(jt, e);
    }
}

// The sweep: every combination of the listed values (a missing list uses the main value).
static int run_sweep(const ElmRun *run, const Topics *T, cJSON *out, ElmProgress *p,
                     ElmError *err) {
    int nk = T->nk, na = T->na, nb = T->nb;
    cJSON *js = cJSON_AddArrayToObject(out, "sweep");
    for (int i = 0; i < T->n_sweep; i++) {
        ElmLdaOpts o = T->lo;
        int ib = nb ? i % nb : 0, ia = na ? (i / (nb ? nb : 1)) % na : 0;
        int ik = nk ? i / ((nb ? nb : 1) * (na ? na : 1)) : 0;
        if (nk) o.k = (int)T->sk[ik];
        if (na) o.alpha = T->sa[ia];
        if (nb) o.beta = T->sb[ib];
        if (o.k > T->tf.n_terms)
            return elm_err(err, "topics.sweep.k = %d is larger than the vocabulary (%d words)", o.k,
                           T->tf.n_terms);
        Fit f;
        double ts = elm_now();
        if (fit_one(run, &o, &T->Xtr, &T->Xho, &T->docs, T->top_n, &f, p, err)) {
            elm_err_prefix(err, "[topics] sweep");
            return -1;
        }
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "k", o.k);
        cJSON_AddNumberToObject(e, "alpha", f.lda.alpha);
        cJSON_AddNumberToObject(e, "beta", f.lda.beta);
        add_perplexity(e, f.perplexity);
        cJSON_AddNumberToObject(e, "coherence_umass", mean(f.umass, o.k));
        cJSON_AddNumberToObject(e, "coherence_npmi", mean(f.npmi, o.k));
        cJSON_AddNumberToObject(e, "coherence_c_v", mean(f.cv, o.k));
        cJSON_AddNumberToObject(e, "seconds", elm_now() - ts);
        cJSON_AddItemToArray(js, e);
        fit_free(&f);
    }
    return 0;
}

// "top_words": the most frequent words of each side, and those only one side uses.
static int top_words_json(const ElmConfig *cfg, Topics *T, cJSON *out, ElmError *err) {
    ElmTopWords *tw = &T->tw;
    if (elm_topwords(tw, (const char *const *)T->c.text, T->c.label, T->n, T->fo.stop_words,
                     (int)elm_cfg_int(cfg, "topics.top_words"), err))
        return -1;
    cJSON *jw = cJSON_AddObjectToObject(out, "top_words");
    const char *side_name[2] = {"generated", "real"};
    for (int s = 1; s >= 0; s--) {
        if (tw->total[s] == 0) continue;
        cJSON *a = cJSON_AddArrayToObject(jw, side_name[s]);
        for (int i = 0; i < tw->n_top[s]; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "word", tw->top[s][i].word);
            cJSON_AddNumberToObject(e, "freq_real", tw->top[s][i].freq[1]);
            cJSON_AddNumberToObject(e, "freq_generated", tw->top[s][i].freq[0]);
            cJSON_AddItemToArray(a, e);
        }
        char key[64];
        snprintf(key, sizeof key, "only_%s", side_name[s]);
        cJSON *o = cJSON_AddArrayToObject(jw, key);
        for (int i = 0; i < tw->n_only[s]; i++)
            cJSON_AddItemToArray(o, cJSON_CreateString(tw->only[s][i].word));
    }
    return 0;
}

// The counts, the split and the fitted topics as .npy files and the vocabulary as text, for
// the tests' peers.
static int export_arrays(const char *export_dir, const Topics *T, ElmError *err) {
    int n = T->n;
    char pth[4096];
    if (elm_mkdirs(export_dir, err)) return -1;
#define NPY(name, dt, ptr, cntv, el)                                                               \
    do {                                                                                           \
        elm_path_join(pth, sizeof pth, export_dir, name);                                          \
        if (elm_npy_write(pth, dt, ptr, (size_t)(cntv), el, err)) return -1;                       \
    } while (0)
    NPY("indptr.npy", "<i8", T->X.indptr, n + 1, 8);
    NPY("indices.npy", "<i4", T->X.indices, T->X.nnz, 4);
    NPY("data.npy", "<f8", T->X.data, T->X.nnz, 8);
    NPY("heldout.npy", "<i4", T->held, n, 4);
    NPY("labels.npy", "<i4", T->c.label, n, 4);
    NPY("records.npy", "<i4", T->c.line, n, 4);
    NPY("lambda.npy", "<f8", T->main_fit.lda.lambda, (size_t)T->lo.k * T->tf.n_terms, 8);
#undef NPY
    elm_path_join(pth, sizeof pth, export_dir, "vocab.txt");
    ElmAtomicFile af;
    if (elm_atomic_open(&af, pth, err)) return -1;
    for (int i = 0; i < T->tf.n_terms; i++) fprintf(af.f, "%s\n", elm_textfeat_term(&T->tf, i));
    return elm_atomic_commit(&af, err);
}

// topics/doc_topics.jsonl (every document's normalised topic mixture, in input order), then
// topics/topics.json.
static int write_outputs(const ElmRun *run, const Topics *T, const cJSON *out, ElmError *err) {
    int n = T->n, k = T->lo.k;
    char dir[4096], path[4096];
    elm_path_join(dir, sizeof dir, run->dir, "topics");
    if (elm_mkdirs(dir, err)) return -1;
    elm_path_join(path, sizeof path, dir, "doc_topics.jsonl");
    ElmAtomicFile dt;
    if (elm_atomic_open(&dt, path, err)) return -1;
    for (int d = 0; d < n; d++) {
        const double *g = T->gamma + (size_t)d * k;
        double s = 0;
        for (int t = 0; t < k; t++) s += g[t];
        fprintf(dt.f, "{\"source\":\"%s\",\"line\":%d,\"topics\":[",
                T->c.label[d] ? "real" : "generated", T->c.line[d]);
        for (int t = 0; t < k; t++) fprintf(dt.f, "%s%.6g", t ? "," : "", g[t] / s);
        fprintf(dt.f, "]}\n");
    }
    if (elm_atomic_commit(&dt, err)) return -1;
    elm_path_join(path, sizeof path, dir, "topics.json");
    char *text = cJSON_Print(out);
    if (!text) return elm_err(err, "out of memory writing topics.json");
    int wrc = elm_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return wrc;
}

// The fits (the main one, then the sweep, on one progress bar) and the doc-topic weights of
// every document under the main fit, with their JSON.
static int fit_all(const ElmRun *run, Topics *T, cJSON *out, ElmError *err) {
    int nk = T->nk, na = T->na, nb = T->nb;
    T->n_sweep = (nk || na || nb) ? (nk ? nk : 1) * (na ? na : 1) * (nb ? nb : 1) : 0;
    ElmProgress p;
    elm_progress_start(&p, "topics lda", "passes", (uint64_t)T->lo.iterations * (1 + T->n_sweep),
                       run->quiet);
    double t0 = elm_now();
    if (fit_one(run, &T->lo, &T->Xtr, &T->Xho, &T->docs, T->top_n, &T->main_fit, &p, err)) {
        elm_err_prefix(err, "[topics]");
        return -1;
    }
    T->t_fit = elm_now() - t0;
    data_and_lda_json(out, T);
    T->gamma = elm_malloc((size_t)T->n * T->lo.k * sizeof *T->gamma, err);
    if (!T->gamma ||
        elm_lda_transform(&T->main_fit.lda, &T->X, run->seed + 29, run->threads, T->gamma, err))
        return -1;
    topics_json(out, T);
    if (T->n_sweep && run_sweep(run, T, out, &p, err)) return -1;
    elm_progress_finish(&p);
    return 0;
}

int elm_topics_run_export(ElmRun *run, const char *export_dir, ElmError *err) {
    Topics T = {0};
    if (read_options(run, &T, err)) return -1;
    double t_start = elm_now();
    if (elm_corpus_load_config(&T.c, run, "topics", 0, err)) return -1;
    T.n = T.c.n;
    int rc = -1;
    cJSON *out = cJSON_CreateObject();
    T.held = calloc((size_t)T.n, sizeof *T.held);
    T.rows = malloc((size_t)T.n * sizeof *T.rows);
    if (!out || !T.held || !T.rows) {
        elm_err(err, "out of memory");
        goto done;
    }
    if (build_vocabulary(&run->cfg, &T, err) || split_holdout(run, &T, err) ||
        tokenize_docs(&T, err) || fit_all(run, &T, out, err) ||
        top_words_json(&run->cfg, &T, out, err) || elm_topic_hits_json(run, out, err) ||
        elm_story_topics_json(run, &T.tf, &T.main_fit.lda, run->seed + 31, out, err))
        goto done;
    cJSON_AddNumberToObject(out, "seconds", elm_now() - t_start);
    if (export_dir && export_arrays(export_dir, &T, err)) goto done;
    if (write_outputs(run, &T, out, err)) goto done;
    rc = 0;
done:
    cJSON_Delete(out);
    topics_free(&T);
    return rc;
}

int elm_topics_run(ElmRun *run, ElmError *err) {
    return elm_topics_run_export(run, NULL, err);
}
