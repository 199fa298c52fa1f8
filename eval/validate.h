// validate.h — the `elm validate` stage: real-vs-generated classifiers (Naive Bayes, random
// forest with grid search) on TF-IDF features; writes <run>/validate/metrics.json and
// viable.jsonl. Called by `elm validate` and `elm run`.
#ifndef ELM_VALIDATE_H
#define ELM_VALIDATE_H

#include "engine/base/dist.h"
#include "engine/config/run.h"

int elm_validate_run(ElmRun *run, ElmError *err);
// As elm_validate_run; with export_dir, also writes the features (CSR as indptr/indices/data
// .npy), vocabulary, labels, source rows, CV folds and the test split there, for comparisons.
int elm_validate_run_export(ElmRun *run, const char *export_dir, ElmError *err);
// As elm_validate_run_export on every rank of dist, the forests' trees and the grid's fits
// spread over them: the same numbers as one process; rank 0 alone writes. Every rank returns
// the same status.
int elm_validate_run_dist(ElmRun *run, const char *export_dir, ElmDist *dist, ElmError *err);

#endif
