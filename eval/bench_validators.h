// bench_validators.h — `elm bench`'s validator parts: the TF-IDF features, Multinomial and
// Gaussian NB and the random forest of `elm validate`, timed in-process (median of repeats).
#ifndef ELM_BENCH_VALIDATORS_H
#define ELM_BENCH_VALIDATORS_H

#include "engine/config/run.h"

#include <cjson/cJSON.h>

// The part names elm_bench_validators knows, comma-separated.
#define ELM_BENCH_VALIDATOR_PARTS "features,mnb,gnb,rf"

// Runs each part named in `parts` (a comma list of ELM_BENCH_VALIDATOR_PARTS) on the texts,
// features and 80/20 split that `elm validate` builds from the same config: `warmup` untimed
// runs, then `repeat` timed ones. Adds one object per part to `out`: seconds (median), min,
// every run's seconds, fit and predict medians, and the test accuracy.
int elm_bench_validators(ElmRun *run, const char *parts, int repeat, int warmup, cJSON *out,
                         ElmError *err);

#endif
