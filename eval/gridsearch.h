// gridsearch.h — stratified splits and k-fold CV, and the random-forest grid search over any
// grid written in the INI (`grid.n_estimators = 100,200,300` ...). Used by validate.c.
#ifndef ELM_GRIDSEARCH_H
#define ELM_GRIDSEARCH_H

#include "eval/forest.h"

#include <stddef.h>
#include <stdint.h>

struct ElmProgress;

// fold[i] in 0..k-1: each class shuffled with the seed and dealt round robin, so every fold
// holds each class in proportion. Fails when a class has fewer than k rows.
int elm_stratified_folds(const int *y, int n, int C, int k, uint64_t seed, int *fold,
                         ElmError *err);
// is_test[i] = 1 for round(test_fraction * n_c) random rows of each class c.
int elm_stratified_split(const int *y, int n, int C, double test_fraction, uint64_t seed,
                         int *is_test, ElmError *err);
// keep[0..*n_keep): about max_rows rows, classes in proportion, ascending order.
int elm_stratified_subset(const int *y, int n, int C, int max_rows, uint64_t seed, int *keep,
                          int *n_keep, ElmError *err);

#define ELM_GRID_MAX_AXES 8
#define ELM_GRID_MAX_VALUES 32

typedef struct ElmGridAxis {
    char name[32]; // n_estimators, criterion, max_depth, min_samples_split, min_samples_leaf,
                   // max_features, bootstrap
    int n;
    double v[ELM_GRID_MAX_VALUES]; // criterion: 0 gini 1 entropy; max_depth 0 = None;
                                   // max_features: -1 sqrt, -2 log2, else a fraction
} ElmGridAxis;

typedef struct ElmGrid {
    ElmGridAxis axes[ELM_GRID_MAX_AXES];
    int n_axes;
} ElmGrid;

// Adds axis `name` from a comma-separated list; values are checked (range, spelling).
int elm_grid_add(ElmGrid *g, const char *name, const char *list, ElmError *err);
int elm_grid_size(const ElmGrid *g);
// Combination i, in scikit-learn's ParameterGrid order (axes by name, last name fastest),
// applied on top of base.
void elm_grid_params(const ElmGrid *g, int i, const ElmForestOpts *base, ElmForestOpts *out);
// "criterion=entropy max_depth=None ..." for messages and JSON.
void elm_forest_params_str(const ElmForestOpts *o, char *out, size_t cap);

typedef struct ElmGridResult {
    ElmForestOpts opts;
    double *fold_acc; // (folds)
    double mean, std;
    int rank;
} ElmGridResult;

// Stratified `folds`-fold CV of every combination on (X, y). Forests that differ only in
// n_estimators or max_depth are grown once (largest n_estimators, deepest max_depth) and
// evaluated by tree prefix and depth cut, which gives exactly the forests grown separately.
// res has elm_grid_size(g) entries (fold_acc allocated here); *best = the first with the
// highest mean accuracy.
int elm_grid_search(const ElmGrid *g, const ElmForestOpts *base, const ElmCsr *X, const int *y,
                    int C, int folds, uint64_t seed, ElmGridResult *res, int *best,
                    struct ElmProgress *progress, ElmError *err);
// The same search with its fits spread over the ranks of dist (each (fold, shared fit) on one
// rank, a fixed assignment) and the results on every rank, identical to elm_grid_search's;
// every rank calls it with the same inputs. progress counts this rank's fits.
int elm_grid_search_dist(const ElmGrid *g, const ElmForestOpts *base, const ElmCsr *X, const int *y,
                         int C, int folds, uint64_t seed, ElmDist *dist, ElmGridResult *res,
                         int *best, struct ElmProgress *progress, ElmError *err);
void elm_grid_results_free(ElmGridResult *res, int n);

#endif
