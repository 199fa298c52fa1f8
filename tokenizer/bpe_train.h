// bpe_train.h — learns a byte-level BPE vocabulary (GPT-2 pre-tokenisation, GPT-2 file formats)
// from documents.
#ifndef ELM_TRAIN_H
#define ELM_TRAIN_H

#include "engine/base/error.h"

#include <stddef.h>

typedef struct ElmBpeTrainInfo {
    int vocab_size;       // tokens written: 256 bytes + merges + <|endoftext|>
    int n_merges;         // merge lines written
    int n_reused;         // merges whose bytes were already a token (applied, not written)
    size_t n_words;       // pre-tokenised pieces in the corpus
    size_t n_unique;      // distinct pieces
    double seconds;       // total
    double count_seconds; // pre-tokenising and counting
} ElmBpeTrainInfo;

// Learns vocab_size tokens (>= 257): the 256 bytes (ids 0..255 in GPT-2's order), then merges
// of the most frequent adjacent pair (ties: the smaller pair of ids), one new id each, then
// <|endoftext|> last. Stops early when no pair is left. Writes out_dir/encoder.json and
// out_dir/vocab.bpe (creating out_dir) atomically, in the exact layout of GPT-2's files, so that
// tiktoken's data_gym_to_mergeable_bpe_ranks and HF tokenizers load them.
int elm_bpe_train(const char *const *texts, const size_t *lens, size_t n_docs, int vocab_size,
                  int threads, int quiet, const char *out_dir, ElmBpeTrainInfo *info,
                  ElmError *err);

#endif
