// sampling.cu — the GPU sampler (see sampling.h): one 1024-thread block per sequence walks its
// logits row a few times: log-sum-exp, penalties and bans in place, the alive count and maximum,
// radix selection of the top-k value (counts) and of the top-p cut (probability mass), then a
// block-wide prefix sum over ids for the draw.
#include "kernels/cuda_ctx_impl.cuh"
#include "kernels/sampling.h"
#include "kernels/sampling_kernel.cuh"

#include <math.h>

__global__ void append_kernel(int32_t *ctxids, int ctx_ld, int *ctx_len, const int32_t *tok,
                              const uint8_t *live, int rows) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows || !live[r] || tok[r] < 0 || ctx_len[r] >= ctx_ld) return;
    ctxids[(long)r * ctx_ld + ctx_len[r]] = tok[r];
    ctx_len[r]++;
}

extern "C" int elm_cu_sample(ElmCudaCtx *ctx, const ElmCuSampleParams *p, float *logits, long ld,
                             int V, int rows, const int32_t *ctxids, int ctx_ld, const int *ctx_len,
                             const uint64_t *index, const int *pos, const uint8_t *live,
                             float *scratch, int32_t *tok, float *logprob, ElmError *err) {
    if (!(p->temperature >= 0) || !(p->top_p > 0 && p->top_p <= 1) || p->top_k < 0 ||
        !(p->repetition_penalty > 0) || p->no_repeat_ngram < 0)
        return elm_err(err, "gpu sampler: invalid parameters");
    if (rows <= 0) return 0;
    sample_kernel<<<rows, SB, 0, ctx->stream>>>(*p, logits, ld, V, ctxids, ctx_ld, ctx_len, index,
                                                pos, live, scratch, tok, logprob);
    ELM_CU_LAUNCH("sample");
    return 0;
}

extern "C" int elm_cu_sample_append(ElmCudaCtx *ctx, int32_t *ctxids, int ctx_ld, int *ctx_len,
                                    const int32_t *tok, const uint8_t *live, int rows,
                                    ElmError *err) {
    if (rows <= 0) return 0;
    append_kernel<<<elm_ceil_div(rows, 256), 256, 0, ctx->stream>>>(ctxids, ctx_ld, ctx_len, tok,
                                                                    live, rows);
    ELM_CU_LAUNCH("sample append");
    return 0;
}
