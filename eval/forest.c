// forest.c — random forest on sparse features.
//
// Each tree is grown depth first like scikit-learn's BestSplitter. At a node scikit-learn draws
// features at random without replacement until it has drawn max_features of them and at least
// one was not constant in the node; only the non-constant ones are searched. On sparse text most
// features are absent (constant 0) in a node, so elm keeps, for the node, the set of features
// that occur in it ("present") and simulates the same draw: each draw is present with
// probability present_left / features_left, and a present draw picks one present feature
// uniformly. The present set of a child is counted from the smaller child's rows and subtracted
// from the parent's for the larger one, so building it costs O(nnz log n) per tree.
//
// Every node seeds its random draws from its path from the root, so a tree cut at depth d is
// the tree grown with max_depth = d (the grid search uses this), and the first k trees of a
// forest are the forest of k trees. A tree depends only on the seed and its index, so over MPI
// ranks each grows every size-th tree and the trees are then exchanged: the same forest.
#include "eval/forest.h"
#include "engine/base/buf.h"
#include "engine/base/dist.h"
#include "engine/base/rng.h"
#include "engine/base/progress.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FEATURE_THRESHOLD 1e-7

void elm_forest_defaults(ElmForestOpts *o) {
    memset(o, 0, sizeof *o);
    o->n_estimators = 100;
    o->criterion = ELM_CRIT_GINI;
    o->min_samples_split = 2;
    o->min_samples_leaf = 1;
    o->max_feat = ELM_MAXF_SQRT;
    o->max_feat_frac = 1.0;
    o->bootstrap = 1;
    o->seed = 0;
    o->threads = 1;
}

int elm_forest_check(const ElmForestOpts *o, ElmError *err) {
    if (o->n_estimators < 1) return elm_err(err, "n_estimators must be >= 1");
    if (o->max_depth < 0) return elm_err(err, "max_depth must be >= 0 (0 = none)");
    if (o->min_samples_split < 2) return elm_err(err, "min_samples_split must be >= 2");
    if (o->min_samples_leaf < 1) return elm_err(err, "min_samples_leaf must be >= 1");
    if (o->max_feat == ELM_MAXF_FRACTION && !(o->max_feat_frac > 0 && o->max_feat_frac <= 1))
        return elm_err(err, "max_features fraction must be in (0, 1]");
    if (o->oob_score && !o->bootstrap) return elm_err(err, "oob_score needs bootstrap = true");
    return 0;
}

int elm_forest_max_features(const ElmForestOpts *o, int F) {
    int m = F;
    if (o->max_feat == ELM_MAXF_SQRT)
        m = (int)sqrt((double)F);
    else if (o->max_feat == ELM_MAXF_LOG2)
        m = (int)log2((double)F);
    else if (o->max_feat == ELM_MAXF_FRACTION)
        m = (int)(o->max_feat_frac * F);
    return m < 1 ? 1 : m > F ? F : m;
}

// Random numbers: elm_rng (SplitMix64), seeded per tree and per node.

// ---- impurity ---------------------------------------------------------------------------

static double impurity(ElmCriterion crit, const double *wc, int C, double w) {
    if (w <= 0) return 0;
    double s = 0;
    if (crit == ELM_CRIT_GINI) {
        for (int c = 0; c < C; c++) s += (wc[c] / w) * (wc[c] / w);
        return 1.0 - s;
    }
    for (int c = 0; c < C; c++)
        if (wc[c] > 0) s -= (wc[c] / w) * log2(wc[c] / w);
    return s;
}

// -W * impurity, the quantity the split search maximises summed over both children.
static double neg_weighted_impurity(ElmCriterion crit, const double *wc, int C, double w) {
    if (w <= 0) return 0;
    double s = 0;
    if (crit == ELM_CRIT_GINI) {
        for (int c = 0; c < C; c++) s += wc[c] * wc[c];
        return s / w - w;
    }
    for (int c = 0; c < C; c++)
        if (wc[c] > 0) s += wc[c] * log2(wc[c] / w);
    return s;
}

// ---- one tree ---------------------------------------------------------------------------

// Features present in a node's rows: cnt[f] rows hold f; list[0..k) the present features,
// lpos[f] the place of f in list.
typedef struct Present {
    int32_t *cnt, *list, *lpos;
    int k;
} Present;

typedef struct Entry {
    double v;
    int32_t s;
} Entry;

typedef struct Builder {
    const ElmForestOpts *o;
    const ElmCsr *X, *Xc; // rows and columns of the training matrix
    const int *y;
    int C, F, mf;
    double *w;        // (n) bootstrap weight of each row (0 = out of bag)
    int32_t *samples; // in-bag rows, partitioned in place as the tree grows
    int32_t *pos;     // (n) place of a row in samples, -1 when out of bag
    int n_in;
    Present *levels; // one per nesting level of "smaller child" recursion
    int n_levels;
    Entry *entries, *best_entries; // (n) nonzeros of the feature being searched
    double *xval;
    int32_t *stamp, cur_stamp;
    ElmTree *tree;
    double *importance; // (F) this tree's impurity decrease per feature
} Builder;

static int present_level(Builder *b, int level) {
    if (level < b->n_levels) return 0;
    Present *nl = realloc(b->levels, (size_t)(level + 1) * sizeof *nl);
    if (!nl) return -1;
    b->levels = nl;
    for (; b->n_levels <= level; b->n_levels++) {
        Present *p = &b->levels[b->n_levels];
        p->cnt = calloc((size_t)b->F, sizeof *p->cnt);
        p->list = malloc((size_t)b->F * sizeof *p->list);
        p->lpos = malloc((size_t)b->F * sizeof *p->lpos);
        p->k = 0;
        if (!p->cnt || !p->list || !p->lpos) return -1;
    }
    return 0;
}

static void present_add_rows(Present *p, const ElmCsr *X, const int32_t *rows, int n) {
    for (int i = 0; i < n; i++)
        for (int64_t k = X->indptr[rows[i]]; k < X->indptr[rows[i] + 1]; k++) {
            int32_t f = X->indices[k];
            if (p->cnt[f]++ == 0) {
                p->lpos[f] = p->k;
                p->list[p->k++] = f;
            }
        }
}

static void present_clear(Present *p) {
    for (int i = 0; i < p->k; i++) p->cnt[p->list[i]] = 0;
    p->k = 0;
}

// parent -= child (the child's rows are a subset of the parent's).
static void present_subtract(Present *parent, const Present *child) {
    for (int i = 0; i < child->k; i++) {
        int32_t f = child->list[i];
        if ((parent->cnt[f] -= child->cnt[f]) == 0) {
            int32_t at = parent->lpos[f], last = parent->list[--parent->k];
            parent->list[at] = last;
            parent->lpos[last] = at;
        }
    }
}

static int cmp_entry(const void *a, const void *b) {
    double x = ((const Entry *)a)->v, y = ((const Entry *)b)->v;
    return (x > y) - (x < y);
}

// Nonzeros of feature f among the rows samples[start..end): through the column when it is
// short, else by binary search in each row.
static int gather(Builder *b, int32_t f, int start, int end, int expect, Entry *out) {
    int m = 0, n_node = end - start;
    const ElmCsr *Xc = b->Xc, *X = b->X;
    int64_t cb = Xc->indptr[f], ce = Xc->indptr[f + 1];
    if (ce - cb <= (int64_t)n_node * 8) {
        for (int64_t k = cb; k < ce && m < expect; k++) {
            int32_t s = Xc->indices[k], p = b->pos[s];
            if (p >= start && p < end) out[m].v = Xc->data[k], out[m].s = s, m++;
        }
        return m;
    }
    for (int i = start; i < end && m < expect; i++) {
        int32_t s = b->samples[i];
        int64_t lo = X->indptr[s], hi = X->indptr[s + 1] - 1;
        while (lo <= hi) {
            int64_t mid = (lo + hi) / 2;
            if (X->indices[mid] == f) {
                out[m].v = X->data[mid], out[m].s = s, m++;
                break;
            }
            if (X->indices[mid] < f)
                lo = mid + 1;
            else
                hi = mid - 1;
        }
    }
    return m;
}

typedef struct Split {
    int32_t feature;
    double threshold, proxy;
    int found;
} Split;

// Searches the thresholds of one feature whose m nonzeros (sorted) are in e; the other
// n_node - m rows of the node hold 0. Returns 1 when the feature is constant in the node.
static int search_feature(Builder *b, int32_t f, Entry *e, int m, int n_node, const double *wc,
                          double w_node, Split *best) {
    int C = b->C, msl = b->o->min_samples_leaf;
    int zeros = n_node - m;
    if (m == 0) return 1;
    qsort(e, (size_t)m, sizeof *e, cmp_entry);
    double lo = zeros ? (e[0].v < 0 ? e[0].v : 0) : e[0].v;
    double hi = zeros ? (m && e[m - 1].v > 0 ? e[m - 1].v : 0) : e[m - 1].v;
    if (hi <= lo + FEATURE_THRESHOLD) return 1;
    // Sweep the sorted values: negatives, the block of zeros, positives.
    int neg = 0;
    while (neg < m && e[neg].v < 0) neg++;
    double zc[ELM_FOREST_MAX_CLASSES], left[ELM_FOREST_MAX_CLASSES], right[ELM_FOREST_MAX_CLASSES];
    for (int c = 0; c < C; c++) zc[c] = wc[c], left[c] = 0;
    for (int i = 0; i < m; i++) zc[b->y[e[i].s]] -= b->w[e[i].s];
    int n_left = 0;
    double w_left = 0;
    // Items in order: e[0..neg), the zero block (if any), e[neg..m). prev = value before a cut.
    int total_items = m + (zeros ? 1 : 0);
    double prev = 0;
    for (int it = 0; it < total_items; it++) {
        double v;
        int cnt;
        if (it < neg) {
            v = e[it].v, cnt = 1;
        } else if (zeros && it == neg) {
            v = 0, cnt = zeros;
        } else {
            int i = zeros ? it - 1 : it;
            v = e[i].v, cnt = 1;
        }
        // A cut before this item, if the values differ and both sides are large enough.
        if (it > 0 && v > prev + FEATURE_THRESHOLD && n_left >= msl && n_node - n_left >= msl) {
            for (int c = 0; c < C; c++) right[c] = wc[c] - left[c];
            double proxy = neg_weighted_impurity(b->o->criterion, left, C, w_left) +
                           neg_weighted_impurity(b->o->criterion, right, C, w_node - w_left);
            if (proxy > best->proxy) {
                best->proxy = proxy;
                best->feature = f;
                double t = prev / 2.0 + v / 2.0;
                best->threshold = (t == v || isinf(t)) ? prev : t;
                best->found = 1;
            }
        }
        if (it < neg || !(zeros && it == neg)) {
            int i = (it < neg) ? it : (zeros ? it - 1 : it);
            left[b->y[e[i].s]] += b->w[e[i].s];
            w_left += b->w[e[i].s];
        } else {
            for (int c = 0; c < C; c++) left[c] += zc[c], w_left += zc[c];
        }
        n_left += cnt;
        prev = v;
    }
    return 0;
}

static int add_node(Builder *b, int parent, int is_left, int depth, int n_samples, double wn,
                    double imp, const double *wc) {
    ElmTree *t = b->tree;
    if (t->n_nodes == t->cap) {
        int nc = t->cap ? t->cap * 2 : 256;
        ElmTreeNode *nn = realloc(t->nodes, (size_t)nc * sizeof *nn);
        if (!nn) return -1;
        t->nodes = nn;
        float *nv = realloc(t->value, (size_t)nc * b->C * sizeof *nv);
        if (!nv) return -1;
        t->value = nv;
        t->cap = nc;
    }
    int id = t->n_nodes++;
    ElmTreeNode *nd = &t->nodes[id];
    nd->feature = -1;
    nd->left = nd->right = -1;
    nd->depth = depth;
    nd->n_samples = n_samples;
    nd->threshold = 0;
    nd->weighted_n = wn;
    nd->impurity = imp;
    for (int c = 0; c < b->C; c++)
        t->value[(size_t)id * b->C + c] = (float)(wn > 0 ? wc[c] / wn : 0);
    if (parent >= 0) {
        if (is_left)
            t->nodes[parent].left = id;
        else
            t->nodes[parent].right = id;
    }
    return id;
}

// Moves the rows of moved[0..nm) (all inside samples[start..end)) to the end of the range
// (to_end) or to its start, in O(nm): the rows that go to the side without the zeros are the few
// that hold the split feature, so a split costs the size of that side, not of the node.
static void move_rows(Builder *b, const Entry *moved, int nm, int start, int end, int to_end) {
    int lo = to_end ? end - nm : start, hi = to_end ? end : start + nm; // target [lo, hi)
    b->cur_stamp++;
    for (int i = 0; i < nm; i++) b->stamp[moved[i].s] = b->cur_stamp;
    int q = lo; // next position in the target to inspect
    for (int i = 0; i < nm; i++) {
        int32_t s = moved[i].s, p = b->pos[s];
        if (p >= lo && p < hi) continue;                     // already in place
        while (b->stamp[b->samples[q]] == b->cur_stamp) q++; // a non-moved row in the target
        int32_t t = b->samples[q];
        b->samples[q] = s, b->pos[s] = q;
        b->samples[p] = t, b->pos[t] = p;
        q++;
    }
}

// Grows the subtree of samples[start..end) whose present features are levels[level] and whose
// class weights are wc (sum wn).
static int grow(Builder *b, int start, int end, int depth, uint64_t seed, int level, int parent,
                int is_left, const double *wc_in, double wn) {
    const ElmForestOpts *o = b->o;
    int C = b->C;
    Present *P = &b->levels[level];
    double wc[ELM_FOREST_MAX_CLASSES];
    for (int c = 0; c < C; c++) wc[c] = wc_in[c];
    for (;;) {
        int n_node = end - start;
        double imp = impurity(o->criterion, wc, C, wn);
        int id = add_node(b, parent, is_left, depth, n_node, wn, imp, wc);
        if (id < 0) return -1;
        int leaf = (o->max_depth > 0 && depth >= o->max_depth) || n_node < o->min_samples_split ||
                   n_node < 2 * o->min_samples_leaf || imp <= DBL_EPSILON;
        Split best = {.feature = -1, .proxy = -INFINITY};
        if (!leaf) {
            uint64_t rng = seed;
            int drawn = 0, visited = 0, nonconst = 0;
            int64_t f_left = b->F, k_left = P->k;
            while (f_left > 0 && (visited < b->mf || nonconst == 0)) {
                if (k_left == 0) break; // only absent (constant) features remain
                visited++;
                if ((int64_t)elm_rng_below(&rng, (uint64_t)f_left) >= k_left) {
                    f_left--; // an absent feature: constant 0 here
                    continue;
                }
                int at = drawn + (int)elm_rng_below(&rng, (uint64_t)k_left);
                int32_t f = P->list[at], g = P->list[drawn];
                P->list[drawn] = f, P->lpos[f] = drawn;
                P->list[at] = g, P->lpos[g] = at;
                drawn++, k_left--, f_left--;
                int m = gather(b, f, start, end, P->cnt[f], b->entries);
                if (search_feature(b, f, b->entries, m, n_node, wc, wn, &best)) continue;
                nonconst++;
            }
            if (!best.found) leaf = 1;
        }
        if (leaf) return 0;
        // Split: x <= threshold goes left. The zeros all go one way; the nonzeros that go the
        // other way are moved to that end of the range.
        int32_t f = best.feature;
        int zeros_left = 0.0 <= best.threshold;
        int m = gather(b, f, start, end, P->cnt[f], b->best_entries);
        int nm = 0;
        double mw[ELM_FOREST_MAX_CLASSES] = {0}, mwn = 0;
        for (int i = 0; i < m; i++) {
            Entry e = b->best_entries[i];
            if ((e.v <= best.threshold) == zeros_left) continue;
            b->best_entries[nm++] = e;
            mw[b->y[e.s]] += b->w[e.s];
            mwn += b->w[e.s];
        }
        move_rows(b, b->best_entries, nm, start, end, zeros_left);
        int mid = zeros_left ? end - nm : start + nm;
        double lw[ELM_FOREST_MAX_CLASSES], rw[ELM_FOREST_MAX_CLASSES], wl;
        for (int c = 0; c < C; c++) {
            double zc = wc[c] - mw[c];
            lw[c] = zeros_left ? zc : mw[c];
            rw[c] = zeros_left ? mw[c] : zc;
        }
        wl = zeros_left ? wn - mwn : mwn;
        ElmTreeNode *nd = &b->tree->nodes[id];
        nd->feature = f;
        nd->threshold = best.threshold;
        b->importance[f] += wn * imp - wl * impurity(o->criterion, lw, C, wl) -
                            (wn - wl) * impurity(o->criterion, rw, C, wn - wl);
        uint64_t seed_l = elm_rng_mix(seed ^ 0x5851f42d4c957f2dull),
                 seed_r = elm_rng_mix(seed ^ 0x14057b7ef767814full);
        int small_left = mid - start <= end - mid;
        int ss = small_left ? start : mid, se = small_left ? mid : end;
        if (present_level(b, level + 1)) return -1;
        P = &b->levels[level]; // levels may have moved
        Present *Q = &b->levels[level + 1];
        present_add_rows(Q, b->X, b->samples + ss, se - ss);
        present_subtract(P, Q);
        int rc = grow(b, ss, se, depth + 1, small_left ? seed_l : seed_r, level + 1, id, small_left,
                      small_left ? lw : rw, small_left ? wl : wn - wl);
        present_clear(&b->levels[level + 1]);
        if (rc) return -1;
        P = &b->levels[level];
        // Continue with the larger child in place.
        parent = id;
        is_left = !small_left;
        seed = small_left ? seed_r : seed_l;
        for (int c = 0; c < C; c++) wc[c] = small_left ? rw[c] : lw[c];
        wn = small_left ? wn - wl : wl;
        start = small_left ? mid : start;
        end = small_left ? end : mid;
        depth++;
    }
}

static void builder_free(Builder *b) {
    for (int i = 0; i < b->n_levels; i++) {
        free(b->levels[i].cnt);
        free(b->levels[i].list);
        free(b->levels[i].lpos);
    }
    free(b->levels);
    free(b->w), free(b->samples), free(b->pos), free(b->entries), free(b->best_entries);
    free(b->xval), free(b->stamp), free(b->importance);
}

static int builder_init(Builder *b, const ElmForestOpts *o, const ElmCsr *X, const ElmCsr *Xc,
                        const int *y, int C) {
    memset(b, 0, sizeof *b);
    b->o = o, b->X = X, b->Xc = Xc, b->y = y, b->C = C, b->F = X->n_cols;
    b->mf = elm_forest_max_features(o, X->n_cols);
    size_t n = (size_t)X->n_rows;
    b->w = malloc(n * sizeof *b->w);
    b->samples = malloc(n * sizeof *b->samples);
    b->pos = malloc(n * sizeof *b->pos);
    b->entries = malloc(n * sizeof *b->entries);
    b->best_entries = malloc(n * sizeof *b->best_entries);
    b->xval = malloc(n * sizeof *b->xval);
    b->stamp = calloc(n, sizeof *b->stamp);
    b->importance = malloc((size_t)b->F * sizeof *b->importance);
    if (!b->w || !b->samples || !b->pos || !b->entries || !b->best_entries || !b->xval ||
        !b->stamp || !b->importance || present_level(b, 0))
        return -1;
    return 0;
}

static uint64_t tree_seed(uint64_t seed, int t) {
    return elm_rng_mix(elm_rng_mix(seed) ^ (uint64_t)(t + 1));
}

// Tree t's bootstrap counts (all 1 without bootstrap); returns the RNG state after the draws.
static uint64_t bootstrap(const ElmForestOpts *o, int t, int n, double *w) {
    uint64_t rng = tree_seed(o->seed, t);
    if (o->bootstrap) {
        for (int i = 0; i < n; i++) w[i] = 0;
        for (int i = 0; i < n; i++) w[elm_rng_below(&rng, (uint64_t)n)] += 1;
    } else {
        for (int i = 0; i < n; i++) w[i] = 1;
    }
    return rng;
}

static int fit_tree(Builder *b, int t, ElmTree *tree) {
    int n = b->X->n_rows;
    uint64_t rng = bootstrap(b->o, t, n, b->w);
    b->n_in = 0;
    for (int i = 0; i < n; i++) {
        b->pos[i] = -1;
        if (b->w[i] > 0) b->pos[i] = b->n_in, b->samples[b->n_in++] = i;
    }
    memset(b->importance, 0, (size_t)b->F * sizeof *b->importance);
    b->tree = tree;
    present_add_rows(&b->levels[0], b->X, b->samples, b->n_in);
    double wc[ELM_FOREST_MAX_CLASSES] = {0}, wn = 0;
    for (int i = 0; i < b->n_in; i++) {
        wc[b->y[b->samples[i]]] += b->w[b->samples[i]];
        wn += b->w[b->samples[i]];
    }
    int rc = grow(b, 0, b->n_in, 0, elm_rng_mix(rng), 0, -1, 0, wc, wn);
    present_clear(&b->levels[0]);
    if (rc) return -1;
    // Per tree: decrease normalised to sum 1 (trees of one node add nothing), kept sparse in
    // the tree so the forest sums them in tree order, whatever thread grew which tree.
    double total = 0;
    int nz = 0;
    for (int j = 0; j < b->F; j++) total += b->importance[j], nz += b->importance[j] > 0;
    tree->imp_feat = malloc((size_t)(nz ? nz : 1) * sizeof *tree->imp_feat);
    tree->imp_val = malloc((size_t)(nz ? nz : 1) * sizeof *tree->imp_val);
    if (!tree->imp_feat || !tree->imp_val) return -1;
    tree->n_imp = 0;
    if (total > 0)
        for (int j = 0; j < b->F; j++)
            if (b->importance[j] > 0) {
                tree->imp_feat[tree->n_imp] = j;
                tree->imp_val[tree->n_imp++] = b->importance[j] / total;
            }
    return 0;
}

void elm_forest_free(ElmForest *f) {
    if (f->trees)
        for (int t = 0; t < f->opts.n_estimators; t++) {
            free(f->trees[t].nodes);
            free(f->trees[t].value);
            free(f->trees[t].imp_feat);
            free(f->trees[t].imp_val);
        }
    free(f->trees);
    free(f->importances);
    memset(f, 0, sizeof *f);
}

static const float *leaf_value(const ElmTree *t, const double *x, int max_depth, int C) {
    int id = 0;
    while (t->nodes[id].feature >= 0 && (max_depth <= 0 || t->nodes[id].depth < max_depth))
        id = x[t->nodes[id].feature] <= t->nodes[id].threshold ? t->nodes[id].left
                                                               : t->nodes[id].right;
    return t->value + (size_t)id * C;
}

// Grows this rank's trees of the T (t = rank, rank + size, ...) in parallel, one builder per
// thread; 1 when a builder or a tree ran out of memory.
static int grow_trees(ElmForest *f, const ElmForestOpts *o, const ElmCsr *X, const ElmCsr *Xc,
                      const int *y, int C, int threads, int rank, int size,
                      struct ElmProgress *progress) {
    int T = o->n_estimators;
    int failed = 0, done = 0;
#pragma omp parallel num_threads(threads)
    {
        Builder b;
        int ok = builder_init(&b, o, X, Xc, y, C) == 0;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < T; t++) {
            if (!ok || failed || t % size != rank) continue;
            if (fit_tree(&b, t, &f->trees[t])) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            int d;
#pragma omp atomic capture
            d = ++done;
            if (progress) {
#pragma omp critical(elm_forest_progress)
                elm_progress_update(progress, (uint64_t)d);
            }
        }
        if (ok) builder_free(&b);
    }
    return failed;
}

// Feature importances: the trees' impurity decreases summed in tree order, normalised to 1.
static void sum_importances(ElmForest *f, int T, int F) {
    for (int t = 0; t < T; t++)
        for (int i = 0; i < f->trees[t].n_imp; i++)
            f->importances[f->trees[t].imp_feat[i]] += f->trees[t].imp_val[i];
    double total = 0;
    for (int j = 0; j < F; j++) total += f->importances[j];
    if (total > 0)
        for (int j = 0; j < F; j++) f->importances[j] /= total;
}

// OOB votes: per row, the class fractions of the trees that did not see it, summed in tree
// order (so the score does not depend on the threads). -1 when out of memory.
static int score_oob(ElmForest *f, const ElmForestOpts *o, const ElmCsr *X, const int *y, int C,
                     int threads) {
    int T = o->n_estimators, F = X->n_cols, n = X->n_rows;
    double *oob = calloc((size_t)n * C, sizeof *oob), *w = malloc((size_t)n * sizeof *w);
    if (!oob || !w) {
        free(oob), free(w);
        return -1;
    }
    for (int t = 0; t < T; t++) {
        bootstrap(o, t, n, w);
#pragma omp parallel num_threads(threads)
        {
            double *dense = calloc((size_t)F, sizeof *dense);
#pragma omp for schedule(static)
            for (int i = 0; i < n; i++) {
                if (w[i] > 0 || !dense) continue;
                for (int64_t k = X->indptr[i]; k < X->indptr[i + 1]; k++)
                    dense[X->indices[k]] = X->data[k];
                const float *v = leaf_value(&f->trees[t], dense, 0, C);
                for (int c = 0; c < C; c++) oob[(size_t)i * C + c] += v[c];
                for (int64_t k = X->indptr[i]; k < X->indptr[i + 1]; k++) dense[X->indices[k]] = 0;
            }
            free(dense);
        }
    }
    long long ok = 0, seen = 0;
    for (int i = 0; i < n; i++) {
        const double *p = oob + (size_t)i * C;
        double s = 0;
        int best = 0;
        for (int c = 0; c < C; c++) {
            s += p[c];
            if (p[c] > p[best]) best = c;
        }
        if (s <= 0) continue;
        seen++;
        ok += best == y[i];
    }
    f->oob_score = seen ? (double)ok / seen : NAN;
    free(oob), free(w);
    return 0;
}

// ---- trees over ranks -----------------------------------------------------------------------

// This rank's trees, each as (t, n_nodes, n_imp; nodes; values; importance features and values).
static void pack_trees(const ElmForest *f, int rank, int size, ElmBuf *b) {
    int C = f->n_classes;
    for (int t = rank; t < f->opts.n_estimators; t += size) {
        const ElmTree *tr = &f->trees[t];
        int32_t head[3] = {t, tr->n_nodes, tr->n_imp};
        elm_buf_append(b, (const char *)head, sizeof head);
        elm_buf_append(b, (const char *)tr->nodes, (size_t)tr->n_nodes * sizeof *tr->nodes);
        elm_buf_append(b, (const char *)tr->value, (size_t)tr->n_nodes * C * sizeof *tr->value);
        elm_buf_append(b, (const char *)tr->imp_feat, (size_t)tr->n_imp * sizeof *tr->imp_feat);
        elm_buf_append(b, (const char *)tr->imp_val, (size_t)tr->n_imp * sizeof *tr->imp_val);
    }
}

// Copies n bytes at *at into a new block (NULL when out of memory), moving *at past them.
static void *take(const char **at, size_t n) {
    void *p = malloc(n ? n : 1);
    if (p) memcpy(p, *at, n);
    *at += n;
    return p;
}

// The other ranks' trees from their packs (every rank's, in rank order). A pack that does not
// fit this forest (the ranks fitted different forests) is an error, never a write past it.
static int unpack_trees(ElmForest *f, const char *all, size_t total, ElmError *err) {
    int C = f->n_classes, T = f->opts.n_estimators;
    const char *at = all, *end = all + total;
    while (at < end) {
        int32_t head[3];
        if ((size_t)(end - at) < sizeof head) break;
        memcpy(head, at, sizeof head);
        at += sizeof head;
        int t = head[0], nn = head[1], ni = head[2];
        size_t bytes = (size_t)nn * (sizeof(ElmTreeNode) + C * sizeof(float)) +
                       (size_t)ni * (sizeof(int32_t) + sizeof(double));
        if (t < 0 || t >= T || nn < 1 || ni < 0 || bytes > (size_t)(end - at))
            return elm_err(err, "a rank sent tree %d of another forest (%d trees here)", t, T);
        ElmTree *tr = &f->trees[t];
        if (tr->nodes) { // grown here: the copy is the same tree
            at += bytes;
            continue;
        }
        tr->n_nodes = tr->cap = nn, tr->n_imp = ni;
        tr->nodes = take(&at, (size_t)nn * sizeof *tr->nodes);
        tr->value = take(&at, (size_t)nn * C * sizeof *tr->value);
        tr->imp_feat = take(&at, (size_t)ni * sizeof *tr->imp_feat);
        tr->imp_val = take(&at, (size_t)ni * sizeof *tr->imp_val);
        if (!tr->nodes || !tr->value || !tr->imp_feat || !tr->imp_val)
            return elm_err(err, "out of memory for the forest");
    }
    for (int t = 0; t < T; t++)
        if (!f->trees[t].nodes) return elm_err(err, "tree %d of %d came from no rank", t, T);
    return 0;
}

// Every rank's trees onto every rank, once every rank said whether its own grew (failed = 0).
static int exchange_trees(ElmForest *f, int failed, ElmDist *dist, ElmError *err) {
    if (failed) elm_err(err, "out of memory growing the forest");
    if (elm_dist_agree(dist, failed, err)) return -1;
    int rank = elm_dist_rank(dist), size = elm_dist_size(dist);
    ElmBuf b = {0};
    pack_trees(f, rank, size, &b);
    int rc = b.oom ? elm_err(err, "out of memory packing the forest's trees") : 0;
    if (elm_dist_agree(dist, rc, err)) {
        elm_buf_free(&b);
        return -1;
    }
    char *all = NULL;
    size_t *counts = elm_calloc((size_t)size, sizeof *counts, err), total = 0;
    if (!counts || elm_dist_allgather(dist, b.data, b.len, &all, counts, err)) {
        elm_buf_free(&b), free(counts);
        return -1;
    }
    for (int r = 0; r < size; r++) total += counts[r];
    rc = unpack_trees(f, all, total, err);
    elm_buf_free(&b), free(counts), free(all);
    return elm_dist_agree(dist, rc, err);
}

int elm_forest_fit(ElmForest *f, const ElmForestOpts *o, const ElmCsr *X, const int *y,
                   int n_classes, struct ElmProgress *progress, ElmError *err) {
    return elm_forest_fit_dist(f, o, X, y, n_classes, NULL, progress, err);
}

int elm_forest_fit_dist(ElmForest *f, const ElmForestOpts *o, const ElmCsr *X, const int *y,
                        int n_classes, ElmDist *dist, struct ElmProgress *progress, ElmError *err) {
    memset(f, 0, sizeof *f);
    f->oob_score = NAN;
    if (elm_forest_check(o, err)) return -1;
    if (n_classes < 1 || n_classes > ELM_FOREST_MAX_CLASSES)
        return elm_err(err, "random forest supports 1..%d classes, got %d", ELM_FOREST_MAX_CLASSES,
                       n_classes);
    if (X->n_rows < 1 || X->n_cols < 1) return elm_err(err, "random forest: no rows or features");
    f->opts = *o;
    f->n_classes = n_classes;
    f->n_features = X->n_cols;
    int T = o->n_estimators, F = X->n_cols, C = n_classes;
    int rank = elm_dist_rank(dist), size = elm_dist_size(dist);
    f->trees = calloc((size_t)T, sizeof *f->trees);
    f->importances = calloc((size_t)F, sizeof *f->importances);
    ElmCsr Xc = {0};
    int failed = 1;
    if (f->trees && f->importances && elm_csr_transpose(X, &Xc, err) == 0) {
        int threads = o->threads < 1 ? 1 : o->threads;
        if (progress && size > 1) progress->total = (uint64_t)((T - rank + size - 1) / size);
        failed = grow_trees(f, o, X, &Xc, y, C, threads, rank, size, progress);
        elm_csr_free(&Xc);
    }
    if (size > 1 ? exchange_trees(f, failed, dist, err) : failed) {
        elm_forest_free(f);
        return size > 1 ? -1 : elm_err(err, "out of memory growing a %d-tree forest", T);
    }
    sum_importances(f, T, F);
    int threads = o->threads < 1 ? 1 : o->threads;
    if (o->oob_score && score_oob(f, o, X, y, C, threads)) {
        elm_forest_free(f);
        return elm_err(err, "out of memory for the OOB score");
    }
    return 0;
}

void elm_forest_predict_proba(const ElmForest *f, const ElmCsr *X, int n_trees, int max_depth,
                              double *proba) {
    int C = f->n_classes, F = f->n_features;
    int T = n_trees > 0 && n_trees < f->opts.n_estimators ? n_trees : f->opts.n_estimators;
    int threads = f->opts.threads < 1 ? 1 : f->opts.threads;
#pragma omp parallel num_threads(threads)
    {
        double *dense = calloc((size_t)F, sizeof *dense);
#pragma omp for schedule(static)
        for (int i = 0; i < X->n_rows; i++) {
            double *p = proba + (size_t)i * C;
            for (int c = 0; c < C; c++) p[c] = 0;
            if (!dense) continue;
            for (int64_t k = X->indptr[i]; k < X->indptr[i + 1]; k++)
                if (X->indices[k] < F) dense[X->indices[k]] = X->data[k];
            for (int t = 0; t < T; t++) {
                const float *v = leaf_value(&f->trees[t], dense, max_depth, C);
                for (int c = 0; c < C; c++) p[c] += v[c];
            }
            for (int c = 0; c < C; c++) p[c] /= T;
            for (int64_t k = X->indptr[i]; k < X->indptr[i + 1]; k++)
                if (X->indices[k] < F) dense[X->indices[k]] = 0;
        }
        free(dense);
    }
}
