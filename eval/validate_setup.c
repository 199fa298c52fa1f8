// validate_setup.c — the parts of `elm validate` that `elm bench` repeats: reading the
// [validate] options, loading (and balancing) the texts, and splitting the feature rows.
#include "eval/validate_setup.h"
#include "engine/base/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int elm_validate_feat_opts(const ElmConfig *cfg, ElmTextFeatOpts *fo, ElmError *err) {
    elm_textfeat_defaults(fo);
    fo->ngram_min = (int)elm_cfg_int(cfg, "validate.ngram_min");
    fo->ngram_max = (int)elm_cfg_int(cfg, "validate.ngram_max");
    fo->max_features = (int)elm_cfg_int(cfg, "validate.max_features");
    fo->min_df = elm_cfg_float(cfg, "validate.min_df");
    fo->max_df = elm_cfg_float(cfg, "validate.max_df");
    fo->stop_words = elm_cfg_bool(cfg, "validate.stop_words");
    fo->tfidf = elm_cfg_bool(cfg, "validate.tfidf");
    fo->binary = elm_cfg_bool(cfg, "validate.binary");
    if (elm_textfeat_check(fo, err)) return elm_err_prefix(err, "[validate]"), -1;
    return 0;
}

int elm_validate_forest_opts(const ElmRun *run, ElmForestOpts *o, ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    elm_forest_defaults(o);
    o->n_estimators = (int)elm_cfg_int(cfg, "validate.rf.n_estimators");
    o->criterion = elm_cfg_enum(cfg, "validate.rf.criterion") ? ELM_CRIT_ENTROPY : ELM_CRIT_GINI;
    o->max_depth = (int)elm_cfg_int(cfg, "validate.rf.max_depth");
    o->min_samples_split = (int)elm_cfg_int(cfg, "validate.rf.min_samples_split");
    o->min_samples_leaf = (int)elm_cfg_int(cfg, "validate.rf.min_samples_leaf");
    o->bootstrap = elm_cfg_bool(cfg, "validate.rf.bootstrap");
    o->oob_score = elm_cfg_bool(cfg, "validate.rf.oob_score") && o->bootstrap;
    o->seed = run->seed;
    o->threads = run->threads;
    const char *mf = elm_cfg_str(cfg, "validate.rf.max_features");
    if (!strcmp(mf, "sqrt"))
        o->max_feat = ELM_MAXF_SQRT;
    else if (!strcmp(mf, "log2"))
        o->max_feat = ELM_MAXF_LOG2;
    else if (!strcmp(mf, "all"))
        o->max_feat = ELM_MAXF_ALL;
    else {
        char *end;
        double f = strtod(mf, &end);
        if (end == mf || *end || !(f > 0 && f <= 1)) {
            char where[256];
            return elm_err(err,
                           "%s: validate.rf.max_features = \"%s\": want sqrt, log2, all or a "
                           "fraction in (0, 1]",
                           elm_cfg_where(cfg, "validate.rf.max_features", where, sizeof where), mf);
        }
        o->max_feat = ELM_MAXF_FRACTION;
        o->max_feat_frac = f;
    }
    return elm_forest_check(o, err);
}

int elm_validate_grid(const ElmConfig *cfg, ElmGrid *g, ElmError *err) {
    static const char *const axes[] = {
        "n_estimators",     "criterion",    "max_depth", "min_samples_split",
        "min_samples_leaf", "max_features", "bootstrap", NULL};
    memset(g, 0, sizeof *g);
    for (int i = 0; axes[i]; i++) {
        char key[64];
        snprintf(key, sizeof key, "validate.grid.%s", axes[i]);
        const char *v = elm_cfg_str(cfg, key);
        if (!v[0]) continue;
        if (elm_grid_add(g, axes[i], v, err)) {
            char where[256];
            elm_err_prefix(err, "%s", elm_cfg_where(cfg, key, where, sizeof where));
            return -1;
        }
    }
    return 0;
}

void elm_split_free(ElmSplit *s) {
    elm_csr_free(&s->Xtr), elm_csr_free(&s->Xte);
    free(s->ytr), free(s->yte), free(s->rows_te);
}

int elm_split_make(const ElmCsr *X, const int *y, const int *part, int test_part, ElmSplit *s,
                   ElmError *err) {
    int n = X->n_rows;
    memset(s, 0, sizeof *s);
    int *rows = malloc((size_t)n * sizeof *rows);
    s->ytr = malloc((size_t)n * sizeof *s->ytr);
    s->yte = malloc((size_t)n * sizeof *s->yte);
    s->rows_te = malloc((size_t)n * sizeof *s->rows_te);
    if (!rows || !s->ytr || !s->yte || !s->rows_te) {
        free(rows);
        elm_split_free(s);
        return elm_err(err, "out of memory splitting rows");
    }
    int ntr = 0, nte = 0;
    for (int i = 0; i < n; i++) {
        if (part[i] != test_part)
            rows[ntr] = i, s->ytr[ntr++] = y[i];
        else
            s->rows_te[nte] = i, s->yte[nte++] = y[i];
    }
    s->ntr = ntr, s->nte = nte;
    int rc = elm_csr_take_rows(X, rows, ntr, &s->Xtr, err);
    if (!rc) rc = elm_csr_take_rows(X, s->rows_te, s->nte, &s->Xte, err);
    free(rows);
    if (rc) elm_split_free(s);
    return rc;
}

// Keeps every text of the smaller class and as many random ones of the larger, so that 50%
// accuracy means "cannot tell them apart" (the study's set was balanced by construction).
static int balance(ElmCorpus *c, uint64_t seed, ElmError *err) {
    int n1 = 0;
    for (int i = 0; i < c->n; i++) n1 += c->label[i] == 1;
    int n0 = c->n - n1, big = n1 > n0 ? 1 : 0, keep_big = n1 < n0 ? n1 : n0;
    if (n1 == n0) return 0;
    int n_big = big ? n1 : n0;
    int *idx = malloc((size_t)n_big * sizeof *idx);
    char *keep = calloc((size_t)c->n, 1);
    if (!idx || !keep) {
        free(idx), free(keep);
        return elm_err(err, "out of memory balancing classes");
    }
    int m = 0;
    for (int i = 0; i < c->n; i++) {
        if (c->label[i] == big)
            idx[m++] = i;
        else
            keep[i] = 1;
    }
    uint64_t s = seed ^ 0x510e527fade682d1ull;
    for (int i = 0; i < keep_big; i++) { // partial Fisher-Yates
        uint64_t z = elm_rng_next(&s);
        int j = i + (int)(z % (uint64_t)(n_big - i)), t = idx[i];
        idx[i] = idx[j], idx[j] = t;
        keep[idx[i]] = 1;
    }
    int w = 0;
    for (int i = 0; i < c->n; i++) {
        if (!keep[i]) {
            free(c->text[i]);
            continue;
        }
        c->text[w] = c->text[i], c->label[w] = c->label[i], c->line[w] = c->line[i];
        w++;
    }
    c->n = w;
    free(idx), free(keep);
    return 0;
}

int elm_validate_load(ElmCorpus *c, const ElmRun *run, ElmError *err) {
    if (elm_corpus_load_config(c, run, "validate", 1, err)) return -1;
    if (elm_cfg_bool(&run->cfg, "validate.balance") && balance(c, run->seed, err)) {
        elm_corpus_free(c);
        return -1;
    }
    return 0;
}
