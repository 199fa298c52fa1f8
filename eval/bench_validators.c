// bench_validators.c — `elm bench` for the validators: every part runs on the same texts,
// features and split as `elm validate`, so a peer given the features `elm validate --export`
// writes sees the same problem. Times are wall seconds of the calls alone (no process start,
// no file reading), each part's median over `repeat` runs after `warmup` runs.
#include "eval/bench_validators.h"
#include "eval/forest.h"
#include "eval/metrics.h"
#include "eval/naive_bayes.h"
#include "eval/validate_setup.h"
#include "engine/base/fsutil.h"
#include "engine/base/stats.h"

#include <stdlib.h>
#include <string.h>

// One part's timings: total, fit, predict per timed run.
typedef struct Times {
    double *total, *fit, *predict;
    int n;
} Times;

static cJSON *times_json(const Times *t, double accuracy) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "seconds", elm_median(t->total, t->n));
    cJSON_AddNumberToObject(o, "min_seconds", elm_min(t->total, t->n));
    cJSON_AddNumberToObject(o, "fit_seconds", elm_median(t->fit, t->n));
    cJSON_AddNumberToObject(o, "predict_seconds", elm_median(t->predict, t->n));
    cJSON_AddNumberToObject(o, "runs", t->n);
    cJSON_AddItemToObject(o, "run_seconds", cJSON_CreateDoubleArray(t->total, t->n));
    if (accuracy >= 0) cJSON_AddNumberToObject(o, "accuracy", accuracy);
    return o;
}

static int has_part(const char *parts, const char *name) {
    size_t n = strlen(name);
    for (const char *p = parts; (p = strstr(p, name)); p += n)
        if ((p == parts || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
    return 0;
}

static int check_parts(const char *parts, ElmError *err) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", parts);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (!has_part(ELM_BENCH_VALIDATOR_PARTS, t))
            return elm_err(err, "--only: \"%s\" is not one of %s", t, ELM_BENCH_VALIDATOR_PARTS);
    return 0;
}

// Fits and predicts one model kind on the split; fills t->fit/predict/total[i].
static int one_run(const char *part, const ElmRun *run, const ElmForestOpts *rf, const ElmSplit *s,
                   double *proba, double *fit_s, double *pred_s, ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    double t0 = elm_now(), t1;
    if (!strcmp(part, "rf")) {
        ElmForest f;
        if (elm_forest_fit(&f, rf, &s->Xtr, s->ytr, 2, NULL, err)) return -1;
        t1 = elm_now();
        elm_forest_predict_proba(&f, &s->Xte, 0, 0, proba);
        *pred_s = elm_now() - t1;
        elm_forest_free(&f);
    } else {
        int gauss = !strcmp(part, "gnb");
        ElmNaiveBayes nb;
        double sm = gauss ? elm_cfg_float(cfg, "validate.gnb.var_smoothing")
                          : elm_cfg_float(cfg, "validate.nb.alpha");
        if (elm_nb_fit(&nb, gauss ? ELM_NB_GAUSSIAN : ELM_NB_MULTINOMIAL, sm, &s->Xtr, s->ytr, 2,
                       run->threads, err))
            return -1;
        t1 = elm_now();
        elm_nb_predict_proba(&nb, &s->Xte, proba, run->threads);
        *pred_s = elm_now() - t1;
        elm_nb_free(&nb);
    }
    *fit_s = t1 - t0;
    return 0;
}

int elm_bench_validators(ElmRun *run, const char *parts, int repeat, int warmup, cJSON *out,
                         ElmError *err) {
    if (check_parts(parts, err)) return -1;
    if (repeat < 1) return elm_err(err, "--repeat must be >= 1");
    const ElmConfig *cfg = &run->cfg;
    ElmTextFeatOpts fo;
    ElmForestOpts rf;
    if (elm_validate_feat_opts(cfg, &fo, err) || elm_validate_forest_opts(run, &rf, err)) return -1;
    rf.oob_score = 0;
    ElmCorpus c;
    if (elm_validate_load(&c, run, err)) return -1;
    int n = c.n, rc = -1;
    ElmTextFeat tf = {0};
    ElmCsr X = {0};
    ElmSplit s = {0};
    Times t = {0};
    int *is_test = NULL, *pred = NULL;
    double *proba = NULL;
    t.n = repeat;
    if (!(is_test = elm_malloc((size_t)n * sizeof *is_test, err)) ||
        !(t.total = elm_malloc((size_t)repeat * sizeof(double), err)) ||
        !(t.fit = elm_malloc((size_t)repeat * sizeof(double), err)) ||
        !(t.predict = elm_malloc((size_t)repeat * sizeof(double), err)))
        goto done;
    cJSON *jd = cJSON_AddObjectToObject(out, "data");
    cJSON_AddNumberToObject(jd, "rows", n);
    cJSON_AddNumberToObject(out, "threads", run->threads);
    cJSON_AddNumberToObject(out, "repeat", repeat);
    cJSON_AddNumberToObject(out, "warmup", warmup);
    // Features: fitted warmup + repeat times; the last fit's matrix is kept.
    int feat = has_part(parts, "features");
    for (int i = 0; i < (feat ? warmup + repeat : 1); i++) {
        elm_textfeat_free(&tf);
        elm_csr_free(&X);
        double t0 = elm_now();
        if (elm_textfeat_fit(&tf, &fo, (const char *const *)c.text, n, &X, err)) {
            elm_err_prefix(err, "[validate] features");
            goto done;
        }
        if (feat && i >= warmup) t.total[i - warmup] = t.fit[i - warmup] = elm_now() - t0;
        if (feat && i >= warmup) t.predict[i - warmup] = 0;
    }
    cJSON_AddNumberToObject(jd, "terms", tf.n_terms);
    cJSON_AddNumberToObject(jd, "nnz", (double)X.nnz);
    if (feat) cJSON_AddItemToObject(out, "features", times_json(&t, -1));
    if (elm_stratified_split(c.label, n, 2, elm_cfg_float(cfg, "validate.test_fraction"), run->seed,
                             is_test, err) ||
        elm_split_make(&X, c.label, is_test, 1, &s, err))
        goto done;
    cJSON_AddNumberToObject(jd, "train", s.ntr);
    cJSON_AddNumberToObject(jd, "test", s.nte);
    if (!(proba = elm_malloc((size_t)s.nte * 2 * sizeof *proba, err)) ||
        !(pred = elm_malloc((size_t)s.nte * sizeof *pred, err)))
        goto done;
    static const char *const models[] = {"mnb", "gnb", "rf"};
    for (int m = 0; m < 3; m++) {
        if (!has_part(parts, models[m])) continue;
        for (int i = 0; i < warmup + repeat; i++) {
            double f, p;
            if (one_run(models[m], run, &rf, &s, proba, &f, &p, err)) {
                elm_err_prefix(err, "[validate] %s", models[m]);
                goto done;
            }
            if (i < warmup) continue;
            t.fit[i - warmup] = f, t.predict[i - warmup] = p, t.total[i - warmup] = f + p;
        }
        elm_argmax_rows(proba, s.nte, 2, pred);
        cJSON_AddItemToObject(out, models[m], times_json(&t, elm_accuracy(s.yte, pred, s.nte)));
    }
    rc = 0;
done:
    free(t.total), free(t.fit), free(t.predict);
    free(is_test), free(proba), free(pred);
    elm_split_free(&s);
    elm_csr_free(&X);
    elm_textfeat_free(&tf);
    elm_corpus_free(&c);
    return rc;
}
