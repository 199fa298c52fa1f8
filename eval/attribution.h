// attribution.h — who wrote it: an account classifier (validate's TF-IDF features, multinomial
// Naive Bayes) trained on real tweets labelled by account, for measuring the personal mix.
#ifndef ELM_ATTRIBUTION_H
#define ELM_ATTRIBUTION_H

#include "engine/config/run.h"

#include <cjson/cJSON.h>

// Texts with the account each belongs to (real) or was asked for (generated; NULL = none), the
// keywords a generated text was steered to (NULL = none) and its mean log-probability (NaN = none).
typedef struct ElmAttrTexts {
    char **text, **account, **keywords;
    double *mean_logprob;
    int n, cap;
} ElmAttrTexts;

// JSONL with "text" and optional "account", "keywords" (strings) and "mean_logprob"; appends to t.
int elm_attribution_load(ElmAttrTexts *t, const char *path, ElmError *err);
// The generated tweets [validate] generated names (a file, or a folder's *.jsonl in name order;
// default <run>/generated/tweets.jsonl); none there is no error.
int elm_attribution_load_generated(const ElmRun *run, ElmAttrTexts *g, ElmError *err);
void elm_attribution_texts_free(ElmAttrTexts *t);

// The study's attribution: the real tweets of [validate] real (default <run>/clean.jsonl), split
// as validate splits (validate.test_fraction, the run's seed, stratified by account); the model
// fitted on the train rows; its accuracy on the held-out real rows is the ceiling; every
// generated tweet is attributed, grouped by the account it was asked for ("none" when
// unconditioned). Adds "attribution" to out and writes <run>/validate/attribution.jsonl (one
// line per attributed text, every class's probability); fewer than two accounts, or a labelled
// [validate] data file, gives "attribution": {"skipped": why} and an empty file.
int elm_attribution_run(const ElmRun *run, cJSON *out, ElmError *err);

#endif
