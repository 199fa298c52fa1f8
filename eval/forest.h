// forest.h — random forest classifier on sparse CSR features (scikit-learn's
// RandomForestClassifier semantics: gini/entropy, max_depth, min_samples_split/leaf,
// max_features, bootstrap, OOB score, impurity importances, averaged probabilities).
// Used by validate.c and gridsearch.c. Labels are 0..n_classes-1.
#ifndef ELM_FOREST_H
#define ELM_FOREST_H

#include "engine/base/dist.h"
#include "eval/sparse.h"

#include <stdint.h>

#define ELM_FOREST_MAX_CLASSES 32

typedef enum { ELM_CRIT_GINI, ELM_CRIT_ENTROPY } ElmCriterion;
typedef enum { ELM_MAXF_SQRT, ELM_MAXF_LOG2, ELM_MAXF_FRACTION, ELM_MAXF_ALL } ElmMaxFeatKind;

typedef struct ElmForestOpts {
    int n_estimators;        // 100
    ElmCriterion criterion;  // gini
    int max_depth;           // 0 = grow until pure or limited by the sample counts
    int min_samples_split;   // 2
    int min_samples_leaf;    // 1
    ElmMaxFeatKind max_feat; // sqrt
    double max_feat_frac;    // for ELM_MAXF_FRACTION, in (0, 1]
    int bootstrap;           // 1
    int oob_score;           // 0
    uint64_t seed;
    int threads;
} ElmForestOpts;

typedef struct ElmTreeNode {
    int32_t feature; // -1 for a leaf
    int32_t left, right;
    int32_t depth;
    int32_t n_samples; // distinct training rows reaching the node
    double threshold;  // x[feature] <= threshold goes left
    double weighted_n; // bootstrap-weighted rows
    double impurity;
} ElmTreeNode;

typedef struct ElmTree {
    ElmTreeNode *nodes;
    float *value; // (n_nodes, C) class fractions at each node (every node, for depth cuts)
    int n_nodes, cap;
    int32_t *imp_feat; // (n_imp) features this tree split on
    double *imp_val;   // (n_imp) their share of the tree's impurity decrease
    int n_imp;
} ElmTree;

typedef struct ElmForest {
    ElmForestOpts opts;
    int n_classes, n_features;
    ElmTree *trees;
    double *importances; // (F) normalised impurity decrease
    double oob_score;    // NaN unless opts.oob_score
} ElmForest;

void elm_forest_defaults(ElmForestOpts *o);
int elm_forest_check(const ElmForestOpts *o, ElmError *err);
// Fits on X (CSR, n x F) with labels y. progress may be NULL (then nothing is reported).
struct ElmProgress;
int elm_forest_fit(ElmForest *f, const ElmForestOpts *o, const ElmCsr *X, const int *y,
                   int n_classes, struct ElmProgress *progress, ElmError *err);
// The same forest with its trees grown over the ranks of dist (tree t on rank t mod size, then
// every tree on every rank); every rank calls it with the same inputs. progress counts this
// rank's trees. A NULL dist is elm_forest_fit.
int elm_forest_fit_dist(ElmForest *f, const ElmForestOpts *o, const ElmCsr *X, const int *y,
                        int n_classes, ElmDist *dist, struct ElmProgress *progress, ElmError *err);
// proba (n_rows, C), averaged over the first n_trees trees (0 = all), each cut at depth
// max_depth (0 = no cut): a cut tree is exactly the tree grown with that max_depth, because
// every node draws its features from a seed that depends only on its path from the root.
void elm_forest_predict_proba(const ElmForest *f, const ElmCsr *X, int n_trees, int max_depth,
                              double *proba);
void elm_forest_free(ElmForest *f);
// Number of features the split search samples per node for F features.
int elm_forest_max_features(const ElmForestOpts *o, int F);

#endif
