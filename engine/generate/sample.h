// sample.h — one row of logits to one token: repetition penalty, no-repeat n-gram, temperature,
// top-k, top-p, then a draw with a counter-based uniform. Used by generate.c and train.c.
//
// The semantics, in this order (the order of HF transformers' logits processors); z are the raw
// logits of the real vocabulary (fp32), c the context the caller passes (prompt + new tokens):
//  1. repetition penalty r: for each distinct t in c, z_t = z_t > 0 ? z_t / r : z_t * r.
//  2. no-repeat n-gram n: every token that would complete an n-gram already present in c
//     (an earlier c[i..i+n-2] equal to the last n-1 tokens of c bans c[i+n-1]) gets z = -inf.
//  3. temperature τ: τ = 0 is greedy (the largest z, lowest id on ties); otherwise z /= τ.
//  4. top-k: with v the k-th largest z (duplicates counted), tokens with z < v are removed.
//  5. top-p: with q = softmax(z) over what is left, sorted by q descending (ties: lower id
//     first), keep the shortest prefix whose mass reaches p (so a token stays iff the mass
//     strictly before it is < p).
//  6. draw: q_t = exp(z_t - max z) / Σ exp(z - max z) over kept tokens (double precision);
//     walk token ids upwards accumulating q and return the first id whose running sum exceeds
//     u * Σ q (the last kept id if rounding runs past the end).
// If steps 2-5 leave nothing (every token banned), there is no token: the sequence ends.
// u comes from elm_sample_uniform(seed, index, position): no state, so a sequence's draws
// depend only on its own seed, index and position — not on the batch it is sampled in.
#ifndef ELM_SAMPLE_H
#define ELM_SAMPLE_H

#include "engine/base/error.h"

#include <stdint.h>

typedef struct ElmSampleParams {
    float temperature;        // 0 = greedy
    int top_k;                // 0 = off
    float top_p;              // 1 = off
    float repetition_penalty; // 1 = off
    int no_repeat_ngram;      // 0 = off
} ElmSampleParams;

// Scratch for one sequence (reused for every token it samples).
typedef struct ElmSampler {
    ElmSampleParams p;
    int vocab;
    double *z;                   // (V) processed logits
    double *q;                   // (V) the final distribution
    struct ElmSampleItem *items; // (V) (value, id) pairs for top-k/top-p selection
    uint8_t *seen;               // (V) marks for the repetition penalty
} ElmSampler;

int elm_sampler_init(ElmSampler *s, const ElmSampleParams *p, int vocab, ElmError *err);
void elm_sampler_free(ElmSampler *s);

// Steps 1-5: fills s->q with the normalised distribution the draw uses (0 for removed tokens).
// Returns the number of tokens kept (0 = none: every token was banned).
int elm_sampler_distribution(ElmSampler *s, const float *logits, const int32_t *ctx, int n_ctx);

// Steps 1-6: the sampled token (-1 when nothing is left). *logprob (may be NULL) receives the
// token's log-probability under the raw model distribution log_softmax(logits).
int32_t elm_sampler_pick(ElmSampler *s, const float *logits, const int32_t *ctx, int n_ctx,
                         double u, double *logprob);

// Step 6 alone: draws from a normalised distribution q (0 = removed) with uniform u in [0, 1).
int32_t elm_sample_draw(const double *q, int vocab, double u);

// The uniform in [0, 1) for draw `position` of sequence `index` under `seed`:
// h = mix(mix(mix(seed) + index) + position) with mix = splitmix64's finaliser applied to
// x + 0x9E3779B97F4A7C15, u = (h >> 11) * 2^-53.
double elm_sample_uniform(uint64_t seed, uint64_t index, uint64_t position);

// log(sum(exp(x))) of a row of logits, in double (for raw-model log-probabilities).
double elm_log_sum_exp(const float *x, int n);

#endif
