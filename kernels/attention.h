// attention.h — elm's own causal multi-head attention on the GPU, flash-style: tiles in shared
// memory, online softmax, no (T x T) matrix in global memory; bf16 in/out, fp32 accumulation.
// Called by gpt2_cuda and tests/gpu/test_attention.c; reference: layers.h attention.
#ifndef ELM_CU_ATTENTION_H
#define ELM_CU_ATTENTION_H

#include "kernels/cuda_ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

// Versions, side by side (llm.c dev/cuda habit); 0 = the best one:
//   1: one thread per query (forward, dQ) or key (dK/dV) row, K/V or Q/dO tiles of 64 rows in
//      shared memory, scalar fp32 math — the simple reference, any head size <= 128
//   2: tensor cores (mma.sync m16n8k16 bf16, fp32 accumulate), 64-row tiles, 4 warps of 16 rows;
//      head size 16, 32, 64 or 128. Backward in the FlashAttention-2 order: one block per key
//      tile walks the query tiles (the next one prefetched), dQ accumulated in fp32 atomics.
#define ELM_CU_ATTENTION_VERSIONS 2

// qkv (B,T,3C) = [q | k | v] per position, NH heads of hs = C/NH channels each.
// out (B,T,C) = softmax(q k^T / sqrt(hs), causal) v, heads concatenated.
// lse (B,NH,T) fp32: log-sum-exp of each query's scaled scores, kept for the backward.
int elm_cu_attention_forward(ElmCudaCtx *ctx, ElmBf16 *out, float *lse, const ElmBf16 *qkv, int B,
                             int T, int C, int NH, int version, ElmError *err);

// Floats of device scratch elm_cu_attention_backward needs.
size_t elm_cu_attention_scratch(int B, int T, int C, int NH);

// dqkv (B,T,3C) = the gradient of qkv, WRITTEN (not accumulated), from dout (B,T,C) and the
// forward's qkv, out and lse. scratch: elm_cu_attention_scratch floats of device memory.
int elm_cu_attention_backward(ElmCudaCtx *ctx, ElmBf16 *dqkv, float *scratch, const ElmBf16 *dout,
                              const ElmBf16 *qkv, const ElmBf16 *out, const float *lse, int B,
                              int T, int C, int NH, int version, ElmError *err);

#ifdef __cplusplus
}
#endif

#endif
