// adamw.cu — AdamW and the global gradient norm (see adamw.h).
#include "kernels/adamw.h"
#include "kernels/cuda_ctx_impl.cuh"

__global__ void adamw_kernel(float *p, bf16 *work, const float *grad, float *m, float *v, size_t n,
                             float lr, float b1, float b2, float eps, float wd, float bc1,
                             float bc2_sqrt, const float *grad_scale) {
    float gs = grad_scale ? *grad_scale : 1.0f;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float g = grad[i] * gs, w = p[i];
        w -= lr * wd * w;
        float mi = b1 * m[i] + (1.0f - b1) * g;
        float vi = b2 * v[i] + (1.0f - b2) * g * g;
        w -= (lr / bc1) * mi / (sqrtf(vi) / bc2_sqrt + eps);
        m[i] = mi, v[i] = vi, p[i] = w;
        if (work) work[i] = __float2bfloat16(w);
    }
}

// Fixed grid of ELM_CU_NORM_SCRATCH blocks, each summing a grid-stride slice: the same order on
// every run.
__global__ void norm_partial_kernel(float *scratch, const float *g, size_t n) {
    __shared__ float sh[32];
    float s = 0.0f;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        s += g[i] * g[i];
    s = elm_block_sum(s, sh);
    if (threadIdx.x == 0) scratch[blockIdx.x] = s;
}

__global__ void norm_finish_kernel(float *out, const float *scratch, int parts, float max_norm) {
    __shared__ float sh[32];
    float s = 0.0f;
    for (int i = threadIdx.x; i < parts; i += blockDim.x) s += scratch[i];
    s = elm_block_sum(s, sh);
    if (threadIdx.x == 0) {
        float norm = sqrtf(s);
        out[0] = norm;
        out[1] = (max_norm > 0.0f && norm > max_norm) ? max_norm / (norm + 1e-6f) : 1.0f;
    }
}

__global__ void f32_to_bf16_kernel(bf16 *dst, const float *src, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        dst[i] = __float2bfloat16(src[i]);
}

static int blocks_for(ElmCudaCtx *ctx, size_t n) {
    size_t blocks = (n + 255) / 256, cap = (size_t)ctx->sms * 32;
    return (int)(blocks < cap ? (blocks ? blocks : 1) : cap);
}

extern "C" int elm_cu_adamw(ElmCudaCtx *ctx, float *master, ElmBf16 *work, const float *grad,
                            float *m, float *v, size_t n, float lr, float beta1, float beta2,
                            float eps, float weight_decay, long long t, const float *grad_scale,
                            ElmError *err) {
    if (t < 1) return elm_err(err, "adamw: step %lld < 1", t);
    float bc1 = 1.0f - (float)pow((double)beta1, (double)t);
    float bc2_sqrt = (float)sqrt(1.0 - pow((double)beta2, (double)t));
    adamw_kernel<<<blocks_for(ctx, n), 256, 0, ctx->stream>>>(master, (bf16 *)work, grad, m, v, n,
                                                              lr, beta1, beta2, eps, weight_decay,
                                                              bc1, bc2_sqrt, grad_scale);
    ELM_CU_LAUNCH("adamw");
    return 0;
}

extern "C" int elm_cu_grad_norm(ElmCudaCtx *ctx, float *out, float *scratch, const float *grad,
                                size_t n, float max_norm, ElmError *err) {
    norm_partial_kernel<<<ELM_CU_NORM_SCRATCH, 256, 0, ctx->stream>>>(scratch, grad, n);
    ELM_CU_LAUNCH("grad norm");
    norm_finish_kernel<<<1, 1024, 0, ctx->stream>>>(out, scratch, ELM_CU_NORM_SCRATCH, max_norm);
    ELM_CU_LAUNCH("grad norm finish");
    return 0;
}

extern "C" int elm_cu_f32_to_bf16(ElmCudaCtx *ctx, ElmBf16 *dst, const float *src, size_t n,
                                  ElmError *err) {
    f32_to_bf16_kernel<<<blocks_for(ctx, n), 256, 0, ctx->stream>>>((bf16 *)dst, src, n);
    ELM_CU_LAUNCH("f32 to bf16");
    return 0;
}
