// topic_hits.h — how well topic conditioning works: the generated tweets scored by topicfit's
// LDA (eval/topicfit.h), each conditioned text's dominant topic against the one asked for.
//
// A text's "topic" field names the topic it was conditioned on; texts without one
// (unconditioned, or with only a "prior_topic" of the model's own drawing) give the base rate:
// the share of them whose dominant topic is t. The hit rate of topic t is the share of texts
// asked for t whose dominant topic is t; the overall base rate is what the asked texts would hit
// by chance, sum over t of asked(t) * base(t) / asked. Without unconditioned generated texts,
// base(t) is the share of the real tweets topicfit gave topic t ("base_source": "real").
#ifndef ELM_TOPIC_HITS_H
#define ELM_TOPIC_HITS_H

#include "engine/config/run.h"

#include <cjson/cJSON.h>

// Adds "conditioning" to out when the run has a topicfit model and generated tweets (folder or
// file as topics.generated names, default <run>/generated/tweets.jsonl); nothing otherwise.
int elm_topic_hits_json(const ElmRun *run, cJSON *out, ElmError *err);

#endif
