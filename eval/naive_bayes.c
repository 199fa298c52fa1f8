// naive_bayes.c — Naive Bayes on sparse rows.
//
// Multinomial: log P(x | c) = sum_j x_j log theta_cj with theta_cj = (N_cj + alpha) /
// (N_c + alpha F). Fitting keeps only the sums N_cj, feature-major so that one cache line holds
// every class of a feature (prediction gathers them with one miss), threads splitting the rows.
// The logs are taken at prediction, for the words a row holds, by the vectorised elm_vlog:
// O(nnz) work, not O(C F) as a table of log-probabilities would cost.
// Gaussian: the densities of all F features, including the zeros a sparse row does not store.
// Writing sum_j (x_j - mu_j)^2 / v_j = sum_j mu_j^2 / v_j + sum_{x_j != 0} (x_j^2 - 2 x_j
// mu_j) / v_j, the dense part is a per-class constant, so a row costs O(nnz) instead of O(F):
// the reason elm needs no dense copy of a 200,000-column TF-IDF matrix.
#include "eval/naive_bayes.h"
#include "engine/base/vlog.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void elm_nb_free(ElmNaiveBayes *nb) {
    free(nb->class_log_prior);
    free(nb->count);
    free(nb->w);
    free(nb->var);
    free(nb->gauss_const);
    free(nb->log_total);
    memset(nb, 0, sizeof *nb);
}

// First row r in [0, n] with indptr[r] >= v.
static int row_at(const int64_t *indptr, int n, int64_t v) {
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (indptr[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

// count (F, C) = the per-class sums N_cj; log_total[c] = log(N_c + alpha F). Threads take
// equal shares of the stored values (whole rows): thread 0 adds into count, the others into
// tables of their own; then each thread adds the tables up over its own range of count.
// Splitting by features instead measured slower: every thread must still read every value.
static void fit_multinomial(ElmNaiveBayes *nb, const ElmCsr *X, const int *y, int threads) {
    int C = nb->n_classes, F = nb->n_features, n = X->n_rows;
    size_t cells = (size_t)F * C;
    // A thread pays off above ~50,000 values, and each extra one costs a table of F x C.
    int T = threads > 1 ? threads : 1;
    while (T > 1 && (X->nnz < (int64_t)T * 50000 || cells * 8 * (size_t)(T - 1) > (256u << 20)))
        T--;
    double **tab = calloc((size_t)T, sizeof *tab), *part = calloc((size_t)T * C, sizeof *part);
    for (int t = 1; tab && t < T; t++)
        if (!(tab[t] = malloc(cells * sizeof(double)))) T = t; // fewer threads, not a failure
    int n_tab = tab ? T : 0;
    if (!tab || !part) T = 1;
    if (tab) tab[0] = nb->count;
#pragma omp parallel num_threads(T)
    {
#ifdef _OPENMP
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
        int t = 0, nt = 1;
#endif
        double *cnt = nt > 1 ? tab[t] : nb->count;
        const int64_t *ip = X->indptr;
        const int32_t *ix = X->indices;
        const double *xd = X->data;
        int i0 = row_at(ip, n, X->nnz * t / nt), i1 = row_at(ip, n, X->nnz * (t + 1) / nt);
        if (t == nt - 1) i1 = n;
        memset(cnt, 0, cells * sizeof *cnt);
        for (int i = i0; i < i1; i++) {
            double *cy = cnt + y[i];
            for (int64_t k = ip[i]; k < ip[i + 1]; k++) cy[(size_t)ix[k] * C] += xd[k];
        }
        // Sum the tables over this thread's cells, then N_c over them in 8 independent lanes;
        // when C divides 8, lane l of the contiguous run belongs to class l % C.
        size_t q0 = cells * t / nt, q1 = cells * (t + 1) / nt;
        q0 -= q0 % C, q1 = t == nt - 1 ? cells : q1 - q1 % C;
        if (nt > 1) {
#pragma omp barrier
            for (int u = 1; u < nt; u++)
                for (size_t q = q0; q < q1; q++) nb->count[q] += tab[u][q];
        }
        const double *all = nb->count;
        if (part && 8 % C == 0) {
            double lane[8] = {0};
            size_t q = q0;
            for (; q + 8 <= q1; q += 8)
                for (int l = 0; l < 8; l++) lane[l] += all[q + l];
            for (; q < q1; q++) lane[(q - q0) % 8] += all[q];
            for (int l = 0; l < 8; l++) part[(size_t)t * C + l % C] += lane[l];
        } else if (part) {
            for (size_t q = q0; q < q1; q++) part[(size_t)t * C + q % C] += all[q];
        }
    }
    for (int c = 0; c < C; c++) {
        double tot = 0;
        if (part)
            for (int t = 0; t < T; t++) tot += part[(size_t)t * C + c];
        else
            for (int j = 0; j < F; j++) tot += nb->count[(size_t)j * C + c];
        nb->log_total[c] = log(tot + nb->alpha * F);
    }
    for (int t = 1; t < n_tab; t++) free(tab[t]);
    free(tab), free(part);
}

int elm_nb_fit(ElmNaiveBayes *nb, ElmNbKind kind, double smoothing, const ElmCsr *X, const int *y,
               int n_classes, int threads, ElmError *err) {
    memset(nb, 0, sizeof *nb);
    int C = n_classes, F = X->n_cols, n = X->n_rows;
    if (smoothing < 0)
        return elm_err(err, "%s must be >= 0", kind == ELM_NB_GAUSSIAN ? "var_smoothing" : "alpha");
    nb->kind = kind;
    nb->n_classes = C;
    nb->n_features = F;
    nb->class_log_prior = calloc((size_t)C, sizeof(double));
    double *count = calloc((size_t)C, sizeof(double));
    if (kind == ELM_NB_MULTINOMIAL) {
        nb->count = malloc((size_t)C * F * sizeof(double));
        nb->log_total = calloc((size_t)C, sizeof(double));
    } else {
        nb->w = calloc((size_t)C * F, sizeof(double));
        nb->var = calloc((size_t)C * F, sizeof(double));
        nb->gauss_const = calloc((size_t)C, sizeof(double));
    }
    if (!nb->class_log_prior || !count ||
        (kind == ELM_NB_MULTINOMIAL && (!nb->count || !nb->log_total)) ||
        (kind == ELM_NB_GAUSSIAN && (!nb->w || !nb->var || !nb->gauss_const))) {
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
    if (kind == ELM_NB_MULTINOMIAL) {
        nb->alpha = smoothing;
        fit_multinomial(nb, X, y, threads);
        free(count);
        return 0;
    }
    // Gaussian: w[c][j] = the sum of feature j over class c, then the mean.
    for (int i = 0; i < n; i++) {
        double *wc = nb->w + (size_t)y[i] * F;
        for (int64_t k = X->indptr[i]; k < X->indptr[i + 1]; k++) wc[X->indices[k]] += X->data[k];
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

// Rows [i0, i1) of log scores (n, C) -> probabilities.
static void softmax_rows(double *p, int i0, int i1, int C) {
    for (int i = i0; i < i1 && C == 2; i++) { // one exp: the smaller share is e / (1 + e)
        double *r = p + (size_t)i * 2, d = r[0] - r[1], e = exp(-fabs(d)), big = 1 / (1 + e);
        r[d < 0] = big;
        r[d >= 0] = e * big;
    }
    for (int i = i0; i < i1 && C != 2; i++) {
        double *r = p + (size_t)i * C, m = r[0], z = 0;
        for (int c = 1; c < C; c++)
            if (r[c] > m) m = r[c];
        for (int c = 0; c < C; c++) z += (r[c] = exp(r[c] - m));
        for (int c = 0; c < C; c++) r[c] /= z;
    }
}

// Scores of rows [i0, i1): the values N_cj + alpha of as many whole rows as fit in `buf` are
// gathered (class fastest, as count is laid out), their logs taken in one elm_vlog call (long
// runs keep the vector loop busy), weighted by x and summed row by row. A row longer than the
// buffer is taken a buffer's worth at a time.
enum { NB_BUF = 4096 };

// Inlined with C a constant for two classes (validate's case) so the loops over a row's
// values vectorise; any other C takes the same code with C read at run time.
static inline __attribute__((always_inline)) void multinomial_rows_c(const ElmNaiveBayes *nb,
                                                                     const ElmCsr *X, int i0,
                                                                     int i1, double *score,
                                                                     double *buf, const int C) {
    const int64_t *ip = X->indptr;
    const int cap = (NB_BUF - 8) / C; // values of a row per pass
    const double *lt = nb->log_total;
    for (int i = i0; i < i1;) {
        int64_t base = ip[i];
        int j = i;
        while (j < i1 && ip[j + 1] - base <= cap) j++;
        int long_row = j == i;
        if (long_row) j = i + 1;
        double *sc = score + (size_t)i * C;
        for (int r = i; r < j; r++)
            for (int c = 0; c < C; c++) sc[(size_t)(r - i) * C + c] = nb->class_log_prior[c];
        for (int64_t k0 = base; k0 < ip[j]; k0 += cap) {
            int m = (int)(ip[j] - k0 < cap ? ip[j] - k0 : cap), total = m * C;
            for (int k = 0; k < m; k++) {
                const double *cj = nb->count + (size_t)X->indices[k0 + k] * C;
                for (int c = 0; c < C; c++) buf[k * C + c] = cj[c] + nb->alpha;
            }
            while (total % 8) buf[total++] = 1.0; // whole vectors: no scalar tail
            elm_vlog(buf, buf, total);
            const double *x = X->data + k0;
            for (int k = 0; k < m; k++) // x (log(N_cj + alpha) - log(N_c + alpha F))
                for (int c = 0; c < C; c++) buf[k * C + c] = x[k] * (buf[k * C + c] - lt[c]);
            if (long_row) {
                for (int k = 0; k < m; k++)
                    for (int c = 0; c < C; c++) sc[c] += buf[k * C + c];
                continue;
            }
            for (int r = i; r < j; r++) // whole rows: m covers rows i..j
                for (int64_t k = ip[r] - base; k < ip[r + 1] - base; k++)
                    for (int c = 0; c < C; c++) score[(size_t)r * C + c] += buf[k * C + c];
        }
        i = j;
    }
}

static void multinomial_rows(const ElmNaiveBayes *nb, const ElmCsr *X, int i0, int i1,
                             double *score, double *buf) {
    if (nb->n_classes == 2)
        multinomial_rows_c(nb, X, i0, i1, score, buf, 2);
    else
        multinomial_rows_c(nb, X, i0, i1, score, buf, nb->n_classes);
}

static void multinomial_scores(const ElmNaiveBayes *nb, const ElmCsr *X, double *score,
                               int threads) {
    int C = nb->n_classes, n = X->n_rows;
    // elm_vlog wants normal positive inputs: N_cj + alpha >= alpha >= DBL_MIN; else libm.
    int fast = nb->alpha >= DBL_MIN;
    int blocks = (n + 255) / 256;
#pragma omp parallel num_threads(threads)
    {
        double *buf = fast ? malloc(NB_BUF * sizeof *buf) : NULL;
#pragma omp for schedule(static)
        for (int b = 0; b < blocks; b++) {
            int i0 = b * 256, i1 = i0 + 256 < n ? i0 + 256 : n;
            if (buf)
                multinomial_rows(nb, X, i0, i1, score, buf);
            else
                for (int i = i0; i < i1; i++)
                    for (int c = 0; c < C; c++) {
                        double s = nb->class_log_prior[c];
                        for (int64_t k = X->indptr[i]; k < X->indptr[i + 1]; k++)
                            s += X->data[k] *
                                 (log(nb->count[(size_t)X->indices[k] * C + c] + nb->alpha) -
                                  nb->log_total[c]);
                        score[(size_t)i * C + c] = s;
                    }
            softmax_rows(score, i0, i1, C);
        }
        free(buf);
    }
}

void elm_nb_predict_proba(const ElmNaiveBayes *nb, const ElmCsr *X, double *proba, int threads) {
    int C = nb->n_classes, F = nb->n_features;
    if (nb->kind == ELM_NB_MULTINOMIAL) {
        multinomial_scores(nb, X, proba, threads);
        return;
    }
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int i = 0; i < X->n_rows; i++) {
        double *p = proba + (size_t)i * C;
        for (int c = 0; c < C; c++) {
            const double *wc = nb->w + (size_t)c * F, *vc = nb->var + (size_t)c * F;
            double s = nb->class_log_prior[c] + nb->gauss_const[c];
            for (int64_t k = X->indptr[i]; k < X->indptr[i + 1]; k++) {
                int j = X->indices[k];
                double x = X->data[k];
                s -= 0.5 * (x * x - 2.0 * x * wc[j]) / vc[j];
            }
            p[c] = s;
        }
        softmax_rows(proba, i, i + 1, C);
    }
}
