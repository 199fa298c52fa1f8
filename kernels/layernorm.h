// layernorm.h — GPU layer norm forward/backward, and the fused residual-add + layer norm.
// Called by gpt2_cuda and tests/gpu/test_layernorm.c; reference: layers.h layernorm.
#ifndef ELM_CU_LAYERNORM_H
#define ELM_CU_LAYERNORM_H

#include "kernels/cuda_ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

// out (N,C) bf16 = (inp - mean) * rstd * weight + bias over each row of N = B*T rows;
// mean, rstd (N) fp32 (either may be NULL when no backward follows). eps = 1e-5 (ELM_LN_EPS).
int elm_cu_layernorm_forward(ElmCudaCtx *ctx, ElmBf16 *out, float *mean, float *rstd,
                             const ElmBf16 *inp, const ElmBf16 *weight, const ElmBf16 *bias, int N,
                             int C, ElmError *err);
// Fused: residual (N,C) = a + b, then out = layernorm(residual) as above. One read of a and b,
// one write of residual and out: the residual add costs no extra pass.
int elm_cu_residual_layernorm_forward(ElmCudaCtx *ctx, ElmBf16 *residual, ElmBf16 *out, float *mean,
                                      float *rstd, const ElmBf16 *a, const ElmBf16 *b,
                                      const ElmBf16 *weight, const ElmBf16 *bias, int N, int C,
                                      ElmError *err);
// dinp (N,C) bf16 +=, dweight (C) fp32 +=, dbias (C) fp32 +=, from dout (N,C) and the saved
// mean/rstd. Accumulating into dinp is how the residual stream's gradient is summed.
// C <= 6144 (the per-block partial sums live in shared memory).
int elm_cu_layernorm_backward(ElmCudaCtx *ctx, ElmBf16 *dinp, float *dweight, float *dbias,
                              const ElmBf16 *dout, const ElmBf16 *inp, const ElmBf16 *weight,
                              const float *mean, const float *rstd, int N, int C, ElmError *err);

#ifdef __cplusplus
}
#endif

#endif
