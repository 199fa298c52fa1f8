// naive_bayes.c — Naive Bayes on sparse rows.
//
// Multinomial: log P(x | c) = sum_j x_j log theta_cj with theta_cj = (N_cj + alpha) /
// (N_c + alpha F). Gaussian: the densities of all F features, including the zeros a sparse row
// does not store. Writing sum_j (x_j - mu_j)^2 / v_j = sum_j mu_j^2 / v_j + sum_{x_j != 0}
// (x_j^2 - 2 x_j mu_j) / v_j, the dense part is a per-class constant, so a row costs O(nnz)
// instead of O(F): the reason elm needs no dense copy of a 200,000-column TF-IDF matrix.
#include "naive_bayes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void elm_nb_free(ElmNaiveBayes *nb) {
    free(nb->class_log_prior);
    free(nb->w);
    free(nb->var);
    free(nb->gauss_const);
    free(nb->log_total);
    memset(nb, 0, sizeof *nb);
}

int elm_nb_fit(ElmNaiveBayes *nb, ElmNbKind kind, double smoothing, const ElmCsr *X, const int *y,
               int n_classes, int threads, ElmError *err) {
    (void)threads;
    memset(nb, 0, sizeof *nb);
    int C = n_classes, F = X->n_cols, n = X->n_rows;
    if (smoothing < 0)
        return elm_err(err, "%s must be >= 0", kind == ELM_NB_GAUSSIAN ? "var_smoothing" : "alpha");
    nb->kind = kind;
    nb->n_classes = C;
    nb->n_features = F;
    nb->class_log_prior = calloc((size_t)C, sizeof(double));
    nb->w = calloc((size_t)C * F, sizeof(double));
    double *count = calloc((size_t)C, sizeof(double));
    if (kind == ELM_NB_GAUSSIAN) {
        nb->var = calloc((size_t)C * F, sizeof(double));
        nb->gauss_const = calloc((size_t)C, sizeof(double));
    }
    if (!nb->class_log_prior || !nb->w || !count ||
        (kind == ELM_NB_GAUSSIAN && (!nb->var || !nb->gauss_const))) {
        free(count);
        elm_nb_free(nb);
        return elm_err(err, "out of memory for Naive Bayes (%d classes x %d features)", C, F);
    }
    for (int i = 0; i < n; i++) count[y[i]] += 1;
    for (int c = 0; c < C; c++) {
        if (count[c] == 0) {
            free(count);
            elm_nb_free(nb);
            return elm_err(err, "class %d has no training rows", c);
        }
        nb->class_log_prior[c] = log(count[c] / n);
    }
    // w[c][j] = sum of feature j over class c (N_cj); for Gaussian, then the mean.
    for (int i = 0; i < n; i++) {
        double *wc = nb->w + (size_t)y[i] * F;
        for (int64_t k = X->indptr[i]; k < X->indptr[i + 1]; k++) wc[X->indices[k]] += X->data[k];
    }
    if (kind == ELM_NB_MULTINOMIAL) {
        // w keeps the raw sums N_cj; log theta_cj = log(N_cj + alpha) - log(N_c + alpha F) is
        // taken only for the words a predicted row holds, so fitting costs O(nnz), not O(C F).
        nb->alpha = smoothing;
        nb->log_total = calloc((size_t)C, sizeof(double));
        if (!nb->log_total) {
            free(count);
            elm_nb_free(nb);
            return elm_err(err, "out of memory for Naive Bayes");
        }
        for (int i = 0; i < n; i++)
            for (int64_t k = X->indptr[i]; k < X->indptr[i + 1]; k++)
                nb->log_total[y[i]] += X->data[k];
        for (int c = 0; c < C; c++) nb->log_total[c] = log(nb->log_total[c] + smoothing * F);
        free(count);
        return 0;
    }
    // Gaussian: class means, then variances from the stored values plus the implicit zeros:
    // var = (sum_{nz} (x - mu)^2 + (n_c - nnz_c) mu^2) / n_c.
    for (int c = 0; c < C; c++)
        for (int j = 0; j < F; j++) nb->w[(size_t)c * F + j] /= count[c];
    double *nnz = calloc((size_t)C * F, sizeof(double));
    double *all_sum = calloc((size_t)F, sizeof(double)),
           *all_sq = calloc((size_t)F, sizeof(double));
    double *all_nnz = calloc((size_t)F, sizeof(double));
    if (!nnz || !all_sum || !all_sq || !all_nnz) {
        free(nnz), free(all_sum), free(all_sq), free(all_nnz), free(count);
        elm_nb_free(nb);
        return elm_err(err, "out of memory for Gaussian NB");
    }
    for (int i = 0; i < n; i++) {
        const double *mu = nb->w + (size_t)y[i] * F;
        double *vc = nb->var + (size_t)y[i] * F, *nc = nnz + (size_t)y[i] * F;
        for (int64_t k = X->indptr[i]; k < X->indptr[i + 1]; k++) {
            int j = X->indices[k];
            double d = X->data[k] - mu[j];
            vc[j] += d * d;
            nc[j] += 1;
            all_sum[j] += X->data[k];
        }
    }
    // epsilon = var_smoothing * the largest variance of any feature over all rows.
    for (int i = 0; i < n; i++)
        for (int64_t k = X->indptr[i]; k < X->indptr[i + 1]; k++) {
            int j = X->indices[k];
            double d = X->data[k] - all_sum[j] / n;
            all_sq[j] += d * d;
            all_nnz[j] += 1;
        }
    double max_var = 0;
    for (int j = 0; j < F; j++) {
        double mu = all_sum[j] / n;
        double v = (all_sq[j] + (n - all_nnz[j]) * mu * mu) / n;
        if (v > max_var) max_var = v;
    }
    nb->epsilon = smoothing * max_var;
    for (int c = 0; c < C; c++) {
        double k0 = 0;
        for (int j = 0; j < F; j++) {
            size_t cj = (size_t)c * F + j;
            double mu = nb->w[cj];
            double v = (nb->var[cj] + (count[c] - nnz[cj]) * mu * mu) / count[c] + nb->epsilon;
            nb->var[cj] = v;
            k0 += -0.5 * log(2.0 * M_PI * v) - 0.5 * mu * mu / v;
        }
        nb->gauss_const[c] = k0;
    }
    free(nnz), free(all_sum), free(all_sq), free(all_nnz), free(count);
    return 0;
}

void elm_nb_predict_proba(const ElmNaiveBayes *nb, const ElmCsr *X, double *proba, int threads) {
    int C = nb->n_classes, F = nb->n_features;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int i = 0; i < X->n_rows; i++) {
        double *p = proba + (size_t)i * C;
        for (int c = 0; c < C; c++) {
            const double *wc = nb->w + (size_t)c * F;
            double s = nb->class_log_prior[c];
            if (nb->kind == ELM_NB_MULTINOMIAL) {
                for (int64_t k = X->indptr[i]; k < X->indptr[i + 1]; k++)
                    s += X->data[k] * (log(wc[X->indices[k]] + nb->alpha) - nb->log_total[c]);
            } else {
                const double *vc = nb->var + (size_t)c * F;
                s += nb->gauss_const[c];
                for (int64_t k = X->indptr[i]; k < X->indptr[i + 1]; k++) {
                    int j = X->indices[k];
                    double x = X->data[k];
                    s -= 0.5 * (x * x - 2.0 * x * wc[j]) / vc[j];
                }
            }
            p[c] = s;
        }
        double m = p[0];
        for (int c = 1; c < C; c++)
            if (p[c] > m) m = p[c];
        double z = 0;
        for (int c = 0; c < C; c++) z += (p[c] = exp(p[c] - m));
        for (int c = 0; c < C; c++) p[c] /= z;
    }
}
