// elementwise.cu — GELU and residual kernels (see elementwise.h): grid-stride, memory-bound.
#include "kernels/elementwise.h"
#include "kernels/cuda_ctx_impl.cuh"

__global__ void gelu_forward_kernel(bf16 *out, const bf16 *inp, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        out[i] = __float2bfloat16(elm_gelu(__bfloat162float(inp[i])));
}

__global__ void gelu_backward_kernel(bf16 *dinp, const bf16 *inp, const bf16 *dout, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        dinp[i] =
            __float2bfloat16(elm_gelu_grad(__bfloat162float(inp[i])) * __bfloat162float(dout[i]));
}

__global__ void residual_forward_kernel(bf16 *out, const bf16 *a, const bf16 *b, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        out[i] = __float2bfloat16(__bfloat162float(a[i]) + __bfloat162float(b[i]));
}

static int blocks_for(ElmCudaCtx *ctx, size_t n) {
    size_t blocks = (n + 255) / 256, cap = (size_t)ctx->sms * 32;
    return (int)(blocks < cap ? (blocks ? blocks : 1) : cap);
}

extern "C" int elm_cu_gelu_forward(ElmCudaCtx *ctx, ElmBf16 *out, const ElmBf16 *inp, size_t n,
                                   ElmError *err) {
    gelu_forward_kernel<<<blocks_for(ctx, n), 256, 0, ctx->stream>>>((bf16 *)out, (const bf16 *)inp,
                                                                     n);
    ELM_CU_LAUNCH("gelu forward");
    return 0;
}

extern "C" int elm_cu_gelu_backward(ElmCudaCtx *ctx, ElmBf16 *dinp, const ElmBf16 *inp,
                                    const ElmBf16 *dout, size_t n, ElmError *err) {
    gelu_backward_kernel<<<blocks_for(ctx, n), 256, 0, ctx->stream>>>(
        (bf16 *)dinp, (const bf16 *)inp, (const bf16 *)dout, n);
    ELM_CU_LAUNCH("gelu backward");
    return 0;
}

extern "C" int elm_cu_residual_forward(ElmCudaCtx *ctx, ElmBf16 *out, const ElmBf16 *a,
                                       const ElmBf16 *b, size_t n, ElmError *err) {
    residual_forward_kernel<<<blocks_for(ctx, n), 256, 0, ctx->stream>>>(
        (bf16 *)out, (const bf16 *)a, (const bf16 *)b, n);
    ELM_CU_LAUNCH("residual forward");
    return 0;
}
