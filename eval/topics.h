// topics.h — the `elm topics` stage: LDA topics of real and generated tweets (topic words,
// held-out perplexity, coherence, a k/alpha/beta sweep, topic shares per source) and top words
// real vs generated, into <run>/topics/topics.json. Called by `elm topics` and `elm run`.
#ifndef ELM_TOPICS_H
#define ELM_TOPICS_H

#include "engine/config/run.h"

int elm_topics_run(ElmRun *run, ElmError *err);
// With export_dir: also the count matrix, vocabulary, held-out flags, source labels and the
// fitted topic-word matrix (lambda, k x V row-major) as .npy, for comparisons.
int elm_topics_run_export(ElmRun *run, const char *export_dir, ElmError *err);

#endif
