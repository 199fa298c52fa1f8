// topics.c — `elm topics`: LDA on word counts of all texts (real and generated together, so
// their topics are comparable), held-out perplexity on a random share of documents, coherence
// of each topic's top words, an optional sweep over k / alpha / beta, the mean topic share of
// real vs generated texts, and the top words of each side.
#include "eval/topics.h"
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
        double *g = malloc((size_t)held->n_rows * k * sizeof *g);
        if (!g || elm_lda_transform(&f->lda, held, run->seed + 17, run->threads, g, err)) {
            free(g);
            fit_free(f);
            return g ? -1 : elm_err(err, "out of memory");
        }
        f->perplexity = elm_lda_perplexity(&f->lda, held, g, run->threads);
        free(g);
    }
    int n = top_n < f->lda.V ? top_n : f->lda.V;
    f->top = malloc((size_t)k * n * sizeof *f->top);
    f->umass = malloc((size_t)k * sizeof(double));
    f->npmi = malloc((size_t)k * sizeof(double));
    f->cv = malloc((size_t)k * sizeof(double));
    if (!f->top || !f->umass || !f->npmi || !f->cv) {
        fit_free(f);
        return elm_err(err, "out of memory");
    }
    for (int t = 0; t < k; t++) elm_lda_top_words(&f->lda, t, n, f->top + (size_t)t * n);
    if (elm_coherence(docs, f->lda.V, f->top, k, n, f->umass, f->npmi, f->cv, err)) {
        fit_free(f);
        return -1;
    }
    return 0;
}

int elm_topics_run_export(ElmRun *run, const char *export_dir, ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    ElmLdaOpts lo;
    elm_lda_defaults(&lo);
    lo.k = (int)elm_cfg_int(cfg, "topics.k");
    lo.alpha = elm_cfg_float(cfg, "topics.alpha");
    lo.beta = elm_cfg_float(cfg, "topics.beta");
    lo.iterations = (int)elm_cfg_int(cfg, "topics.iterations");
    lo.seed = run->seed;
    lo.threads = run->threads;
    int top_n = (int)elm_cfg_int(cfg, "topics.top_n");
    double sk[64], sa[64], sb[64];
    int nk = read_list(cfg, "topics.sweep.k", 1, 1, sk, 64, err);
    int na = nk < 0 ? -1 : read_list(cfg, "topics.sweep.alpha", 0, 1e-9, sa, 64, err);
    int nb = na < 0 ? -1 : read_list(cfg, "topics.sweep.beta", 0, 1e-9, sb, 64, err);
    if (nk < 0 || na < 0 || nb < 0) return -1;
    ElmTextFeatOpts fo;
    elm_textfeat_defaults(&fo);
    fo.tfidf = 0;
    fo.min_df = elm_cfg_float(cfg, "topics.min_df");
    fo.max_df = elm_cfg_float(cfg, "topics.max_df");
    fo.max_features = (int)elm_cfg_int(cfg, "topics.max_features");
    fo.stop_words = elm_cfg_bool(cfg, "topics.stop_words");

    double t_start = elm_now();
    ElmCorpus c;
    if (elm_corpus_load_config(&c, run, "topics", 0, err)) return -1;
    int n = c.n, rc = -1, k = lo.k;
    ElmTextFeat tf = {0};
    ElmCsr X = {0}, Xtr = {0}, Xho = {0};
    ElmTokDocs docs = {0};
    Fit main_fit = {0};
    ElmTopWords tw = {0};
    cJSON *out = cJSON_CreateObject();
    int *held = calloc((size_t)n, sizeof *held), *rows = malloc((size_t)n * sizeof *rows);
    double *gamma = NULL;
    ElmTokens tok = {0};
    if (!out || !held || !rows) {
        elm_err(err, "out of memory");
        goto done;
    }
    if (elm_textfeat_fit(&tf, &fo, (const char *const *)c.text, n, &X, err)) {
        elm_err_prefix(err, "[topics] vocabulary");
        goto done;
    }
    if (k > tf.n_terms) {
        char where[256];
        elm_err(err,
                "%s: topics.k = %d is larger than the vocabulary (%d words after min_df / "
                "max_df / stop words)",
                elm_cfg_where(cfg, "topics.k", where, sizeof where), k, tf.n_terms);
        goto done;
    }
    // Held-out documents: a seeded random share.
    double hf = elm_cfg_float(cfg, "topics.holdout");
    uint64_t rng = run->seed ^ 0x243f6a8885a308d3ull;
    int ntr = 0, nho = 0;
    for (int i = 0; i < n; i++) {
        held[i] = elm_rng_unif(&rng) < hf;
    }
    for (int i = 0; i < n; i++)
        if (!held[i]) rows[ntr++] = i;
    if (ntr == 0 || elm_csr_take_rows(&X, rows, ntr, &Xtr, err)) {
        if (ntr == 0) elm_err(err, "[topics] no training documents left after the holdout");
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (held[i]) rows[nho++] = i;
    if (elm_csr_take_rows(&X, rows, nho, &Xho, err)) goto done;
    // Token id sequences for coherence (positions matter for the sliding windows).
    docs.n = n;
    docs.tok = calloc((size_t)n, sizeof *docs.tok);
    docs.len = calloc((size_t)n, sizeof *docs.len);
    if (!docs.tok || !docs.len || elm_tokens_init(&tok, err)) {
        elm_err(err, "out of memory");
        goto done;
    }
    for (int d = 0; d < n; d++) {
        int nt = elm_tokenize(&tok, c.text[d], fo.stop_words, tf.locale, err);
        if (nt < 0) goto done;
        docs.tok[d] = malloc((size_t)(nt ? nt : 1) * sizeof(int32_t));
        if (!docs.tok[d]) {
            elm_err(err, "out of memory");
            goto done;
        }
        for (int i = 0; i < nt; i++)
            docs.tok[d][i] = elm_termmap_find(&tf.vocab, tok.tok[i], strlen(tok.tok[i]));
        docs.len[d] = nt;
    }
    int n_sweep = (nk || na || nb) ? (nk ? nk : 1) * (na ? na : 1) * (nb ? nb : 1) : 0;
    ElmProgress p;
    elm_progress_start(&p, "topics lda", "passes", (uint64_t)lo.iterations * (1 + n_sweep),
                       run->quiet);
    double t0 = elm_now();
    if (fit_one(run, &lo, &Xtr, &Xho, &docs, top_n, &main_fit, &p, err)) {
        elm_err_prefix(err, "[topics]");
        goto done;
    }
    double t_fit = elm_now() - t0;
    int tn = top_n < tf.n_terms ? top_n : tf.n_terms;
    cJSON *jd = cJSON_AddObjectToObject(out, "data");
    int n_real = 0;
    for (int i = 0; i < n; i++) n_real += c.label[i] == 1;
    cJSON_AddNumberToObject(jd, "documents", n);
    cJSON_AddNumberToObject(jd, "real", n_real);
    cJSON_AddNumberToObject(jd, "generated", n - n_real);
    cJSON_AddNumberToObject(jd, "vocabulary", tf.n_terms);
    cJSON_AddNumberToObject(jd, "train_documents", ntr);
    cJSON_AddNumberToObject(jd, "heldout_documents", nho);
    cJSON *jl = cJSON_AddObjectToObject(out, "lda");
    cJSON_AddStringToObject(jl, "method", "batch variational Bayes");
    cJSON_AddNumberToObject(jl, "k", k);
    cJSON_AddNumberToObject(jl, "alpha", main_fit.lda.alpha);
    cJSON_AddNumberToObject(jl, "beta", main_fit.lda.beta);
    cJSON_AddNumberToObject(jl, "iterations", lo.iterations);
    cJSON_AddNumberToObject(jl, "seconds", t_fit);
    if (isnan(main_fit.perplexity))
        cJSON_AddNullToObject(jl, "heldout_perplexity");
    else
        cJSON_AddNumberToObject(jl, "heldout_perplexity", main_fit.perplexity);
    cJSON_AddNumberToObject(jl, "coherence_umass", mean(main_fit.umass, k));
    cJSON_AddNumberToObject(jl, "coherence_npmi", mean(main_fit.npmi, k));
    cJSON_AddNumberToObject(jl, "coherence_c_v", mean(main_fit.cv, k));
    // Topic shares: mean normalised doc-topic weights per source.
    gamma = malloc((size_t)n * k * sizeof *gamma);
    if (!gamma || elm_lda_transform(&main_fit.lda, &X, run->seed + 29, run->threads, gamma, err)) {
        if (!gamma) elm_err(err, "out of memory");
        goto done;
    }
    double share[2][1024] = {{0}};
    int cnt[2] = {0, 0};
    for (int d = 0; d < n; d++) {
        double *g = gamma + (size_t)d * k, s = 0;
        for (int t = 0; t < k; t++) s += g[t];
        int side = c.label[d] == 1;
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
        for (int v = 0; v < tf.n_terms; v++) tot += main_fit.lda.lambda[(size_t)t * tf.n_terms + v];
        for (int i = 0; i < tn; i++) {
            int id = main_fit.top[(size_t)t * tn + i];
            cJSON_AddItemToArray(w, cJSON_CreateString(elm_textfeat_term(&tf, id)));
            cJSON_AddItemToArray(
                wt, cJSON_CreateNumber(main_fit.lda.lambda[(size_t)t * tf.n_terms + id] / tot));
        }
        cJSON_AddNumberToObject(e, "umass", main_fit.umass[t]);
        cJSON_AddNumberToObject(e, "npmi", main_fit.npmi[t]);
        cJSON_AddNumberToObject(e, "c_v", main_fit.cv[t]);
        if (t < 1024) {
            if (cnt[1]) cJSON_AddNumberToObject(e, "share_real", share[1][t] / cnt[1]);
            if (cnt[0]) cJSON_AddNumberToObject(e, "share_generated", share[0][t] / cnt[0]);
        }
        cJSON_AddItemToArray(jt, e);
    }
    // The sweep: every combination of the listed values (a missing list uses the main value).
    if (n_sweep) {
        cJSON *js = cJSON_AddArrayToObject(out, "sweep");
        for (int i = 0; i < n_sweep; i++) {
            ElmLdaOpts o = lo;
            int ib = nb ? i % nb : 0, ia = na ? (i / (nb ? nb : 1)) % na : 0;
            int ik = nk ? i / ((nb ? nb : 1) * (na ? na : 1)) : 0;
            if (nk) o.k = (int)sk[ik];
            if (na) o.alpha = sa[ia];
            if (nb) o.beta = sb[ib];
            if (o.k > tf.n_terms) {
                elm_err(err, "topics.sweep.k = %d is larger than the vocabulary (%d words)", o.k,
                        tf.n_terms);
                goto done;
            }
            Fit f;
            double ts = elm_now();
            if (fit_one(run, &o, &Xtr, &Xho, &docs, top_n, &f, &p, err)) {
                elm_err_prefix(err, "[topics] sweep");
                goto done;
            }
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "k", o.k);
            cJSON_AddNumberToObject(e, "alpha", f.lda.alpha);
            cJSON_AddNumberToObject(e, "beta", f.lda.beta);
            if (isnan(f.perplexity))
                cJSON_AddNullToObject(e, "heldout_perplexity");
            else
                cJSON_AddNumberToObject(e, "heldout_perplexity", f.perplexity);
            cJSON_AddNumberToObject(e, "coherence_umass", mean(f.umass, o.k));
            cJSON_AddNumberToObject(e, "coherence_npmi", mean(f.npmi, o.k));
            cJSON_AddNumberToObject(e, "coherence_c_v", mean(f.cv, o.k));
            cJSON_AddNumberToObject(e, "seconds", elm_now() - ts);
            cJSON_AddItemToArray(js, e);
            fit_free(&f);
        }
    }
    elm_progress_finish(&p);
    // Top words, real vs generated.
    if (elm_topwords(&tw, (const char *const *)c.text, c.label, n, fo.stop_words,
                     (int)elm_cfg_int(cfg, "topics.top_words"), err))
        goto done;
    cJSON *jw = cJSON_AddObjectToObject(out, "top_words");
    const char *side_name[2] = {"generated", "real"};
    for (int s = 1; s >= 0; s--) {
        if (tw.total[s] == 0) continue;
        cJSON *a = cJSON_AddArrayToObject(jw, side_name[s]);
        for (int i = 0; i < tw.n_top[s]; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "word", tw.top[s][i].word);
            cJSON_AddNumberToObject(e, "freq_real", tw.top[s][i].freq[1]);
            cJSON_AddNumberToObject(e, "freq_generated", tw.top[s][i].freq[0]);
            cJSON_AddItemToArray(a, e);
        }
        char key[64];
        snprintf(key, sizeof key, "only_%s", side_name[s]);
        cJSON *o = cJSON_AddArrayToObject(jw, key);
        for (int i = 0; i < tw.n_only[s]; i++)
            cJSON_AddItemToArray(o, cJSON_CreateString(tw.only[s][i].word));
    }
    cJSON_AddNumberToObject(out, "seconds", elm_now() - t_start);
    if (export_dir) {
        char pth[4096];
        if (elm_mkdirs(export_dir, err)) goto done;
#define NPY(name, dt, ptr, cntv, el)                                                               \
    do {                                                                                           \
        elm_path_join(pth, sizeof pth, export_dir, name);                                          \
        if (elm_npy_write(pth, dt, ptr, (size_t)(cntv), el, err)) goto done;                       \
    } while (0)
        NPY("indptr.npy", "<i8", X.indptr, n + 1, 8);
        NPY("indices.npy", "<i4", X.indices, X.nnz, 4);
        NPY("data.npy", "<f8", X.data, X.nnz, 8);
        NPY("heldout.npy", "<i4", held, n, 4);
        NPY("labels.npy", "<i4", c.label, n, 4);
        NPY("records.npy", "<i4", c.line, n, 4);
        NPY("lambda.npy", "<f8", main_fit.lda.lambda, (size_t)k * tf.n_terms, 8);
#undef NPY
        elm_path_join(pth, sizeof pth, export_dir, "vocab.txt");
        ElmAtomicFile af;
        if (elm_atomic_open(&af, pth, err)) goto done;
        for (int i = 0; i < tf.n_terms; i++) fprintf(af.f, "%s\n", elm_textfeat_term(&tf, i));
        if (elm_atomic_commit(&af, err)) goto done;
    }
    char dir[4096], path[4096];
    elm_path_join(dir, sizeof dir, run->dir, "topics");
    if (elm_mkdirs(dir, err)) goto done;
    // Every document's topic mixture (normalised doc-topic), in input order.
    elm_path_join(path, sizeof path, dir, "doc_topics.jsonl");
    ElmAtomicFile dt;
    if (elm_atomic_open(&dt, path, err)) goto done;
    for (int d = 0; d < n; d++) {
        const double *g = gamma + (size_t)d * k;
        double s = 0;
        for (int t = 0; t < k; t++) s += g[t];
        fprintf(dt.f, "{\"source\":\"%s\",\"line\":%d,\"topics\":[",
                c.label[d] ? "real" : "generated", c.line[d]);
        for (int t = 0; t < k; t++) fprintf(dt.f, "%s%.6g", t ? "," : "", g[t] / s);
        fprintf(dt.f, "]}\n");
    }
    if (elm_atomic_commit(&dt, err)) goto done;
    elm_path_join(path, sizeof path, dir, "topics.json");
    char *text = cJSON_Print(out);
    if (!text) {
        elm_err(err, "out of memory writing topics.json");
        goto done;
    }
    int wrc = elm_write_file_atomic(path, text, strlen(text), err);
    free(text);
    if (wrc) goto done;
    rc = 0;
done:
    cJSON_Delete(out);
    fit_free(&main_fit);
    elm_topwords_free(&tw);
    elm_tokens_free(&tok);
    if (docs.tok)
        for (int d = 0; d < n; d++) free(docs.tok[d]);
    free(docs.tok), free(docs.len);
    free(gamma), free(held), free(rows);
    elm_csr_free(&X), elm_csr_free(&Xtr), elm_csr_free(&Xho);
    elm_textfeat_free(&tf);
    elm_corpus_free(&c);
    return rc;
}

int elm_topics_run(ElmRun *run, ElmError *err) {
    return elm_topics_run_export(run, NULL, err);
}
