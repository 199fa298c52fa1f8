// steering.h — how well keyword steering worked: the keyword hit rate of the steered generated
// tweets against the unsteered ones', and what it cost in mean log-probability.
#ifndef ELM_STEERING_H
#define ELM_STEERING_H

#include "engine/config/run.h"

#include <cjson/cJSON.h>

// Per keyword list the generated tweets were steered to (their "keywords" field, e.g.
// "moon, dough"): count, hit_rate (share holding at least one keyword as a word — its word
// tokens, as elm_tokenize lowercases them, in a row), mean_logprob (under the unsteered model,
// which generate records), and the same two for the unsteered tweets of the file (base_count,
// base_hit_rate, base_mean_logprob). Adds "keywords" to out when any tweet was steered.
int elm_steering_run(const ElmRun *run, cJSON *out, ElmError *err);

#endif
