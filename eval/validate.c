// validate.c — `elm validate`: can a classifier tell real tweets from generated ones?
//
// All texts -> TF-IDF features (fit on all rows, as the study did) -> a stratified train/test
// split -> Multinomial NB, Gaussian NB and a random forest (its parameters tuned by a grid
// search with stratified CV on the train rows when grid.* keys are set) -> test metrics.
// Accuracy near 50% means the generated tweets pass for real ones. The generated test tweets
// the tuned forest calls real are the "viable" ones. Optional k-fold CV of every model on all
// rows gives the figures the tests compare with scikit-learn.
#include "eval/validate.h"
#include "eval/validate_setup.h"
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
                  const ElmForestOpts *rf, int folds, int repeats, int *fold, cJSON *out,
                  ElmError *err) {
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
            if (elm_forest_fit(&forest, &o, &s.Xtr, s.ytr, 2, NULL, err)) goto fail;
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

int elm_validate_run_export(ElmRun *run, const char *export_dir, ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    Models models;
    ElmForestOpts rf;
    ElmGrid grid;
    if (parse_models(elm_cfg_str(cfg, "validate.models"), &models, err) ||
        elm_validate_forest_opts(run, &rf, err) || elm_validate_grid(cfg, &grid, err))
        return -1;
    ElmTextFeatOpts fo;
    if (elm_validate_feat_opts(cfg, &fo, err)) return -1;

    double t_start = elm_now();
    ElmCorpus c;
    if (elm_validate_load(&c, run, err)) return -1;
    int n = c.n, rc = -1;
    ElmTextFeat tf = {0};
    ElmCsr X = {0};
    ElmSplit s = {0};
    int *is_test = malloc((size_t)n * sizeof *is_test), *fold = NULL;
    double *proba = NULL;
    int *pred = NULL;
    ElmGridResult *gres = NULL;
    int G = grid.n_axes ? elm_grid_size(&grid) : 0;
    cJSON *out = cJSON_CreateObject();
    ElmForest forest = {0};
    char path[4096], dir[4096];
    if (!is_test || !out) {
        elm_err(err, "out of memory");
        goto done;
    }
    int n_real = 0;
    for (int i = 0; i < n; i++) n_real += c.label[i];
    double t0 = elm_now();
    if (elm_textfeat_fit(&tf, &fo, (const char *const *)c.text, n, &X, err)) {
        elm_err_prefix(err, "[validate] features");
        goto done;
    }
    double t_feat = elm_now() - t0;
    cJSON *jd = cJSON_AddObjectToObject(out, "data");
    cJSON_AddNumberToObject(jd, "rows", n);
    cJSON_AddNumberToObject(jd, "real", n_real);
    cJSON_AddNumberToObject(jd, "generated", n - n_real);
    cJSON *jf = cJSON_AddObjectToObject(out, "features");
    cJSON_AddNumberToObject(jf, "terms", tf.n_terms);
    cJSON_AddNumberToObject(jf, "nnz", (double)X.nnz);
    cJSON_AddNumberToObject(jf, "ngram_min", fo.ngram_min);
    cJSON_AddNumberToObject(jf, "ngram_max", fo.ngram_max);
    cJSON_AddNumberToObject(jf, "max_features", fo.max_features);
    cJSON_AddBoolToObject(jf, "stop_words", fo.stop_words);
    cJSON_AddBoolToObject(jf, "tfidf", fo.tfidf);
    cJSON_AddNumberToObject(jf, "seconds", t_feat);

    if (elm_stratified_split(c.label, n, 2, elm_cfg_float(cfg, "validate.test_fraction"), run->seed,
                             is_test, err)) {
        elm_err_prefix(err, "[validate]");
        goto done;
    }
    if (elm_cfg_bool(cfg, "validate.cv")) {
        fold = malloc((size_t)n * sizeof *fold);
        if (!fold) {
            elm_err(err, "out of memory");
            goto done;
        }
        if (run_cv(run, &models, &X, c.label, &rf, (int)elm_cfg_int(cfg, "validate.folds"),
                   (int)elm_cfg_int(cfg, "validate.cv_repeats"), fold, out, err)) {
            elm_err_prefix(err, "[validate] cv");
            goto done;
        }
    }
    if (export_dir && export_all(export_dir, &tf, &X, c.label, &c, fold, is_test, err)) goto done;
    if (elm_split_make(&X, c.label, is_test, 1, &s, err)) goto done;
    proba = malloc((size_t)s.nte * 2 * sizeof *proba);
    pred = malloc((size_t)s.nte * sizeof *pred);
    double *p_real = malloc((size_t)s.nte * sizeof *p_real);
    if (!proba || !pred || !p_real) {
        free(p_real);
        elm_err(err, "out of memory");
        goto done;
    }
    cJSON *js = cJSON_AddObjectToObject(out, "split");
    cJSON_AddNumberToObject(js, "train", s.ntr);
    cJSON_AddNumberToObject(js, "test", s.nte);
    cJSON_AddNumberToObject(js, "test_fraction", elm_cfg_float(cfg, "validate.test_fraction"));
    cJSON *jt = cJSON_AddObjectToObject(out, "test");
    ElmMetrics mt;
    for (int k = 0; k < 2; k++) {
        if (!(k == 0 ? models.nb : models.gnb)) continue;
        double sm = k == 0 ? elm_cfg_float(cfg, "validate.nb.alpha")
                           : elm_cfg_float(cfg, "validate.gnb.var_smoothing");
        double t =
            run_nb(k == 0 ? ELM_NB_MULTINOMIAL : ELM_NB_GAUSSIAN, sm, &s, run->threads, proba, err);
        if (t < 0) {
            free(p_real);
            goto done;
        }
        if (export_dir) { // the test rows' probabilities, (test, 2) row-major
            elm_path_join(path, sizeof path, export_dir,
                          k == 0 ? "proba_mnb.npy" : "proba_gnb.npy");
            if (elm_npy_write(path, "<f8", proba, (size_t)s.nte * 2, 8, err)) {
                free(p_real);
                goto done;
            }
        }
        elm_argmax_rows(proba, s.nte, 2, pred);
        for (int i = 0; i < s.nte; i++) p_real[i] = proba[2 * i + 1];
        elm_metrics_binary(s.yte, pred, p_real, s.nte, &mt);
        cJSON *o = metrics_json(&mt);
        cJSON_AddNumberToObject(o, "seconds", t);
        cJSON_AddItemToObject(jt, k == 0 ? "multinomial_nb" : "gaussian_nb", o);
    }
    if (models.rf) {
        ElmForestOpts tuned = rf;
        if (G > 0) {
            gres = calloc((size_t)G, sizeof *gres);
            int best = 0;
            ElmProgress p;
            elm_progress_start(&p, "validate grid", "fits", 0, run->quiet);
            double tg = elm_now();
            if (!gres || elm_grid_search(&grid, &rf, &s.Xtr, s.ytr, 2,
                                         (int)elm_cfg_int(cfg, "validate.grid_folds"), run->seed,
                                         gres, &best, &p, err)) {
                free(p_real);
                if (!gres) elm_err(err, "out of memory");
                elm_err_prefix(err, "[validate] grid search");
                free(gres);
                gres = NULL;
                goto done;
            }
            elm_progress_finish(&p);
            tuned = gres[best].opts;
            tuned.oob_score = rf.oob_score;
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
        }
        ElmProgress p;
        elm_progress_start(&p, "validate forest", "trees", (uint64_t)tuned.n_estimators,
                           run->quiet);
        double tr = elm_now();
        if (elm_forest_fit(&forest, &tuned, &s.Xtr, s.ytr, 2, &p, err)) {
            free(p_real);
            elm_err_prefix(err, "[validate] random forest");
            goto done;
        }
        elm_forest_predict_proba(&forest, &s.Xte, 0, 0, proba);
        double t_rf = elm_now() - tr;
        elm_progress_finish(&p);
        elm_argmax_rows(proba, s.nte, 2, pred);
        for (int i = 0; i < s.nte; i++) p_real[i] = proba[2 * i + 1];
        elm_metrics_binary(s.yte, pred, p_real, s.nte, &mt);
        cJSON *o = metrics_json(&mt);
        cJSON_AddNumberToObject(o, "seconds", t_rf);
        cJSON_AddItemToObject(o, "params", forest_params_json(&tuned));
        if (!isnan(forest.oob_score)) cJSON_AddNumberToObject(o, "oob_score", forest.oob_score);
        double nodes = 0, depth = 0;
        for (int t = 0; t < tuned.n_estimators; t++) {
            int dmax = 0;
            for (int i = 0; i < forest.trees[t].n_nodes; i++)
                if (forest.trees[t].nodes[i].depth > dmax) dmax = forest.trees[t].nodes[i].depth;
            nodes += forest.trees[t].n_nodes;
            depth += dmax;
        }
        cJSON_AddNumberToObject(o, "mean_tree_nodes", nodes / tuned.n_estimators);
        cJSON_AddNumberToObject(o, "mean_tree_depth", depth / tuned.n_estimators);
        cJSON_AddItemToObject(jt, "random_forest", o);
        // The most important terms.
        int top = (int)elm_cfg_int(cfg, "validate.top_features");
        cJSON *ji = cJSON_AddArrayToObject(o, "top_features");
        Ranked *r = malloc((size_t)tf.n_terms * sizeof *r);
        if (r) {
            for (int j = 0; j < tf.n_terms; j++) r[j].row = j, r[j].p = forest.importances[j];
            qsort(r, (size_t)tf.n_terms, sizeof *r, cmp_ranked);
            for (int j = 0; j < top && j < tf.n_terms; j++) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "term", elm_textfeat_term(&tf, r[j].row));
                cJSON_AddNumberToObject(e, "importance", r[j].p);
                cJSON_AddItemToArray(ji, e);
            }
            free(r);
        }
    }
    // Viable tweets: generated test rows the tuned model (the forest, else the last NB) calls
    // real, most convincing first.
    Ranked *v = malloc((size_t)s.nte * sizeof *v);
    int nv = 0, n_gen_test = 0;
    double thr = elm_cfg_float(cfg, "validate.viable_threshold");
    if (!v) {
        free(p_real);
        elm_err(err, "out of memory");
        goto done;
    }
    for (int i = 0; i < s.nte; i++) {
        if (s.yte[i] != 0) continue;
        n_gen_test++;
        if (p_real[i] >= thr && (thr > 0 || pred[i] == 1))
            v[nv].row = s.rows_te[i], v[nv++].p = p_real[i];
    }
    qsort(v, (size_t)nv, sizeof *v, cmp_ranked);
    free(p_real);
    elm_path_join(dir, sizeof dir, run->dir, "validate");
    if (elm_mkdirs(dir, err)) {
        free(v);
        goto done;
    }
    elm_path_join(path, sizeof path, dir, "viable.jsonl");
    ElmAtomicFile af;
    if (elm_atomic_open(&af, path, err)) {
        free(v);
        goto done;
    }
    for (int i = 0; i < nv; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "text", c.text[v[i].row]);
        cJSON_AddNumberToObject(e, "p_real", v[i].p);
        cJSON_AddNumberToObject(e, "rank", i + 1);
        cJSON_AddNumberToObject(e, "source_line", c.line[v[i].row]);
        char *line = cJSON_PrintUnformatted(e);
        fprintf(af.f, "%s\n", line);
        free(line);
        cJSON_Delete(e);
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
        elm_err(err, "out of memory writing metrics.json");
        goto done;
    }
    // metrics.json first: viable.jsonl only lands when every number did.
    int wrc = elm_write_file_atomic(path, text, strlen(text), err);
    free(text);
    if (wrc) {
        elm_atomic_abort(&af);
        goto done;
    }
    if (elm_atomic_commit(&af, err)) goto done;
    rc = 0;
done:
    elm_forest_free(&forest);
    if (gres) elm_grid_results_free(gres, G);
    free(gres);
    cJSON_Delete(out);
    elm_split_free(&s);
    free(proba), free(pred), free(is_test), free(fold);
    elm_csr_free(&X);
    elm_textfeat_free(&tf);
    elm_corpus_free(&c);
    return rc;
}

int elm_validate_run(ElmRun *run, ElmError *err) {
    return elm_validate_run_export(run, NULL, err);
}
