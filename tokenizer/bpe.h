// bpe.h — GPT-2 byte-level BPE: load encoder.json + vocab.bpe, encode text to ids exactly as
// OpenAI's GPT-2 (tiktoken "gpt2") does, decode ids to bytes.
#ifndef ELM_BPE_H
#define ELM_BPE_H

#include "engine/base/error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ElmBpe ElmBpe;

// Loads a vocabulary: encoder.json (token string -> id) and vocab.bpe (merges, by rank).
ElmBpe *elm_bpe_load(const char *encoder_json, const char *vocab_bpe, ElmError *err);
// Same, from a folder holding both files.
ElmBpe *elm_bpe_load_dir(const char *dir, ElmError *err);
void elm_bpe_free(ElmBpe *bpe);

int elm_bpe_vocab_size(const ElmBpe *bpe);
// Id of <|endoftext|>, or -1 when the vocabulary has none.
int elm_bpe_eot(const ElmBpe *bpe);

// Appends the ids of text[0..n) to the growable array (*ids, *n_ids, *cap). With allow_special,
// "<|endoftext|>" in the text becomes the special id; otherwise it is encoded as plain text.
// Any bytes are accepted (invalid UTF-8 included). Safe to call from several threads at once.
int elm_bpe_encode(const ElmBpe *bpe, const char *text, size_t n, int allow_special, int32_t **ids,
                   size_t *n_ids, size_t *cap, ElmError *err);

// A per-thread encoder: pre-tokeniser state, BPE scratch and a cache of recently encoded words.
// Corpus encoding gives each thread its own worker; elm_bpe_encode makes a short-lived one.
typedef struct ElmBpeWorker ElmBpeWorker;
ElmBpeWorker *elm_bpe_worker_new(const ElmBpe *bpe, ElmError *err);
void elm_bpe_worker_free(ElmBpeWorker *w);
// elm_bpe_encode through a worker (one thread at a time per worker).
int elm_bpe_worker_encode(ElmBpeWorker *w, const char *text, size_t n, int allow_special,
                          int32_t **ids, size_t *n_ids, size_t *cap, ElmError *err);
// The token ids of one pre-tokenised piece, BPE-merged with no cache (for tests): appends to
// out (room for n ids) and returns the count. use_heap picks the O(n log n) merge loop that
// long pieces use instead of the simple scan.
size_t elm_bpe_merge_piece(const ElmBpe *bpe, const char *piece, size_t n, int use_heap,
                           int32_t *out);

// The bytes of one token (not NUL-terminated), or NULL for an id out of range.
const char *elm_bpe_token_bytes(const ElmBpe *bpe, int32_t id, size_t *len);
// Decodes ids into a malloc'd NUL-terminated buffer of *n_out bytes (NULL + err on a bad id).
char *elm_bpe_decode(const ElmBpe *bpe, const int32_t *ids, size_t n, size_t *n_out, ElmError *err);

#endif
