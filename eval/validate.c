// validate.c — `elm validate`: can a classifier tell real tweets from generated ones?
//
// All texts -> TF-IDF features (fit on all rows, as the study did) -> a stratified train/test
// split -> Multinomial NB, Gaussian NB and a random forest (its parameters tuned by a grid
// search with stratified CV on the train rows when grid.* keys are set) -> test metrics.
// Accuracy near 50% means the generated tweets pass for real ones. The generated test tweets
// the tuned forest calls real are the "viable" ones. Optional k-fold CV of every model on all
// rows gives the figures the tests compare with scikit-learn. Over MPI ranks the forests' trees
// and the grid's fits are spread (forest.h, gridsearch.h), every rank computes the same numbers
// and rank 0 alone writes them.
#include "eval/validate.h"
#include "eval/validate_setup.h"
#include "eval/attribution.h"
#include "eval/caught.h"
#include "eval/steering.h"
#include "eval/metrics.h"
#include "eval/naive_bayes.h"
#include "eval/npy.h"
#include "eval/textfeat.h"
#include "engine/base/fsutil.h"
#include "engine/base/progress.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Models {
    int nb, gnb, rf;
} Models;

static int parse_models(const char *s, Models *m, ElmError *err) {
    memset(m, 0, sizeof *m);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (!strcmp(t, "nb"))
            m->nb = 1;
        else if (!strcmp(t, "gnb"))
            m->gnb = 1;
        else if (!strcmp(t, "rf"))
            m->rf = 1;
        else
            return elm_err(err, "validate.models: \"%s\" is not nb, gnb or rf", t);
    }
    if (!m->nb && !m->gnb && !m->rf) return elm_err(err, "validate.models: no model named");
    return 0;
}

// ---- JSON helpers --------------------------------------------------------------------------

static cJSON *metrics_json(const ElmMetrics *m) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "accuracy", m->accuracy);
    cJSON_AddNumberToObject(o, "precision", m->precision);
    cJSON_AddNumberToObject(o, "recall", m->recall);
    cJSON_AddNumberToObject(o, "f1", m->f1);
    if (isnan(m->roc_auc))
        cJSON_AddNullToObject(o, "roc_auc");
    else
        cJSON_AddNumberToObject(o, "roc_auc", m->roc_auc);
    cJSON *cm = cJSON_AddObjectToObject(o, "confusion");
    cJSON_AddNumberToObject(cm, "true_real", (double)m->tp);
    cJSON_AddNumberToObject(cm, "false_real", (double)m->fp);
    cJSON_AddNumberToObject(cm, "true_generated", (double)m->tn);
    cJSON_AddNumberToObject(cm, "false_generated", (double)m->fn);
    return o;
}

static cJSON *forest_params_json(const ElmForestOpts *o) {
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "n_estimators", o->n_estimators);
    cJSON_AddStringToObject(p, "criterion", o->criterion == ELM_CRIT_GINI ? "gini" : "entropy");
    if (o->max_depth > 0)
        cJSON_AddNumberToObject(p, "max_depth", o->max_depth);
    else
        cJSON_AddNullToObject(p, "max_depth");
    cJSON_AddNumberToObject(p, "min_samples_split", o->min_samples_split);
    cJSON_AddNumberToObject(p, "min_samples_leaf", o->min_samples_leaf);
    if (o->max_feat == ELM_MAXF_FRACTION)
        cJSON_AddNumberToObject(p, "max_features", o->max_feat_frac);
    else
        cJSON_AddStringToObject(p, "max_features",
                                o->max_feat == ELM_MAXF_SQRT   ? "sqrt"
                                : o->max_feat == ELM_MAXF_LOG2 ? "log2"
                                                               : "all");
    cJSON_AddBoolToObject(p, "bootstrap", o->bootstrap);
    return p;
}

static cJSON *numbers(const double *v, int n) {
    return cJSON_CreateDoubleArray(v, n);
}

// ---- models on one train/test pair ---------------------------------------------------------

// Fits NB of `kind` on the split and fills proba (nte, 2). Returns seconds or -1.
static double run_nb(ElmNbKind kind, double smoothing, const ElmSplit *s, int threads,
                     double *proba, ElmError *err) {
    double t0 = elm_now();
    ElmNaiveBayes nb;
    if (elm_nb_fit(&nb, kind, smoothing, &s->Xtr, s->ytr, 2, threads, err)) return -1;
    elm_nb_predict_proba(&nb, &s->Xte, proba, threads);
    elm_nb_free(&nb);
    return elm_now() - t0;
}

static double accuracy_of(const double *proba, const int *y, int n, int *pred) {
    elm_argmax_rows(proba, n, 2, pred);
    return elm_accuracy(y, pred, n);
}

// ---- k-fold CV of every model on all rows ---------------------------------------------------

static int run_cv(const ElmRun *run, const Models *m, const ElmCsr *X, const int *y,
                  const ElmForestOpts *rf, int folds, int repeats, int *fold, ElmDist *dist,
                  cJSON *out, ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    int n = X->n_rows, rc = -1;
    if (elm_stratified_folds(y, n, 2, folds, run->seed, fold, err)) return -1;
    double *proba = malloc((size_t)n * 2 * sizeof *proba);
    int *pred = malloc((size_t)n * sizeof *pred);
    double *acc_nb = calloc((size_t)folds, sizeof(double)),
           *acc_gnb = calloc((size_t)folds, sizeof(double));
    double *acc_rf = calloc((size_t)folds * repeats, sizeof(double));
    double t_nb = 0, t_gnb = 0, t_rf = 0;
    ElmProgress p;
    elm_progress_start(&p, "validate cv", "fits", (uint64_t)folds * (m->rf ? repeats : 1),
                       run->quiet);
    if (!proba || !pred || !acc_nb || !acc_gnb || !acc_rf) {
        elm_err(err, "out of memory for CV");
        goto done;
    }
    for (int f = 0; f < folds; f++) {
        ElmSplit s;
        if (elm_split_make(X, y, fold, f, &s, err)) goto done;
        double t;
        if (m->nb) {
            if ((t = run_nb(ELM_NB_MULTINOMIAL, elm_cfg_float(cfg, "validate.nb.alpha"), &s,
                            run->threads, proba, err)) < 0)
                goto fail;
            t_nb += t;
            acc_nb[f] = accuracy_of(proba, s.yte, s.nte, pred);
        }
        if (m->gnb) {
            if ((t = run_nb(ELM_NB_GAUSSIAN, elm_cfg_float(cfg, "validate.gnb.var_smoothing"), &s,
                            run->threads, proba, err)) < 0)
                goto fail;
            t_gnb += t;
            acc_gnb[f] = accuracy_of(proba, s.yte, s.nte, pred);
        }
        for (int r = 0; m->rf && r < repeats; r++) {
            ElmForestOpts o = *rf;
            o.seed = run->seed + (uint64_t)r;
            o.oob_score = 0;
            ElmForest forest;
            double t0 = elm_now();
            if (elm_forest_fit_dist(&forest, &o, &s.Xtr, s.ytr, 2, dist, NULL, err)) goto fail;
            elm_forest_predict_proba(&forest, &s.Xte, 0, 0, proba);
            t_rf += elm_now() - t0;
            elm_forest_free(&forest);
            acc_rf[(size_t)r * folds + f] = accuracy_of(proba, s.yte, s.nte, pred);
            elm_progress_update(&p, p.done + 1);
        }
        if (!m->rf) elm_progress_update(&p, p.done + 1);
        elm_split_free(&s);
        continue;
    fail:
        elm_split_free(&s);
        goto done;
    }
    elm_progress_finish(&p);
    cJSON *cv = cJSON_AddObjectToObject(out, "cv");
    cJSON_AddNumberToObject(cv, "folds", folds);
    cJSON_AddItemToObject(cv, "fold_of_row", cJSON_CreateIntArray(fold, n));
    double mean;
    if (m->nb) {
        cJSON *o = cJSON_AddObjectToObject(cv, "multinomial_nb");
        cJSON_AddItemToObject(o, "fold_accuracy", numbers(acc_nb, folds));
        mean = 0;
        for (int f = 0; f < folds; f++) mean += acc_nb[f] / folds;
        cJSON_AddNumberToObject(o, "mean_accuracy", mean);
        cJSON_AddNumberToObject(o, "seconds", t_nb);
    }
    if (m->gnb) {
        cJSON *o = cJSON_AddObjectToObject(cv, "gaussian_nb");
        cJSON_AddItemToObject(o, "fold_accuracy", numbers(acc_gnb, folds));
        mean = 0;
        for (int f = 0; f < folds; f++) mean += acc_gnb[f] / folds;
        cJSON_AddNumberToObject(o, "mean_accuracy", mean);
        cJSON_AddNumberToObject(o, "seconds", t_gnb);
    }
    if (m->rf) {
        cJSON *o = cJSON_AddObjectToObject(cv, "random_forest");
        cJSON_AddItemToObject(o, "params", forest_params_json(rf));
        cJSON *seeds = cJSON_AddArrayToObject(o, "repeats");
        mean = 0;
        for (int r = 0; r < repeats; r++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "seed", (double)(run->seed + (uint64_t)r));
            cJSON_AddItemToObject(e, "fold_accuracy", numbers(acc_rf + (size_t)r * folds, folds));
            cJSON_AddItemToArray(seeds, e);
            for (int f = 0; f < folds; f++)
                mean += acc_rf[(size_t)r * folds + f] / (folds * repeats);
        }
        cJSON_AddNumberToObject(o, "mean_accuracy", mean);
        cJSON_AddNumberToObject(o, "seconds", t_rf);
    }
    rc = 0;
done:
    free(proba), free(pred), free(acc_nb), free(acc_gnb), free(acc_rf);
    return rc;
}

// ---- export for tests and benchmarks ------------------------------------------------------

static int export_all(const char *dir, const ElmTextFeat *tf, const ElmCsr *X, const int *y,
                      const ElmCorpus *c, const int *fold, const int *is_test, ElmError *err) {
    char p[4096];
    if (elm_mkdirs(dir, err)) return -1;
    int n = X->n_rows;
#define NPY(name, dt, ptr, cnt, el)                                                                \
    do {                                                                                           \
        elm_path_join(p, sizeof p, dir, name);                                                     \
        if (elm_npy_write(p, dt, ptr, (size_t)(cnt), el, err)) return -1;                          \
    } while (0)
    NPY("indptr.npy", "<i8", X->indptr, n + 1, 8);
    NPY("indices.npy", "<i4", X->indices, X->nnz, 4);
    NPY("data.npy", "<f8", X->data, X->nnz, 8);
    NPY("labels.npy", "<i4", y, n, 4);
    NPY("records.npy", "<i4", c->line, n, 4);
    if (fold) NPY("folds.npy", "<i4", fold, n, 4);
    NPY("test.npy", "<i4", is_test, n, 4);
#undef NPY
    elm_path_join(p, sizeof p, dir, "vocab.txt");
    ElmAtomicFile af;
    if (elm_atomic_open(&af, p, err)) return -1;
    for (int i = 0; i < tf->n_terms; i++) fprintf(af.f, "%s\n", elm_textfeat_term(tf, i));
    return elm_atomic_commit(&af, err);
}

// ---- the stage ------------------------------------------------------------------------------

typedef struct Ranked {
    int row;
    double p;
} Ranked;

static int cmp_ranked(const void *a, const void *b) {
    double x = ((const Ranked *)a)->p, y = ((const Ranked *)b)->p;
    if (x != y) return x < y ? 1 : -1;
    return ((const Ranked *)a)->row - ((const Ranked *)b)->row;
}

// One `elm validate` run: its options, its corpus and everything computed from them.
typedef struct Validate {
    ElmDist *dist; // the ranks the forests spread over (NULL: one process)
    Models models;
    ElmForestOpts rf;
    ElmGrid grid;
    ElmTextFeatOpts fo;
    ElmCorpus c;
    int n, G; // rows; grid combinations (0: no grid search)
    ElmTextFeat tf;
    ElmCsr X;
    ElmSplit s;
    int *is_test, *fold; // (n)
    double *proba;       // (nte, 2) the last model's test probabilities
    double *p_real;      // (nte) their real column
    int *pred;           // (nte)
    ElmGridResult *gres; // (G)
    ElmForest forest;
} Validate;

static void validate_free(Validate *V) {
    elm_forest_free(&V->forest);
    if (V->gres) elm_grid_results_free(V->gres, V->G);
    free(V->gres);
    elm_split_free(&V->s);
    free(V->proba), free(V->pred), free(V->p_real), free(V->is_test), free(V->fold);
    elm_csr_free(&V->X);
    elm_textfeat_free(&V->tf);
    elm_corpus_free(&V->c);
}

// TF-IDF features of every row, with "data" and "features".
static int features(Validate *V, cJSON *out, ElmError *err) {
    const ElmTextFeatOpts *fo = &V->fo;
    int n = V->n, n_real = 0;
    for (int i = 0; i < n; i++) n_real += V->c.label[i];
    double t0 = elm_now();
    if (elm_textfeat_fit(&V->tf, fo, (const char *const *)V->c.text, n, &V->X, err)) {
        elm_err_prefix(err, "[validate] features");
        return -1;
    }
    double t_feat = elm_now() - t0;
    cJSON *jd = cJSON_AddObjectToObject(out, "data");
    cJSON_AddNumberToObject(jd, "rows", n);
    cJSON_AddNumberToObject(jd, "real", n_real);
    cJSON_AddNumberToObject(jd, "generated", n - n_real);
    cJSON *jf = cJSON_AddObjectToObject(out, "features");
    cJSON_AddNumberToObject(jf, "terms", V->tf.n_terms);
    cJSON_AddNumberToObject(jf, "nnz", (double)V->X.nnz);
    cJSON_AddNumberToObject(jf, "ngram_min", fo->ngram_min);
    cJSON_AddNumberToObject(jf, "ngram_max", fo->ngram_max);
    cJSON_AddNumberToObject(jf, "max_features", fo->max_features);
    cJSON_AddBoolToObject(jf, "stop_words", fo->stop_words);
    cJSON_AddBoolToObject(jf, "tfidf", fo->tfidf);
    cJSON_AddNumberToObject(jf, "seconds", t_feat);
    return 0;
}

// The stratified test rows, and when validate.cv is set the k-fold CV of every model ("cv").
static int split_and_cv(const ElmRun *run, Validate *V, cJSON *out, ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    int n = V->n;
    if (elm_stratified_split(V->c.label, n, 2, elm_cfg_float(cfg, "validate.test_fraction"),
                             run->seed, V->is_test, err)) {
        elm_err_prefix(err, "[validate]");
        return -1;
    }
    if (!elm_cfg_bool(cfg, "validate.cv")) return 0;
    V->fold = elm_malloc((size_t)n * sizeof *V->fold, err);
    if (!V->fold) return -1;
    if (run_cv(run, &V->models, &V->X, V->c.label, &V->rf, (int)elm_cfg_int(cfg, "validate.folds"),
               (int)elm_cfg_int(cfg, "validate.cv_repeats"), V->fold, V->dist, out, err)) {
        elm_err_prefix(err, "[validate] cv");
        return -1;
    }
    return 0;
}

// Argmax predictions and the metrics of the test rows from V->proba.
static cJSON *test_metrics(Validate *V) {
    const ElmSplit *s = &V->s;
    ElmMetrics mt;
    elm_argmax_rows(V->proba, s->nte, 2, V->pred);
    for (int i = 0; i < s->nte; i++) V->p_real[i] = V->proba[2 * i + 1];
    elm_metrics_binary(s->yte, V->pred, V->p_real, s->nte, &mt);
    return metrics_json(&mt);
}

// Multinomial and Gaussian NB on the split, into "test" (jt).
static int test_nb(const ElmRun *run, Validate *V, const char *export_dir, cJSON *jt,
                   ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    char path[4096];
    for (int k = 0; k < 2; k++) {
        if (!(k == 0 ? V->models.nb : V->models.gnb)) continue;
        double sm = k == 0 ? elm_cfg_float(cfg, "validate.nb.alpha")
                           : elm_cfg_float(cfg, "validate.gnb.var_smoothing");
        double t = run_nb(k == 0 ? ELM_NB_MULTINOMIAL : ELM_NB_GAUSSIAN, sm, &V->s, run->threads,
                          V->proba, err);
        if (t < 0) return -1;
        if (export_dir && elm_dist_rank(V->dist) == 0) { // test rows' probabilities, (test, 2)
            elm_path_join(path, sizeof path, export_dir,
                          k == 0 ? "proba_mnb.npy" : "proba_gnb.npy");
            if (elm_npy_write(path, "<f8", V->proba, (size_t)V->s.nte * 2, 8, err)) return -1;
        }
        cJSON *o = test_metrics(V);
        cJSON_AddNumberToObject(o, "seconds", t);
        cJSON_AddItemToObject(jt, k == 0 ? "multinomial_nb" : "gaussian_nb", o);
    }
    return 0;
}

// The grid search over the forest's parameters on the train rows ("grid"); *tuned gets the
// best combination.
static int grid_search(const ElmRun *run, Validate *V, cJSON *out, ElmForestOpts *tuned,
                       ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    int G = V->G;
    V->gres = elm_calloc((size_t)G, sizeof *V->gres, err);
    int best = 0;
    ElmProgress p;
    elm_progress_start(&p, "validate grid", "fits", 0, run->quiet);
    double tg = elm_now();
    if (!V->gres || elm_grid_search_dist(&V->grid, &V->rf, &V->s.Xtr, V->s.ytr, 2,
                                         (int)elm_cfg_int(cfg, "validate.grid_folds"), run->seed,
                                         V->dist, V->gres, &best, &p, err)) {
        elm_err_prefix(err, "[validate] grid search");
        free(V->gres);
        V->gres = NULL;
        return -1;
    }
    elm_progress_finish(&p);
    const ElmGridResult *gres = V->gres;
    *tuned = gres[best].opts;
    tuned->oob_score = V->rf.oob_score;
    cJSON *jg = cJSON_AddObjectToObject(out, "grid");
    cJSON_AddNumberToObject(jg, "folds", (double)elm_cfg_int(cfg, "validate.grid_folds"));
    cJSON_AddNumberToObject(jg, "combinations", G);
    cJSON_AddNumberToObject(jg, "seconds", elm_now() - tg);
    cJSON_AddItemToObject(jg, "best", forest_params_json(&gres[best].opts));
    cJSON_AddNumberToObject(jg, "best_cv_accuracy", gres[best].mean);
    cJSON *tab = cJSON_AddArrayToObject(jg, "table");
    int folds = (int)elm_cfg_int(cfg, "validate.grid_folds");
    for (int i = 0; i < G; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToObject(e, "params", forest_params_json(&gres[i].opts));
        cJSON_AddItemToObject(e, "fold_accuracy", numbers(gres[i].fold_acc, folds));
        cJSON_AddNumberToObject(e, "mean_accuracy", gres[i].mean);
        cJSON_AddNumberToObject(e, "std_accuracy", gres[i].std);
        cJSON_AddNumberToObject(e, "rank", gres[i].rank);
        cJSON_AddItemToArray(tab, e);
    }
    return 0;
}

// The mean node count and depth of the trees, into o.
static void forest_shape_json(const Validate *V, int n_trees, cJSON *o) {
    const ElmForest *forest = &V->forest;
    double nodes = 0, depth = 0;
    for (int t = 0; t < n_trees; t++) {
        int dmax = 0;
        for (int i = 0; i < forest->trees[t].n_nodes; i++)
            if (forest->trees[t].nodes[i].depth > dmax) dmax = forest->trees[t].nodes[i].depth;
        nodes += forest->trees[t].n_nodes;
        depth += dmax;
    }
    cJSON_AddNumberToObject(o, "mean_tree_nodes", nodes / n_trees);
    cJSON_AddNumberToObject(o, "mean_tree_depth", depth / n_trees);
}

// The most important terms of the forest, into o.
static void top_features_json(const ElmConfig *cfg, const Validate *V, cJSON *o) {
    int top = (int)elm_cfg_int(cfg, "validate.top_features"), n_terms = V->tf.n_terms;
    cJSON *ji = cJSON_AddArrayToObject(o, "top_features");
    Ranked *r = malloc((size_t)n_terms * sizeof *r);
    if (!r) return;
    for (int j = 0; j < n_terms; j++) r[j].row = j, r[j].p = V->forest.importances[j];
    qsort(r, (size_t)n_terms, sizeof *r, cmp_ranked);
    for (int j = 0; j < top && j < n_terms; j++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "term", elm_textfeat_term(&V->tf, r[j].row));
        cJSON_AddNumberToObject(e, "importance", r[j].p);
        cJSON_AddItemToArray(ji, e);
    }
    free(r);
}

// The random forest with the tuned parameters on the split, into "test" (jt).
static int test_forest(const ElmRun *run, Validate *V, const ElmForestOpts *tuned, cJSON *jt,
                       ElmError *err) {
    ElmProgress p;
    elm_progress_start(&p, "validate forest", "trees", (uint64_t)tuned->n_estimators, run->quiet);
    double tr = elm_now();
    if (elm_forest_fit_dist(&V->forest, tuned, &V->s.Xtr, V->s.ytr, 2, V->dist, &p, err)) {
        elm_err_prefix(err, "[validate] random forest");
        return -1;
    }
    elm_forest_predict_proba(&V->forest, &V->s.Xte, 0, 0, V->proba);
    double t_rf = elm_now() - tr;
    elm_progress_finish(&p);
    cJSON *o = test_metrics(V);
    cJSON_AddNumberToObject(o, "seconds", t_rf);
    cJSON_AddItemToObject(o, "params", forest_params_json(tuned));
    if (!isnan(V->forest.oob_score)) cJSON_AddNumberToObject(o, "oob_score", V->forest.oob_score);
    forest_shape_json(V, tuned->n_estimators, o);
    cJSON_AddItemToObject(jt, "random_forest", o);
    top_features_json(&run->cfg, V, o);
    return 0;
}

// The train/test split ("split") and every model on it ("test", and "grid" for a tuned forest).
static int test_models(const ElmRun *run, Validate *V, const char *export_dir, cJSON *out,
                       ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    ElmSplit *s = &V->s;
    if (elm_split_make(&V->X, V->c.label, V->is_test, 1, s, err)) return -1;
    if (!(V->proba = elm_malloc((size_t)s->nte * 2 * sizeof *V->proba, err)) ||
        !(V->pred = elm_malloc((size_t)s->nte * sizeof *V->pred, err)) ||
        !(V->p_real = elm_malloc((size_t)s->nte * sizeof *V->p_real, err)))
        return -1;
    cJSON *js = cJSON_AddObjectToObject(out, "split");
    cJSON_AddNumberToObject(js, "train", s->ntr);
    cJSON_AddNumberToObject(js, "test", s->nte);
    cJSON_AddNumberToObject(js, "test_fraction", elm_cfg_float(cfg, "validate.test_fraction"));
    cJSON *jt = cJSON_AddObjectToObject(out, "test");
    if (test_nb(run, V, export_dir, jt, err)) return -1;
    if (!V->models.rf) return 0;
    ElmForestOpts tuned = V->rf;
    if (V->G > 0 && grid_search(run, V, out, &tuned, err)) return -1;
    return test_forest(run, V, &tuned, jt, err);
}

// 1 when the tuned model takes test row i for real: P(real) >= thr, or (thr = 0) its prediction.
static int passes(const Validate *V, int i, double thr) {
    return V->p_real[i] >= thr && (thr > 0 || V->pred[i] == 1);
}

// "caught_vs_passed": the generated test tweets the tuned model caught against those it took for
// real, their lengths and top words (the seed's look before picking viable tweets).
static int caught_vs_passed(const Validate *V, double thr, cJSON *out, ElmError *err) {
    const ElmSplit *s = &V->s;
    const char **texts = elm_malloc(sizeof *texts * (size_t)(s->nte + 1), err);
    int *passed = elm_malloc(sizeof *passed * (size_t)(s->nte + 1), err), m = 0;
    cJSON *cp = NULL;
    if (texts && passed) {
        for (int i = 0; i < s->nte; i++)
            if (s->yte[i] == 0)
                texts[m] = V->c.text[s->rows_te[i]], passed[m++] = passes(V, i, thr);
        cp = elm_caught_json(texts, passed, m, 20, err);
    }
    free(texts), free(passed);
    if (!cp) return -1;
    cJSON_AddItemToObject(out, "caught_vs_passed", cp);
    return 0;
}

// Viable tweets: generated test rows the tuned model (the forest, else the last NB) calls
// real, most convincing first. Returns them in *v (nv of them), or NULL.
static Ranked *find_viable(const Validate *V, double thr, int *nv, int *n_gen_test, ElmError *err) {
    const ElmSplit *s = &V->s;
    Ranked *v = elm_malloc((size_t)s->nte * sizeof *v, err);
    *nv = 0, *n_gen_test = 0;
    if (!v) return NULL;
    for (int i = 0; i < s->nte; i++) {
        if (s->yte[i] != 0) continue;
        (*n_gen_test)++;
        if (passes(V, i, thr)) v[*nv].row = s->rows_te[i], v[(*nv)++].p = V->p_real[i];
    }
    qsort(v, (size_t)*nv, sizeof *v, cmp_ranked);
    return v;
}

// validate/viable.jsonl and validate/metrics.json (with "viable" and the run's totals).
static int write_outputs(const ElmRun *run, const Validate *V, cJSON *out, double t_start,
                         ElmError *err) {
    double thr = elm_cfg_float(&run->cfg, "validate.viable_threshold");
    int nv, n_gen_test;
    if (caught_vs_passed(V, thr, out, err)) return -1;
    Ranked *v = find_viable(V, thr, &nv, &n_gen_test, err);
    if (!v) return -1;
    char path[4096], dir[4096];
    elm_path_join(dir, sizeof dir, run->dir, "validate");
    if (elm_mkdirs(dir, err)) {
        free(v);
        return -1;
    }
    elm_path_join(path, sizeof path, dir, "viable.jsonl");
    ElmAtomicFile af;
    if (elm_atomic_open(&af, path, err)) {
        free(v);
        return -1;
    }
    for (int i = 0; i < nv; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "text", V->c.text[v[i].row]);
        cJSON_AddNumberToObject(e, "p_real", v[i].p);
        cJSON_AddNumberToObject(e, "rank", i + 1);
        cJSON_AddNumberToObject(e, "source_line", V->c.line[v[i].row]);
        char *line = cJSON_PrintUnformatted(e);
        cJSON_Delete(e);
        if (!line) {
            free(v);
            elm_atomic_abort(&af);
            return elm_err(err, "out of memory writing %s", path);
        }
        fprintf(af.f, "%s\n", line);
        free(line);
    }
    free(v);
    cJSON *jv = cJSON_AddObjectToObject(out, "viable");
    cJSON_AddNumberToObject(jv, "count", nv);
    cJSON_AddNumberToObject(jv, "generated_in_test", n_gen_test);
    cJSON_AddNumberToObject(jv, "threshold", thr);
    cJSON_AddNumberToObject(out, "seconds", elm_now() - t_start);
    cJSON_AddNumberToObject(out, "threads", run->threads);
    cJSON_AddNumberToObject(out, "seed", (double)run->seed);
    elm_path_join(path, sizeof path, dir, "metrics.json");
    char *text = cJSON_Print(out);
    if (!text) {
        elm_atomic_abort(&af);
        return elm_err(err, "out of memory writing metrics.json");
    }
    // metrics.json first: viable.jsonl only lands when every number did.
    int wrc = elm_write_file_atomic(path, text, strlen(text), err);
    free(text);
    if (wrc) {
        elm_atomic_abort(&af);
        return -1;
    }
    return elm_atomic_commit(&af, err);
}

int elm_validate_run_export(ElmRun *run, const char *export_dir, ElmError *err) {
    return elm_validate_run_dist(run, export_dir, NULL, err);
}

int elm_validate_run_dist(ElmRun *run, const char *export_dir, ElmDist *dist, ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    Validate V = {.dist = dist};
    if (parse_models(elm_cfg_str(cfg, "validate.models"), &V.models, err) ||
        elm_validate_forest_opts(run, &V.rf, err) || elm_validate_grid(cfg, &V.grid, err))
        return -1;
    if (elm_validate_feat_opts(cfg, &V.fo, err)) return -1;

    double t_start = elm_now();
    if (elm_validate_load(&V.c, run, err)) return -1;
    V.n = V.c.n;
    int rc = -1;
    V.is_test = malloc((size_t)V.n * sizeof *V.is_test);
    V.G = V.grid.n_axes ? elm_grid_size(&V.grid) : 0;
    cJSON *out = cJSON_CreateObject();
    if (!V.is_test || !out) {
        elm_err(err, "out of memory");
        goto done;
    }
    if (features(&V, out, err) || split_and_cv(run, &V, out, err)) goto done;
    int writer = elm_dist_rank(dist) == 0;
    if (writer && export_dir &&
        export_all(export_dir, &V.tf, &V.X, V.c.label, &V.c, V.fold, V.is_test, err))
        goto done;
    if (test_models(run, &V, export_dir, out, err) ||
        (writer && (elm_attribution_run(run, out, err) || elm_steering_run(run, out, err) ||
                    write_outputs(run, &V, out, t_start, err))))
        goto done;
    rc = 0;
done:
    cJSON_Delete(out);
    validate_free(&V);
    // A rank that failed on its own meets the others at their next agreement, so all stop.
    return elm_dist_agree(dist, rc, err);
}

int elm_validate_run(ElmRun *run, ElmError *err) {
    return elm_validate_run_export(run, NULL, err);
}
