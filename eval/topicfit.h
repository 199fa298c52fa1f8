// topicfit.h — the `elm topicfit` stage: LDA on the real cleaned tweets before training, whose
// topics tag the training documents under [train] condition = account+topic, and the saved model.
//
// The stage reads <run>/clean.jsonl and, with [train] condition = account+topic, fits LDA with
// [topicfit]'s settings (word counts as scikit-learn's CountVectorizer makes them, batch
// variational Bayes), names each topic by its heaviest word not already naming an earlier topic,
// and writes <run>/topicfit/topicfit.json (each topic's id, name, top words and documents),
// topicfit/lda.json (the vocabulary in column order and lambda, so texts can be scored later
// by the same model) and topicfit/doc_topics.txt (one topic id a line of clean.jsonl, -1 for a
// blank line): each document's dominant topic, where a document with no vocabulary word gets
// the topic most documents have. Without that condition it writes topicfit.json alone,
// {"condition": ...}, and removes the other two. tokenizer/tokenize.c reads doc_topics.txt and
// topicfit.json (files, not this header: the two are siblings).
#ifndef ELM_TOPICFIT_H
#define ELM_TOPICFIT_H

#include "engine/config/run.h"
#include "eval/lda.h"
#include "eval/textfeat.h"

#include <stdint.h>

int elm_topicfit_run(ElmRun *run, ElmError *err);

// A saved model: its vocabulary, its LDA and its topics' names (by id).
typedef struct ElmTopicFit {
    ElmTextFeat tf;
    ElmLda lda;
    char **names; // (lda.k)
    double *docs; // (lda.k) real tweets topicfit gave each topic (topicfit.json "documents")
    uint64_t seed;
} ElmTopicFit;

// Loads <run>/topicfit/lda.json and the names and documents of topicfit.json. Returns 1 (and an
// empty fit) when the run's topicfit stage fitted no model, -1 on a missing or malformed file.
int elm_topicfit_load(const ElmRun *run, ElmTopicFit *f, ElmError *err);
void elm_topicfit_free(ElmTopicFit *f);

// The dominant topic of each of n texts under the model (-1 for a text with no vocabulary word).
int elm_topicfit_dominant(const ElmTopicFit *f, const char *const *texts, int n, int threads,
                          int *topic, ElmError *err);

// The index of the topic named `name` or given by its id ("3"), -1 when there is none.
int elm_topicfit_find(char *const *names, int k, const char *name);

#endif
