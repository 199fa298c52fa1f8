// naive_bayes.h — multinomial and Gaussian Naive Bayes with scikit-learn's semantics
// (MultinomialNB alpha; GaussianNB var_smoothing), fitted on sparse CSR features.
// Used by validate.c and gridsearch.c. Labels are 0..n_classes-1.
#ifndef ELM_NAIVE_BAYES_H
#define ELM_NAIVE_BAYES_H

#include "eval/sparse.h"

typedef enum { ELM_NB_MULTINOMIAL, ELM_NB_GAUSSIAN } ElmNbKind;

typedef struct ElmNaiveBayes {
    ElmNbKind kind;
    int n_classes, n_features;
    double *class_log_prior; // (C)
    double *count;           // (F, C) multinomial: summed feature values N_cj, class fastest
    double *w;               // (C, F) Gaussian: mean
    double alpha;            // multinomial smoothing
    double *log_total;       // (C) multinomial: log(N_c + alpha F)
    double *var;             // (C, F) Gaussian: variance + epsilon
    double *gauss_const;     // (C) Gaussian: -0.5 sum log(2 pi var) - 0.5 sum mean^2 / var
    double epsilon;          // Gaussian: var_smoothing * largest feature variance
} ElmNaiveBayes;

// alpha (multinomial, >= 0) or var_smoothing (Gaussian, >= 0) as `smoothing`.
int elm_nb_fit(ElmNaiveBayes *nb, ElmNbKind kind, double smoothing, const ElmCsr *X, const int *y,
               int n_classes, int threads, ElmError *err);
// proba (n_rows, C): posterior class probabilities.
void elm_nb_predict_proba(const ElmNaiveBayes *nb, const ElmCsr *X, double *proba, int threads);
void elm_nb_free(ElmNaiveBayes *nb);

#endif
