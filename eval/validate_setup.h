// validate_setup.h — what `elm validate` (validate.c) and `elm bench` (bench_validators.c)
// share: the [validate] options read from the config, the texts, and a train/test split.
#ifndef ELM_VALIDATE_SETUP_H
#define ELM_VALIDATE_SETUP_H

#include "eval/corpus.h"
#include "eval/gridsearch.h"
#include "eval/sparse.h"
#include "eval/textfeat.h"
#include "engine/config/run.h"

// The feature options: validate.ngram_min/max, max_features, min_df, max_df, stop_words,
// tfidf, binary (checked).
int elm_validate_feat_opts(const ElmConfig *cfg, ElmTextFeatOpts *fo, ElmError *err);
// The forest options validate.rf.* with the run's seed and threads (checked).
int elm_validate_forest_opts(const ElmRun *run, ElmForestOpts *o, ElmError *err);
// The grid validate.grid.* (axes left empty are not searched).
int elm_validate_grid(const ElmConfig *cfg, ElmGrid *g, ElmError *err);
// The texts of the [validate] section, balanced when validate.balance is set.
int elm_validate_load(ElmCorpus *c, const ElmRun *run, ElmError *err);

typedef struct ElmSplit {
    ElmCsr Xtr, Xte;
    int *ytr, *yte, *rows_te; // rows_te: the row of X of each test row
    int ntr, nte;
} ElmSplit;

// Rows with part[i] != test_part train, part[i] == test_part test.
int elm_split_make(const ElmCsr *X, const int *y, const int *part, int test_part, ElmSplit *s,
                   ElmError *err);
void elm_split_free(ElmSplit *s);

#endif
