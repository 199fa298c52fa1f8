// batcher.h — continuous batching for `elm generate`: a fixed number of slots, each running one
// request at a time; when a sequence ends its slot takes the next request at once. Called by
// gen_device.c (device = cuda) and tests/generate; the model sits behind ElmBatchBackend.
//
// The texts are the ones elm_generate_batch (generate.h) makes: request i continues prompt
// prompts[i mod n_prompts] ("" when there are none) with draws elm_sample_uniform(seed,
// first_index + i, position), ends at <|endoftext|> (tweets), max_new_tokens, max_chars or
// the model's context, and is cut the same way. Nothing depends on the slot a request runs
// in, so the texts are the same for any number of slots, up to the model's arithmetic: the
// CPU gemm blocks rows, so a row's logits can differ in the last bits with its place in the
// batch, and a GPU's bf16 products round differently again; a token changes only when a draw
// falls within that rounding of a boundary.
//
// A backend does three things per slot: start a request (prefill its context; it may defer
// and batch prefills until the next sample: both the CPU and the CUDA backend do, and one
// that cannot prefills one request at a time in `start`), sample the next token from the slot's
// current logits, and advance (append the sampled token and compute the next logits). The
// scheduler:
//   start every slot; loop { sample live slots; finished slots emit their text and start the
//   next request; advance the slots that go on }.
#ifndef ELM_BATCHER_H
#define ELM_BATCHER_H

#include "engine/base/error.h"
#include "engine/generate/generate.h"

#include <stdint.h>

typedef struct ElmBatchBackend {
    void *self;
    int slots; // sequences decoded together
    int vocab; // logits per row
    // Slot `slot` begins request `index` (its uniforms use this index): model context
    // ids[0..n) with the first `skip` ids (<|endoftext|>) not part of the sampler's context.
    int (*start)(void *self, int slot, uint64_t index, const int32_t *ids, int n, int skip,
                 ElmError *err);
    // For every slot with live[s]: draws new token number pos[s] of its request from the
    // slot's current logits (sample.h semantics, <|endoftext|> banned in story mode);
    // tok[s] = the token (-1: nothing was left) and logprob[s] its log-probability under the
    // raw model distribution.
    int (*sample)(void *self, const uint8_t *live, const int *pos, int32_t *tok, double *logprob,
                  ElmError *err);
    // Appends tok[s] to every slot with live[s] and computes the logits after it. Slots without
    // live[s] keep whatever they hold (a request that was started stays started).
    int (*advance)(void *self, const uint8_t *live, const int32_t *tok, ElmError *err);
} ElmBatchBackend;

// What a run did, for the progress line, the tests and the benchmark.
typedef struct ElmBatchStats {
    long long requests;   // texts emitted
    long long steps;      // sample calls
    long long busy;       // slot-steps that sampled a live sequence
    long long total;      // slot-steps in all (steps * slots)
    long long new_tokens; // tokens sampled (before the cut)
    long long max_held;   // finished texts held back to keep the output in index order
} ElmBatchStats;

// Called once per request, in index order, with the finished text.
typedef int (*ElmBatchEmit)(void *user, uint64_t index, const char *prompt, const ElmGenText *t,
                            ElmError *err);

typedef struct ElmBatchJob {
    const ElmGenParams *params;
    const ElmBpe *bpe;          // may be NULL (texts show token ids; prompts must be empty)
    const char *const *prompts; // n_prompts of them (0 = unconditional)
    int n_prompts;
    uint64_t first_index; // request i has index first_index + i
    long long count;      // requests
    int n_ctx;            // the model's positions
    ElmBatchEmit emit;
    void *user;
} ElmBatchJob;

// Positions a slot needs for this job: the longest encoded context plus max_new_tokens, at
// most n_ctx. Fills *cap (backends allocate their caches with it). Checks the prompts as
// elm_generate_batch does (too many tokens or characters is an error).
int elm_batch_capacity(const ElmBatchJob *job, int *cap, ElmError *err);

// Runs every request of the job through the backend. stats may be NULL.
int elm_batch_run(const ElmBatchJob *job, ElmBatchBackend *be, ElmBatchStats *stats, ElmError *err);

// The CPU backend: m's KV cache with `slots` rows of `cap` positions, an ElmSampler per slot.
// eot = <|endoftext|> id (-1 = none); it is banned in story mode.
ElmBatchBackend *elm_batch_cpu_create(ElmGpt2 *m, const ElmGenParams *p, int eot, int slots,
                                      int cap, ElmError *err);
void elm_batch_cpu_free(ElmBatchBackend *be);

#endif
