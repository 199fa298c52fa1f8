// gridsearch.c — stratified folds and splits, grid parsing, and the shared-forest grid search.
#include "eval/gridsearch.h"
#include "engine/base/dist.h"
#include "engine/base/rng.h"
#include "eval/metrics.h"
#include "engine/base/progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The rows of class c, shuffled (Fisher-Yates) with the seed.
static int *class_rows(const int *y, int n, int c, uint64_t *rng, int *count) {
    int m = 0;
    for (int i = 0; i < n; i++) m += y[i] == c;
    int *r = malloc((size_t)(m ? m : 1) * sizeof *r);
    if (!r) return NULL;
    m = 0;
    for (int i = 0; i < n; i++)
        if (y[i] == c) r[m++] = i;
    for (int i = m - 1; i > 0; i--) {
        int j = (int)(elm_rng_next(rng) % (uint64_t)(i + 1)), t = r[i];
        r[i] = r[j], r[j] = t;
    }
    *count = m;
    return r;
}

int elm_stratified_folds(const int *y, int n, int C, int k, uint64_t seed, int *fold,
                         ElmError *err) {
    if (k < 2) return elm_err(err, "folds must be >= 2");
    uint64_t rng = seed ^ 0x6a09e667f3bcc909ull;
    int offset = 0; // continue the round robin across classes so fold sizes stay even
    for (int c = 0; c < C; c++) {
        int m;
        int *r = class_rows(y, n, c, &rng, &m);
        if (!r) return elm_err(err, "out of memory for folds");
        if (m > 0 && m < k) {
            free(r);
            return elm_err(err, "class %d has %d rows, fewer than folds = %d", c, m, k);
        }
        for (int i = 0; i < m; i++) fold[r[i]] = (offset + i) % k;
        offset = (offset + m) % k;
        free(r);
    }
    return 0;
}

int elm_stratified_split(const int *y, int n, int C, double test_fraction, uint64_t seed,
                         int *is_test, ElmError *err) {
    if (!(test_fraction > 0 && test_fraction < 1))
        return elm_err(err, "test_fraction must be in (0, 1)");
    uint64_t rng = seed ^ 0xbb67ae8584caa73bull;
    for (int i = 0; i < n; i++) is_test[i] = 0;
    for (int c = 0; c < C; c++) {
        int m;
        int *r = class_rows(y, n, c, &rng, &m);
        if (!r) return elm_err(err, "out of memory for the split");
        int t = (int)lround(test_fraction * m);
        if (m > 0 && (t < 1 || t >= m)) {
            free(r);
            return elm_err(err, "class %d has %d rows: too few for test_fraction = %g", c, m,
                           test_fraction);
        }
        for (int i = 0; i < t; i++) is_test[r[i]] = 1;
        free(r);
    }
    return 0;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int elm_stratified_subset(const int *y, int n, int C, int max_rows, uint64_t seed, int *keep,
                          int *n_keep, ElmError *err) {
    if (max_rows <= 0 || max_rows >= n) {
        for (int i = 0; i < n; i++) keep[i] = i;
        *n_keep = n;
        return 0;
    }
    uint64_t rng = seed ^ 0x3c6ef372fe94f82bull;
    int k = 0;
    for (int c = 0; c < C; c++) {
        int m;
        int *r = class_rows(y, n, c, &rng, &m);
        if (!r) return elm_err(err, "out of memory for a subset");
        int t = (int)lround((double)max_rows * m / n);
        for (int i = 0; i < t && i < m; i++) keep[k++] = r[i];
        free(r);
    }
    qsort(keep, (size_t)k, sizeof *keep, cmp_int);
    *n_keep = k;
    return 0;
}

// ---- the grid -----------------------------------------------------------------------------

static const char *const axis_names[] = {
    "bootstrap",        "criterion",         "max_depth",    "max_features",
    "min_samples_leaf", "min_samples_split", "n_estimators", NULL};

static int parse_value(const char *axis, const char *s, double *v, ElmError *err) {
    char *end;
    if (!strcmp(axis, "criterion")) {
        if (!strcmp(s, "gini")) return *v = 0, 0;
        if (!strcmp(s, "entropy")) return *v = 1, 0;
        return elm_err(err, "grid.criterion: \"%s\" is not gini or entropy", s);
    }
    if (!strcmp(axis, "bootstrap")) {
        if (!strcmp(s, "true")) return *v = 1, 0;
        if (!strcmp(s, "false")) return *v = 0, 0;
        return elm_err(err, "grid.bootstrap: \"%s\" is not true or false", s);
    }
    if (!strcmp(axis, "max_features")) {
        if (!strcmp(s, "sqrt")) return *v = -1, 0;
        if (!strcmp(s, "log2")) return *v = -2, 0;
        double f = strtod(s, &end);
        if (end == s || *end || !(f > 0 && f <= 1))
            return elm_err(
                err, "grid.max_features: \"%s\" is not sqrt, log2 or a fraction in (0, 1]", s);
        return *v = f, 0;
    }
    if (!strcmp(axis, "max_depth") && (!strcmp(s, "None") || !strcmp(s, "none"))) return *v = 0, 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end) return elm_err(err, "grid.%s: \"%s\" is not an integer", axis, s);
    long long lo = !strcmp(axis, "min_samples_split") ? 2 : 1;
    if (x < lo || x > 1000000)
        return elm_err(err, "grid.%s: %lld is out of range [%lld, 1000000]", axis, x, lo);
    return *v = (double)x, 0;
}

int elm_grid_add(ElmGrid *g, const char *name, const char *list, ElmError *err) {
    int known = 0;
    for (int i = 0; axis_names[i]; i++) known |= !strcmp(axis_names[i], name);
    if (!known) return elm_err(err, "grid.%s: not a random-forest parameter", name);
    if (g->n_axes == ELM_GRID_MAX_AXES) return elm_err(err, "too many grid axes");
    // Keep axes sorted by name, like scikit-learn's ParameterGrid.
    int at = g->n_axes;
    while (at > 0 && strcmp(g->axes[at - 1].name, name) > 0) at--;
    if (at > 0 && !strcmp(g->axes[at - 1].name, name))
        return elm_err(err, "grid.%s given twice", name);
    ElmGridAxis a = {0};
    snprintf(a.name, sizeof a.name, "%s", name);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t') tok++;
        char *e = tok + strlen(tok);
        while (e > tok && (e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
        if (!*tok) continue;
        if (a.n == ELM_GRID_MAX_VALUES) return elm_err(err, "grid.%s: too many values", name);
        if (parse_value(name, tok, &a.v[a.n], err)) return -1;
        a.n++;
    }
    if (a.n == 0) return elm_err(err, "grid.%s: no values", name);
    memmove(&g->axes[at + 1], &g->axes[at], (size_t)(g->n_axes - at) * sizeof a);
    g->axes[at] = a;
    g->n_axes++;
    return 0;
}

int elm_grid_size(const ElmGrid *g) {
    int n = 1;
    for (int i = 0; i < g->n_axes; i++) n *= g->axes[i].n;
    return n;
}

void elm_grid_params(const ElmGrid *g, int idx, const ElmForestOpts *base, ElmForestOpts *o) {
    *o = *base;
    for (int a = g->n_axes - 1; a >= 0; a--) {
        const ElmGridAxis *ax = &g->axes[a];
        double v = ax->v[idx % ax->n];
        idx /= ax->n;
        if (!strcmp(ax->name, "n_estimators"))
            o->n_estimators = (int)v;
        else if (!strcmp(ax->name, "criterion"))
            o->criterion = v ? ELM_CRIT_ENTROPY : ELM_CRIT_GINI;
        else if (!strcmp(ax->name, "max_depth"))
            o->max_depth = (int)v;
        else if (!strcmp(ax->name, "min_samples_split"))
            o->min_samples_split = (int)v;
        else if (!strcmp(ax->name, "min_samples_leaf"))
            o->min_samples_leaf = (int)v;
        else if (!strcmp(ax->name, "bootstrap"))
            o->bootstrap = (int)v;
        else if (!strcmp(ax->name, "max_features")) {
            o->max_feat = v == -1 ? ELM_MAXF_SQRT : v == -2 ? ELM_MAXF_LOG2 : ELM_MAXF_FRACTION;
            o->max_feat_frac = v > 0 ? v : 1.0;
        }
    }
}

void elm_forest_params_str(const ElmForestOpts *o, char *out, size_t cap) {
    char depth[32], mf[32];
    if (o->max_depth > 0)
        snprintf(depth, sizeof depth, "%d", o->max_depth);
    else
        snprintf(depth, sizeof depth, "None");
    if (o->max_feat == ELM_MAXF_SQRT)
        snprintf(mf, sizeof mf, "sqrt");
    else if (o->max_feat == ELM_MAXF_LOG2)
        snprintf(mf, sizeof mf, "log2");
    else if (o->max_feat == ELM_MAXF_ALL)
        snprintf(mf, sizeof mf, "all");
    else
        snprintf(mf, sizeof mf, "%g", o->max_feat_frac);
    snprintf(out, cap,
             "n_estimators=%d criterion=%s max_depth=%s min_samples_split=%d "
             "min_samples_leaf=%d max_features=%s bootstrap=%s",
             o->n_estimators, o->criterion == ELM_CRIT_GINI ? "gini" : "entropy", depth,
             o->min_samples_split, o->min_samples_leaf, mf, o->bootstrap ? "true" : "false");
}

void elm_grid_results_free(ElmGridResult *res, int n) {
    for (int i = 0; i < n; i++) free(res[i].fold_acc);
}

// Forests that share everything but n_estimators and max_depth share one fit. A node is a leaf
// when it has fewer than max(min_samples_split, 2 min_samples_leaf) rows, so that maximum is
// what identifies the split rule.
static int same_group(const ElmForestOpts *a, const ElmForestOpts *b) {
    int sa = a->min_samples_split > 2 * a->min_samples_leaf ? a->min_samples_split
                                                            : 2 * a->min_samples_leaf;
    int sb = b->min_samples_split > 2 * b->min_samples_leaf ? b->min_samples_split
                                                            : 2 * b->min_samples_leaf;
    return a->criterion == b->criterion && a->min_samples_leaf == b->min_samples_leaf && sa == sb &&
           a->max_feat == b->max_feat && a->max_feat_frac == b->max_feat_frac &&
           a->bootstrap == b->bootstrap;
}

// Every combination's options (checked) and fold_acc, and group[i]: the first combination of
// its shared fit.
static int grid_setup(const ElmGrid *g, const ElmForestOpts *base, int folds, ElmGridResult *res,
                      int *group, ElmError *err) {
    int G = elm_grid_size(g);
    for (int i = 0; i < G; i++) {
        elm_grid_params(g, i, base, &res[i].opts);
        if (elm_forest_check(&res[i].opts, err)) {
            char p[256];
            elm_forest_params_str(&res[i].opts, p, sizeof p);
            elm_err_prefix(err, "grid combination %s", p);
            return -1;
        }
        res[i].fold_acc = calloc((size_t)folds, sizeof(double));
        if (!res[i].fold_acc) return elm_err(err, "out of memory for the grid search");
        group[i] = i;
        for (int j = 0; j < i; j++)
            if (same_group(&res[i].opts, &res[j].opts)) {
                group[i] = group[j];
                break;
            }
    }
    return 0;
}

// The one fit of group gi: the most trees, the deepest depth and the smallest
// min_samples_split of its members.
static ElmForestOpts group_opts(const ElmGridResult *res, const int *group, int G, int gi) {
    ElmForestOpts o = res[gi].opts;
    for (int j = gi; j < G; j++) {
        if (group[j] != gi) continue;
        if (res[j].opts.n_estimators > o.n_estimators) o.n_estimators = res[j].opts.n_estimators;
        if (res[j].opts.max_depth == 0 || o.max_depth == 0)
            o.max_depth = 0;
        else if (res[j].opts.max_depth > o.max_depth)
            o.max_depth = res[j].opts.max_depth;
        if (res[j].opts.min_samples_split < o.min_samples_split)
            o.min_samples_split = res[j].opts.min_samples_split;
    }
    return o;
}

// owner[f * G + gi]: the rank that fits group gi on fold f (-1 for a non-leader gi). Costliest
// first onto the least loaded rank (cost: the fit's trees, unbounded depth counting double),
// ties to the lower unit and rank: the same assignment on every rank. Returns this rank's count
// of fits, -1 when out of memory.
static int assign_fits(const ElmGridResult *res, const int *group, int G, int folds, int rank,
                       int size, int *owner, ElmError *err) {
    int U = G * folds, mine = 0;
    double *load = elm_calloc((size_t)size, sizeof *load, err);
    double *cost = elm_calloc((size_t)G, sizeof *cost, err);
    if (!load || !cost) {
        free(load), free(cost);
        return -1;
    }
    for (int gi = 0; gi < G; gi++) {
        ElmForestOpts o = group_opts(res, group, G, gi);
        cost[gi] = group[gi] == gi ? (double)o.n_estimators * (o.max_depth == 0 ? 2 : 1) : -1;
    }
    for (int u = 0; u < U; u++) owner[u] = group[u % G] == u % G ? -2 : -1; // -2: to assign
    for (;;) {
        int pick = -1;
        for (int u = 0; u < U; u++)
            if (owner[u] == -2 && (pick < 0 || cost[u % G] > cost[pick % G])) pick = u;
        if (pick < 0) break;
        int r = 0;
        for (int k = 1; k < size; k++)
            if (load[k] < load[r]) r = k;
        owner[pick] = r;
        load[r] += cost[pick % G];
        mine += r == rank;
    }
    free(load), free(cost);
    return mine;
}

// Fold f's fits of this rank's groups: res[j].fold_acc[f] of their members.
static int fit_fold(const ElmCsr *X, const int *y, int C, const int *fold, int f,
                    ElmGridResult *res, const int *group, int G, const int *owner, int rank,
                    double *proba, int *step, struct ElmProgress *progress, ElmError *err) {
    int n = X->n_rows, ntr = 0, nte = 0, rc = -1;
    int *rows = malloc((size_t)n * sizeof *rows), *ytr = malloc((size_t)n * sizeof *ytr);
    int *yte = malloc((size_t)n * sizeof *yte), *pred = malloc((size_t)n * sizeof *pred);
    ElmCsr Xtr = {0}, Xte = {0};
    if (!rows || !ytr || !yte || !pred) {
        elm_err(err, "out of memory for the grid search");
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (fold[i] != f) rows[ntr] = i, ytr[ntr++] = y[i];
    if (elm_csr_take_rows(X, rows, ntr, &Xtr, err)) goto done;
    for (int i = 0; i < n; i++)
        if (fold[i] == f) rows[nte] = i, yte[nte++] = y[i];
    if (elm_csr_take_rows(X, rows, nte, &Xte, err)) goto done;
    for (int gi = 0; gi < G; gi++) {
        if (owner[f * G + gi] != rank) continue;
        ElmForestOpts o = group_opts(res, group, G, gi);
        ElmForest forest;
        if (elm_forest_fit(&forest, &o, &Xtr, ytr, C, NULL, err)) goto done;
        for (int j = gi; j < G; j++) {
            if (group[j] != gi) continue;
            elm_forest_predict_proba(&forest, &Xte, res[j].opts.n_estimators, res[j].opts.max_depth,
                                     proba);
            elm_argmax_rows(proba, nte, C, pred);
            res[j].fold_acc[f] = elm_accuracy(yte, pred, nte);
        }
        elm_forest_free(&forest);
        if (progress) elm_progress_update(progress, (uint64_t)++ * step);
    }
    rc = 0;
done:
    elm_csr_free(&Xtr), elm_csr_free(&Xte);
    free(rows), free(ytr), free(yte), free(pred);
    return rc;
}

// Every rank's fold accuracies onto every rank: each was computed on one rank and is 0 on the
// others, so the sum is exactly it.
static int share_accuracies(ElmGridResult *res, int G, int folds, ElmDist *dist, ElmError *err) {
    double *acc = elm_malloc((size_t)G * folds * sizeof *acc, err);
    if (elm_dist_agree(dist, acc ? 0 : -1, err)) {
        free(acc);
        return -1;
    }
    for (int i = 0; i < G; i++)
        memcpy(acc + (size_t)i * folds, res[i].fold_acc, folds * sizeof *acc);
    int rc = elm_dist_sum_f64(dist, acc, (size_t)G * folds, err);
    for (int i = 0; rc == 0 && i < G; i++)
        memcpy(res[i].fold_acc, acc + (size_t)i * folds, folds * sizeof *acc);
    free(acc);
    return rc;
}

// Mean and std of the fold accuracies, the best combination and each one's rank.
static void grid_rank(ElmGridResult *res, int G, int folds, int *best) {
    *best = 0;
    for (int i = 0; i < G; i++) {
        double s = 0, ss = 0;
        for (int f = 0; f < folds; f++) s += res[i].fold_acc[f];
        res[i].mean = s / folds;
        for (int f = 0; f < folds; f++) ss += pow(res[i].fold_acc[f] - res[i].mean, 2);
        res[i].std = sqrt(ss / folds);
        if (res[i].mean > res[*best].mean) *best = i;
    }
    for (int i = 0; i < G; i++) {
        res[i].rank = 1;
        for (int j = 0; j < G; j++) res[i].rank += res[j].mean > res[i].mean;
    }
}

int elm_grid_search(const ElmGrid *g, const ElmForestOpts *base, const ElmCsr *X, const int *y,
                    int C, int folds, uint64_t seed, ElmGridResult *res, int *best,
                    struct ElmProgress *progress, ElmError *err) {
    return elm_grid_search_dist(g, base, X, y, C, folds, seed, NULL, res, best, progress, err);
}

int elm_grid_search_dist(const ElmGrid *g, const ElmForestOpts *base, const ElmCsr *X, const int *y,
                         int C, int folds, uint64_t seed, ElmDist *dist, ElmGridResult *res,
                         int *best, struct ElmProgress *progress, ElmError *err) {
    int G = elm_grid_size(g), n = X->n_rows, rc = -1, step = 0;
    int rank = elm_dist_rank(dist), size = elm_dist_size(dist);
    int *fold = malloc((size_t)n * sizeof *fold), *group = malloc((size_t)G * sizeof *group);
    int *owner = malloc((size_t)G * folds * sizeof *owner);
    double *proba = malloc((size_t)n * C * sizeof *proba);
    memset(res, 0, (size_t)G * sizeof *res);
    if (!fold || !group || !owner || !proba) {
        elm_err(err, "out of memory for the grid search");
    } else if (grid_setup(g, base, folds, res, group, err) == 0 &&
               elm_stratified_folds(y, n, C, folds, seed, fold, err) == 0) {
        int mine = assign_fits(res, group, G, folds, rank, size, owner, err);
        if (progress && mine >= 0) progress->total = (uint64_t)mine;
        rc = mine < 0 ? -1 : 0;
        for (int f = 0; rc == 0 && f < folds; f++)
            rc =
                fit_fold(X, y, C, fold, f, res, group, G, owner, rank, proba, &step, progress, err);
    }
    if (size > 1 && (elm_dist_agree(dist, rc, err) || share_accuracies(res, G, folds, dist, err)))
        rc = -1;
    if (rc == 0) grid_rank(res, G, folds, best);
    if (rc) elm_grid_results_free(res, G);
    free(fold), free(group), free(owner), free(proba);
    return rc;
}
