// metrics.h — classification metrics: accuracy, precision, recall, F1 (of the positive class),
// confusion matrix, ROC AUC. Used by validate.c and gridsearch.c.
#ifndef ELM_METRICS_H
#define ELM_METRICS_H

typedef struct ElmMetrics {
    double accuracy, precision, recall, f1, roc_auc;
    long long tp, fp, tn, fn; // positive = label 1 ("real")
} ElmMetrics;

// The predicted class of each row of proba (n, C): the first largest probability.
void elm_argmax_rows(const double *proba, int n, int C, int *pred);
// Binary metrics from true labels, predicted labels and P(label 1) (score may be NULL: no AUC).
void elm_metrics_binary(const int *y, const int *pred, const double *score, int n, ElmMetrics *m);
double elm_accuracy(const int *y, const int *pred, int n);
// ROC AUC of scores for y == 1 vs y == 0 (ties count half); NaN when a class is absent.
double elm_roc_auc(const int *y, const double *score, int n);

#endif
