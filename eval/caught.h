// caught.h — the seed's look before it picked viable tweets: the generated test tweets the
// classifier caught against those it took for real, their lengths and their words side by side.
#ifndef ELM_CAUGHT_H
#define ELM_CAUGHT_H

#include "engine/base/error.h"

#include <cjson/cJSON.h>

// texts[0..n) with passed[i] = 1 when the classifier took text i for real. For each group
// ("caught", "passed"): count, mean and median length in characters (code points) and in words
// (runs of non-space), and its `top` most frequent words as topwords.c ranks them (stop words
// dropped; count, share of the group's word tokens), with those not in the other group's list
// ("only"). NULL on error.
cJSON *elm_caught_json(const char *const *texts, const int *passed, int n, int top, ElmError *err);

#endif
