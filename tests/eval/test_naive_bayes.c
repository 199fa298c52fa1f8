// test_naive_bayes.c — Multinomial NB's fast paths (feature-range threads, the feature-major
// count table, blocked elm_vlog logs, long rows split across buffer passes, the libm path for
// a subnormal alpha) against a plain reference written from the formula, on seeded random
// sparse data with 2, 3 and 5 classes and 1 to 3 threads; every probability is compared.
#include "elmtest.h"
#include "eval/naive_bayes.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static uint64_t rs = 977;
static double unif(void) {
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rs >> 11) * 0x1.0p-53;
}

static int cmp_int(const void *a, const void *b) {
    return *(const int *)a - *(const int *)b;
}

// n rows over F features; row lengths from 0 to ~40, and every 50th row `long_len` long.
static void make_data(ElmCsr *X, int *y, int n, int F, int C, int long_len) {
    int64_t cap = (int64_t)n * 41 + (int64_t)(n / 50 + 1) * long_len;
    elm_csr_alloc(X, n, F, cap, NULL);
    int *cols = malloc((size_t)(long_len > 41 ? long_len : 41) * sizeof *cols);
    int64_t k = 0;
    for (int i = 0; i < n; i++) {
        y[i] = i < C ? i : (int)(unif() * C);
        int want = i % 50 == 7 ? long_len : (int)(unif() * 41), m = 0;
        if (want > F / 2) want = F / 2;
        while (m < want) { // distinct sorted columns, class-leaning
            int f = unif() < 0.3 ? (y[i] * 7 + (int)(unif() * 7)) % F : (int)(unif() * F);
            int dup = 0;
            for (int q = 0; q < m && !dup; q++) dup = cols[q] == f;
            if (!dup) cols[m++] = f;
        }
        qsort(cols, (size_t)m, sizeof *cols, cmp_int);
        for (int q = 0; q < m; q++) X->indices[k] = cols[q], X->data[k++] = 0.05 + unif();
        X->indptr[i + 1] = k;
    }
    X->nnz = k;
    free(cols);
}

// The textbook formula, one class and one row at a time.
static void reference(const ElmCsr *Xtr, const int *y, const ElmCsr *Xte, int C, double alpha,
                      double *proba) {
    int F = Xtr->n_cols;
    double *N = calloc((size_t)C * F, sizeof *N), *Nc = calloc((size_t)C, sizeof *Nc);
    double *prior = calloc((size_t)C, sizeof *prior);
    for (int i = 0; i < Xtr->n_rows; i++) {
        prior[y[i]] += 1;
        for (int64_t k = Xtr->indptr[i]; k < Xtr->indptr[i + 1]; k++) {
            N[(size_t)y[i] * F + Xtr->indices[k]] += Xtr->data[k];
            Nc[y[i]] += Xtr->data[k];
        }
    }
    for (int i = 0; i < Xte->n_rows; i++) {
        double *p = proba + (size_t)i * C, mx = -INFINITY, z = 0;
        for (int c = 0; c < C; c++) {
            double s = log(prior[c] / Xtr->n_rows);
            for (int64_t k = Xte->indptr[i]; k < Xte->indptr[i + 1]; k++)
                s += Xte->data[k] *
                     (log(N[(size_t)c * F + Xte->indices[k]] + alpha) - log(Nc[c] + alpha * F));
            p[c] = s;
            if (s > mx) mx = s;
        }
        for (int c = 0; c < C; c++) z += (p[c] = exp(p[c] - mx));
        for (int c = 0; c < C; c++) p[c] /= z;
    }
    free(N), free(Nc), free(prior);
}

int main(void) {
    const int classes[] = {2, 3, 5};
    const double alphas[] = {1.0, 0.01, 1e-310};
    for (int ci = 0; ci < 3; ci++)
        for (int ai = 0; ai < 3; ai++) {
            int C = classes[ci], F = 12000 + 1000 * ci, ntr = 900, nte = 400;
            ElmCsr Xtr, Xte;
            int *ytr = malloc(ntr * sizeof *ytr), *yte = malloc(nte * sizeof *yte);
            make_data(&Xtr, ytr, ntr, F, C, 2500);
            make_data(&Xte, yte, nte, F, C, 5000); // longer than one buffer pass
            double *want = malloc((size_t)nte * C * sizeof *want);
            double *got = malloc((size_t)nte * C * sizeof *got);
            reference(&Xtr, ytr, &Xte, C, alphas[ai], want);
            for (int threads = 1; threads <= 3; threads++) {
                ElmNaiveBayes nb;
                ElmError err;
                int rc =
                    elm_nb_fit(&nb, ELM_NB_MULTINOMIAL, alphas[ai], &Xtr, ytr, C, threads, &err);
                CHECK(rc == 0, "fit failed: %s", err.msg);
                if (rc) continue;
                elm_nb_predict_proba(&nb, &Xte, got, threads);
                double worst = 0;
                for (int i = 0; i < nte * C; i++) {
                    double d = fabs(got[i] - want[i]);
                    if (!(d <= worst)) worst = d;
                }
                CHECK(worst <= 1e-12, "C=%d alpha=%g threads=%d: max |p - reference| = %.3g", C,
                      alphas[ai], threads, worst);
                elm_nb_free(&nb);
            }
            free(want), free(got), free(ytr), free(yte);
            elm_csr_free(&Xtr), elm_csr_free(&Xte);
        }
    // A class with no rows is an error, not a NaN.
    ElmCsr X;
    int y[60];
    make_data(&X, y, 60, 100, 2, 10);
    for (int i = 0; i < 60; i++) y[i] = 0;
    ElmNaiveBayes nb;
    ElmError err;
    CHECK(elm_nb_fit(&nb, ELM_NB_MULTINOMIAL, 1.0, &X, y, 2, 2, &err) != 0 &&
              strstr(err.msg, "class 1"),
          "a class without rows was accepted");
    elm_csr_free(&X);
    ELM_TEST_DONE();
}
