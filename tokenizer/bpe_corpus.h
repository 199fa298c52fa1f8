// bpe_corpus.h — encodes many documents at once on several threads, keeping their order.
// Used by `elm tokenize` (shards, --batch) and the benchmark.
#ifndef ELM_CORPUS_H
#define ELM_CORPUS_H

#include "tokenizer/bpe.h"
#include "engine/base/progress.h"

#include <stddef.h>
#include <stdint.h>

// Encodes texts[i][0..lens[i]) for every i. On success *ids holds all ids, document after
// document, and the ids of document i are (*ids)[(*doc_off)[i] .. (*doc_off)[i + 1]); both are
// malloc'd. prog (may be NULL) is advanced in bytes.
int elm_bpe_encode_docs(const ElmBpe *bpe, const char *const *texts, const size_t *lens,
                        size_t n_docs, int allow_special, int threads, ElmProgress *prog,
                        int32_t **ids, size_t **doc_off, ElmError *err);

#endif
