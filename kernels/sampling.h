// sampling.h — engine/generate/sample.h's sampler on the GPU: one block per sequence applies the
// repetition penalty, no-repeat n-gram bans, temperature (0 = greedy), top-k and top-p to a row
// of fp32 logits and draws with elm_sample_uniform. Called by kernels/gpu/batcher_cuda.c and
// tests/gpu/test_sampling_gpu.c.
//
// Same order of processors, same tie rules (top-k keeps every token equal to the k-th value;
// top-p ranks equal probabilities by lower id; greedy takes the lowest id), the same uniform
// (splitmix64 on the device, bit for bit) and the same walk over ids for the draw. What
// differs: the arithmetic is fp32 (the CPU's is double) and sums are taken in another order,
// so a token can differ only where a value lies within fp32 rounding of a boundary.
// The k-th value and the top-p cut are found by radix selection over the values' bits
// (11 + 11 + 10 bits; a histogram of counts or of probability mass per pass), never by sorting.
#ifndef ELM_CU_SAMPLING_H
#define ELM_CU_SAMPLING_H

#include "kernels/cuda_ctx.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ElmCuSampleParams {
    float temperature;        // 0 = greedy
    int top_k;                // 0 = off
    float top_p;              // 1 = off
    float repetition_penalty; // 1 = off
    int no_repeat_ngram;      // 0 = off
    int ban_token;            // a token set to -inf first (<|endoftext|> in story mode), -1 = none
    uint64_t seed;
} ElmCuSampleParams;

// For each row r < rows with live[r] (device arrays throughout):
//   logits row r (fp32, stride ld, V used) — MODIFIED in place by the processors;
//   ctx row r (int32, stride ctx_ld) holds ctx_len[r] tokens of sampler context;
//   the uniform is elm_sample_uniform(seed, index[r], pos[r]);
//   tok[r] = the token (-1 when every token was banned), logprob[r] = its log-probability
//   under log_softmax of the row as it was on entry.
// scratch: rows * ctx_ld floats. Rows without live[r] are left alone.
int elm_cu_sample(ElmCudaCtx *ctx, const ElmCuSampleParams *p, float *logits, long ld, int V,
                  int rows, const int32_t *ctxids, int ctx_ld, const int *ctx_len,
                  const uint64_t *index, const int *pos, const uint8_t *live, float *scratch,
                  int32_t *tok, float *logprob, ElmError *err);

// Appends tok[r] to ctx row r (ctx_len[r] += 1) for every row with live[r] and tok[r] >= 0.
int elm_cu_sample_append(ElmCudaCtx *ctx, int32_t *ctxids, int ctx_ld, int *ctx_len,
                         const int32_t *tok, const uint8_t *live, int rows, ElmError *err);

#ifdef __cplusplus
}
#endif

#endif
