// metrics.c — accuracy, precision/recall/F1, confusion counts and ROC AUC (Mann-Whitney U).
#include "eval/metrics.h"

#include <math.h>
#include <stdlib.h>

void elm_argmax_rows(const double *proba, int n, int C, int *pred) {
    for (int i = 0; i < n; i++) {
        const double *p = proba + (size_t)i * C;
        int best = 0;
        for (int c = 1; c < C; c++)
            if (p[c] > p[best]) best = c;
        pred[i] = best;
    }
}

double elm_accuracy(const int *y, const int *pred, int n) {
    long long ok = 0;
    for (int i = 0; i < n; i++) ok += y[i] == pred[i];
    return n ? (double)ok / n : NAN;
}

typedef struct Scored {
    double s;
    int y;
} Scored;

static int cmp_scored(const void *a, const void *b) {
    double x = ((const Scored *)a)->s, y = ((const Scored *)b)->s;
    return (x > y) - (x < y);
}

// AUC = (sum of the positives' ranks - P(P+1)/2) / (P N), ranks averaged over ties.
double elm_roc_auc(const int *y, const double *score, int n) {
    Scored *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v) return NAN;
    long long pos = 0;
    for (int i = 0; i < n; i++) v[i].s = score[i], v[i].y = y[i] == 1, pos += y[i] == 1;
    long long neg = n - pos;
    if (pos == 0 || neg == 0) {
        free(v);
        return NAN;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_scored);
    double rank_sum = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && v[j].s == v[i].s) j++;
        double r = (i + 1 + j) / 2.0; // mean of ranks i+1..j
        for (int k = i; k < j; k++)
            if (v[k].y) rank_sum += r;
        i = j;
    }
    free(v);
    return (rank_sum - (double)pos * (pos + 1) / 2.0) / ((double)pos * neg);
}

void elm_metrics_binary(const int *y, const int *pred, const double *score, int n, ElmMetrics *m) {
    m->tp = m->fp = m->tn = m->fn = 0;
    for (int i = 0; i < n; i++) {
        if (y[i] == 1)
            pred[i] == 1 ? m->tp++ : m->fn++;
        else
            pred[i] == 1 ? m->fp++ : m->tn++;
    }
    m->accuracy = n ? (double)(m->tp + m->tn) / n : NAN;
    m->precision = m->tp + m->fp ? (double)m->tp / (m->tp + m->fp) : 0;
    m->recall = m->tp + m->fn ? (double)m->tp / (m->tp + m->fn) : 0;
    m->f1 = m->precision + m->recall > 0 ? 2 * m->precision * m->recall / (m->precision + m->recall)
                                         : 0;
    m->roc_auc = score ? elm_roc_auc(y, score, n) : NAN;
}
