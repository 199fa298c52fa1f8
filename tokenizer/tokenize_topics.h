// tokenize_topics.h — the topics of `elm topicfit` (eval/topicfit.h) as the tokenize stage reads
// them under [train] condition = account+topic: each topic's name and each clean.jsonl line's.
#ifndef ELM_TOKENIZE_TOPICS_H
#define ELM_TOKENIZE_TOPICS_H

#include "engine/base/error.h"
#include "engine/config/run.h"

#include <stddef.h>

typedef struct ElmTokenizeTopics {
    int k;
    char **name;  // (k) by id, from topicfit/topicfit.json
    int *by_line; // (n_lines) the topic of clean.jsonl's line i + 1 (-1: a blank line)
    size_t n_lines;
} ElmTokenizeTopics;

// Reads <run>/topicfit/topicfit.json and topicfit/doc_topics.txt; a missing, malformed or
// out-of-range file is one line naming it and what to rerun.
int elm_tokenize_topics_load(const ElmRun *run, ElmTokenizeTopics *t, ElmError *err);
void elm_tokenize_topics_free(ElmTokenizeTopics *t);

// The topic of clean.jsonl's line `line` (1-based), or -1 with err set when there is none.
int elm_tokenize_topics_of_line(const ElmTokenizeTopics *t, size_t line, ElmError *err);

#endif
