// encoder.h — GPU token + position embedding, forward and backward (bf16 activations, fp32
// gradients). Called by gpt2_cuda and tests/gpu/test_encoder.c; reference: layers.h encoder.
#ifndef ELM_CU_ENCODER_H
#define ELM_CU_ENCODER_H

#include "kernels/cuda_ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

// out (B,T,C) = wte[inp[b,t]] (V,C) + wpe[t] (maxT,C); token ids must be in [0, V).
int elm_cu_encoder_forward(ElmCudaCtx *ctx, ElmBf16 *out, const int *inp, const ElmBf16 *wte,
                           const ElmBf16 *wpe, int B, int T, int C, ElmError *err);
// dwte (V,C) += dout rows scattered by token (fp32 atomics); dwpe (maxT,C) += dout summed over B
// (one thread per (t, c), no atomics).
int elm_cu_encoder_backward(ElmCudaCtx *ctx, float *dwte, float *dwpe, const ElmBf16 *dout,
                            const int *inp, int B, int T, int C, ElmError *err);

#ifdef __cplusplus
}
#endif

#endif
