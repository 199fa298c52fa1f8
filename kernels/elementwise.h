// elementwise.h — GPU GELU (tanh) forward/backward and the residual add, bf16.
// Called by gpt2_cuda and tests/gpu/test_elementwise.c; reference: layers.h gelu/residual.
#ifndef ELM_CU_ELEMENTWISE_H
#define ELM_CU_ELEMENTWISE_H

#include "kernels/cuda_ctx.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// out (n) = gelu(inp). (The model fuses this into the fc matmul's epilogue; kept for the
// unfused path and the check.)
int elm_cu_gelu_forward(ElmCudaCtx *ctx, ElmBf16 *out, const ElmBf16 *inp, size_t n, ElmError *err);
// dinp (n) = gelu'(inp) * dout — WRITTEN, not accumulated; dinp may alias dout (in place).
int elm_cu_gelu_backward(ElmCudaCtx *ctx, ElmBf16 *dinp, const ElmBf16 *inp, const ElmBf16 *dout,
                         size_t n, ElmError *err);
// out (n) = a + b; out may alias a or b.
int elm_cu_residual_forward(ElmCudaCtx *ctx, ElmBf16 *out, const ElmBf16 *a, const ElmBf16 *b,
                            size_t n, ElmError *err);

#ifdef __cplusplus
}
#endif

#endif
