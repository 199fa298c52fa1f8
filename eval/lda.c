// lda.c — batch variational Bayes for LDA.
//
// E-step, per document d with word counts n_dw: iterate
//   gamma_dk = alpha + exp(E[log theta_dk]) sum_w n_dw exp(E[log beta_kw]) / phinorm_dw,
//   phinorm_dw = sum_k exp(E[log theta_dk]) exp(E[log beta_kw]),
// until the mean change of gamma_d is below doc_tol; it adds exp(E[log theta_dk]) n_dw /
// phinorm_dw to the sufficient statistics. M-step: lambda_kw = beta + exp(E[log beta_kw])
// sstats_kw. Documents are independent in the E-step, so threads split them and sum their
// statistics.
#include "eval/lda.h"
#include "engine/base/rng.h"
#include "engine/base/progress.h"

#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>

void elm_lda_defaults(ElmLdaOpts *o) {
    memset(o, 0, sizeof *o);
    o->k = 10;
    o->iterations = 10;
    o->max_doc_iter = 100;
    o->doc_tol = 1e-3;
    o->threads = 1;
}

void elm_lda_free(ElmLda *lda) {
    free(lda->lambda);
    free(lda->exp_elog_beta);
    memset(lda, 0, sizeof *lda);
}

// psi(x) for x > 0: recurrence up to x >= 6, then the asymptotic series.
static double digamma(double x) {
    double r = 0;
    while (x < 6) r -= 1 / x, x += 1;
    double f = 1 / (x * x);
    return r + log(x) - 0.5 / x -
           f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

static double lgam(double x) {
    int sign;
    return lgamma_r(x, &sign);
}

static double rng_unif(uint64_t *s) {
    return ((elm_rng_next(s) >> 11) + 0.5) * 0x1.0p-53;
}

// Gamma(shape, 1) for shape >= 1 (Marsaglia & Tsang 2000).
static double rng_gamma(uint64_t *s, double shape) {
    double d = shape - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double x, v;
        do {
            // Box-Muller normal
            x = sqrt(-2 * log(rng_unif(s))) * cos(2 * M_PI * rng_unif(s));
            v = 1 + c * x;
        } while (v <= 0);
        v = v * v * v;
        double u = rng_unif(s);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
    }
}

// exp(E[log beta]) row by row: exp(psi(lambda_kw) - psi(sum_w lambda_kw)).
static void dirichlet_exp(const double *lambda, int k, int V, double *out) {
    for (int t = 0; t < k; t++) {
        const double *l = lambda + (size_t)t * V;
        double s = 0;
        for (int w = 0; w < V; w++) s += l[w];
        double ps = digamma(s);
        for (int w = 0; w < V; w++) out[(size_t)t * V + w] = exp(digamma(l[w]) - ps);
    }
}

typedef struct Scratch {
    double *ew;   // (k, n_d) exp(E[log beta]) of the document's words
    double *phin; // (n_d)
    double *edt, *last;
    int cap;
} Scratch;

static int scratch_fit(Scratch *s, int k, int n) {
    if (n <= s->cap) return 0;
    free(s->ew), free(s->phin);
    s->cap = n * 2;
    s->ew = malloc((size_t)k * s->cap * sizeof *s->ew);
    s->phin = malloc((size_t)s->cap * sizeof *s->phin);
    return s->ew && s->phin ? 0 : -1;
}

// The E-step of one document into gamma (k); adds its statistics to sstats when non-NULL.
static void doc_estep(const ElmLda *lda, const ElmLdaOpts *o, const int32_t *ids, const double *cnt,
                      int n, double *gamma, Scratch *s, double *sstats, uint64_t *rng) {
    int k = lda->k, V = lda->V;
    double *edt = s->edt, *last = s->last, *ew = s->ew, *phin = s->phin;
    // Fitting starts each document from Gamma(100, 1/100) draws; transforming new documents
    // starts from ones (scikit-learn does the same).
    for (int t = 0; t < k; t++) gamma[t] = rng ? rng_gamma(rng, 100.0) / 100.0 : 1.0;
    for (int t = 0; t < k; t++)
        for (int i = 0; i < n; i++)
            ew[(size_t)t * n + i] = lda->exp_elog_beta[(size_t)t * V + ids[i]];
    double gs = 0;
    for (int t = 0; t < k; t++) gs += gamma[t];
    double pg = digamma(gs);
    for (int t = 0; t < k; t++) edt[t] = exp(digamma(gamma[t]) - pg);
    for (int i = 0; i < n; i++) {
        double z = 1e-100;
        for (int t = 0; t < k; t++) z += edt[t] * ew[(size_t)t * n + i];
        phin[i] = z;
    }
    for (int it = 0; it < o->max_doc_iter; it++) {
        double change = 0;
        gs = 0;
        for (int t = 0; t < k; t++) {
            last[t] = gamma[t];
            double acc = 0;
            const double *e = ew + (size_t)t * n;
            for (int i = 0; i < n; i++) acc += cnt[i] / phin[i] * e[i];
            gamma[t] = lda->alpha + edt[t] * acc;
            gs += gamma[t];
        }
        pg = digamma(gs);
        for (int t = 0; t < k; t++) {
            edt[t] = exp(digamma(gamma[t]) - pg);
            change += fabs(gamma[t] - last[t]);
        }
        for (int i = 0; i < n; i++) {
            double z = 1e-100;
            for (int t = 0; t < k; t++) z += edt[t] * ew[(size_t)t * n + i];
            phin[i] = z;
        }
        if (change / k < o->doc_tol) break;
    }
    if (sstats)
        for (int t = 0; t < k; t++)
            for (int i = 0; i < n; i++) sstats[(size_t)t * V + ids[i]] += edt[t] * cnt[i] / phin[i];
}

// One E-step over all documents; gamma (n_docs, k) out, sstats (k, V) summed when non-NULL.
static int estep_all(const ElmLda *lda, const ElmLdaOpts *o, const ElmCsr *X, uint64_t seed,
                     double *gamma, double *sstats) {
    int k = lda->k, V = lda->V, failed = 0;
    if (sstats) memset(sstats, 0, (size_t)k * V * sizeof *sstats);
    int threads = o->threads < 1 ? 1 : o->threads;
    // Each thread sums a fixed contiguous block of documents; the blocks are added in thread
    // order, so a run is reproducible for a given thread count.
    double **locals = calloc((size_t)threads, sizeof *locals);
    if (!locals) return -1;
#pragma omp parallel num_threads(threads)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        Scratch s = {0};
        s.edt = malloc((size_t)k * sizeof *s.edt);
        s.last = malloc((size_t)k * sizeof *s.last);
        double *local = sstats ? calloc((size_t)k * V, sizeof *local) : NULL;
        locals[tid] = local;
        int ok = s.edt && s.last && (!sstats || local);
#pragma omp for schedule(static)
        for (int d = 0; d < X->n_rows; d++) {
            int n = (int)(X->indptr[d + 1] - X->indptr[d]);
            if (!ok || scratch_fit(&s, k, n)) {
                ok = 0;
                continue;
            }
            // A per-document stream, so gamma's start does not depend on the thread count.
            uint64_t rng = seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(d + 1));
            doc_estep(lda, o, X->indices + X->indptr[d], X->data + X->indptr[d], n,
                      gamma + (size_t)d * k, &s, local, sstats ? &rng : NULL);
        }
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
        free(s.edt), free(s.last), free(s.ew), free(s.phin);
    }
    for (int t = 0; t < threads; t++) {
        if (sstats && locals[t] && !failed)
            for (size_t i = 0; i < (size_t)k * V; i++) sstats[i] += locals[t][i];
        free(locals[t]);
    }
    free(locals);
    return failed ? -1 : 0;
}

int elm_lda_fit(ElmLda *lda, const ElmLdaOpts *o, const ElmCsr *X, struct ElmProgress *progress,
                ElmError *err) {
    memset(lda, 0, sizeof *lda);
    int k = o->k, V = X->n_cols;
    if (k < 1) return elm_err(err, "LDA: k must be >= 1");
    if (V < 1) return elm_err(err, "LDA: empty vocabulary");
    if (k > V)
        return elm_err(err, "LDA: k = %d topics is larger than the vocabulary (%d words)", k, V);
    if (X->nnz == 0) return elm_err(err, "LDA: the documents hold no vocabulary words");
    if (o->alpha < 0 || o->beta < 0) return elm_err(err, "LDA: alpha and beta must be >= 0");
    lda->k = k, lda->V = V;
    lda->alpha = o->alpha > 0 ? o->alpha : 1.0 / k;
    lda->beta = o->beta > 0 ? o->beta : 1.0 / k;
    lda->lambda = malloc((size_t)k * V * sizeof *lda->lambda);
    lda->exp_elog_beta = malloc((size_t)k * V * sizeof *lda->exp_elog_beta);
    double *sstats = malloc((size_t)k * V * sizeof *sstats);
    double *gamma = malloc((size_t)X->n_rows * k * sizeof *gamma);
    if (!lda->lambda || !lda->exp_elog_beta || !sstats || !gamma) {
        free(sstats), free(gamma);
        elm_lda_free(lda);
        return elm_err(err, "LDA: out of memory (%d topics x %d words)", k, V);
    }
    uint64_t rng = o->seed ^ 0xa0761d6478bd642full;
    for (size_t i = 0; i < (size_t)k * V; i++) lda->lambda[i] = rng_gamma(&rng, 100.0) / 100.0;
    dirichlet_exp(lda->lambda, k, V, lda->exp_elog_beta);
    for (int it = 0; it < o->iterations; it++) {
        if (estep_all(lda, o, X, o->seed + 7919u * (uint64_t)(it + 1), gamma, sstats)) {
            free(sstats), free(gamma);
            elm_lda_free(lda);
            return elm_err(err, "LDA: out of memory in the E-step");
        }
        for (size_t i = 0; i < (size_t)k * V; i++)
            lda->lambda[i] = lda->beta + sstats[i] * lda->exp_elog_beta[i];
        dirichlet_exp(lda->lambda, k, V, lda->exp_elog_beta);
        if (progress) elm_progress_update(progress, progress->done + 1);
    }
    free(sstats), free(gamma);
    return 0;
}

int elm_lda_from_lambda(ElmLda *lda, int k, int V, double alpha, double beta, const double *lambda,
                        ElmError *err) {
    memset(lda, 0, sizeof *lda);
    if (k < 1 || V < 1 || !(alpha > 0) || !(beta > 0))
        return elm_err(err, "LDA: k = %d, V = %d, alpha = %g, beta = %g is not a model", k, V,
                       alpha, beta);
    lda->k = k, lda->V = V, lda->alpha = alpha, lda->beta = beta;
    lda->lambda = malloc((size_t)k * V * sizeof *lda->lambda);
    lda->exp_elog_beta = malloc((size_t)k * V * sizeof *lda->exp_elog_beta);
    if (!lda->lambda || !lda->exp_elog_beta) {
        elm_lda_free(lda);
        return elm_err(err, "LDA: out of memory (%d topics x %d words)", k, V);
    }
    memcpy(lda->lambda, lambda, (size_t)k * V * sizeof *lambda);
    dirichlet_exp(lda->lambda, k, V, lda->exp_elog_beta);
    return 0;
}

int elm_lda_transform(const ElmLda *lda, const ElmCsr *X, uint64_t seed, int threads, double *gamma,
                      ElmError *err) {
    ElmLdaOpts o;
    elm_lda_defaults(&o);
    o.k = lda->k;
    o.threads = threads;
    if (X->n_cols != lda->V)
        return elm_err(err, "LDA: %d columns, model has %d", X->n_cols, lda->V);
    if (estep_all(lda, &o, X, seed, gamma, NULL)) return elm_err(err, "LDA: out of memory");
    return 0;
}

// E[log p(x | prior) - log q(x | distr)] summed over rows, as scikit-learn's _loglikelihood.
static double loglik(double prior, const double *distr, int rows, int size) {
    double s = 0;
    for (int r = 0; r < rows; r++) {
        const double *d = distr + (size_t)r * size;
        double sum = 0;
        for (int j = 0; j < size; j++) sum += d[j];
        double ps = digamma(sum);
        for (int j = 0; j < size; j++)
            s += (prior - d[j]) * (digamma(d[j]) - ps) + lgam(d[j]) - lgam(prior);
        s += lgam(prior * size) - lgam(sum);
    }
    return s;
}

double elm_lda_perplexity(const ElmLda *lda, const ElmCsr *X, const double *gamma, int threads) {
    int k = lda->k, V = lda->V;
    double *elogb = malloc((size_t)k * V * sizeof *elogb);
    if (!elogb) return NAN;
    for (size_t i = 0; i < (size_t)k * V; i++) elogb[i] = log(lda->exp_elog_beta[i]);
    double score = 0, words = 0;
#pragma omp parallel for num_threads(threads < 1 ? 1 : threads) reduction(+ : score, words)
    for (int d = 0; d < X->n_rows; d++) {
        const double *g = gamma + (size_t)d * k;
        double elogt[1024], sum = 0;
        double *et = k <= 1024 ? elogt : malloc((size_t)k * sizeof *et);
        for (int t = 0; t < k; t++) sum += g[t];
        double ps = digamma(sum);
        for (int t = 0; t < k; t++) et[t] = digamma(g[t]) - ps;
        for (int64_t j = X->indptr[d]; j < X->indptr[d + 1]; j++) {
            int w = X->indices[j];
            double m = -INFINITY;
            for (int t = 0; t < k; t++)
                if (et[t] + elogb[(size_t)t * V + w] > m) m = et[t] + elogb[(size_t)t * V + w];
            double z = 0;
            for (int t = 0; t < k; t++) z += exp(et[t] + elogb[(size_t)t * V + w] - m);
            score += X->data[j] * (m + log(z));
            words += X->data[j];
        }
        if (et != elogt) free(et);
    }
    free(elogb);
    score += loglik(lda->alpha, gamma, X->n_rows, k);
    score += loglik(lda->beta, lda->lambda, k, V);
    return exp(-score / words);
}

typedef struct Weighted {
    double w;
    int id;
} Weighted;

static int cmp_weighted(const void *a, const void *b) {
    const Weighted *x = a, *y = b;
    if (x->w != y->w) return x->w < y->w ? 1 : -1;
    return x->id - y->id;
}

void elm_lda_top_words(const ElmLda *lda, int t, int n, int *ids) {
    Weighted *w = malloc((size_t)lda->V * sizeof *w);
    if (!w) {
        for (int i = 0; i < n; i++) ids[i] = i < lda->V ? i : 0;
        return;
    }
    for (int v = 0; v < lda->V; v++) w[v].w = lda->lambda[(size_t)t * lda->V + v], w[v].id = v;
    qsort(w, (size_t)lda->V, sizeof *w, cmp_weighted);
    for (int i = 0; i < n; i++) ids[i] = w[i < lda->V ? i : lda->V - 1].id;
    free(w);
}

int elm_lda_dominant(const ElmLda *lda, const ElmCsr *counts, uint64_t seed, int threads, int *out,
                     ElmError *err) {
    int k = lda->k;
    double *g = elm_malloc(((size_t)counts->n_rows * k + 1) * sizeof *g, err);
    if (!g || elm_lda_transform(lda, counts, seed, threads, g, err)) {
        free(g);
        return -1;
    }
    for (int d = 0; d < counts->n_rows; d++) {
        int best = 0;
        for (int t = 1; t < k; t++)
            if (g[(size_t)d * k + t] > g[(size_t)d * k + best]) best = t;
        out[d] = counts->indptr[d + 1] > counts->indptr[d] ? best : -1;
    }
    free(g);
    return 0;
}
