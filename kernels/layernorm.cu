// layernorm.cu — layer norm kernels (see layernorm.h). One warp per row; rows are short
// (C <= a few thousand), so the row stays in L1 between the statistics pass and the write pass.
#include "kernels/layernorm.h"
#include "kernels/cuda_ctx_impl.cuh"

#define LN_EPS 1e-5f

// Forward for one row held at `x` (bf16). When `a`/`b` are given the row is a + b, written to
// `x` first (rounded to bf16) so the statistics describe exactly the stored residual.
__global__ void layernorm_forward_kernel(bf16 *out, float *mean, float *rstd, bf16 *resid,
                                         const bf16 *a, const bf16 *b, const bf16 *inp,
                                         const bf16 *w, const bf16 *bias, int N, int C) {
    int lane = threadIdx.x & 31;
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (row >= N) return;
    long off = (long)row * C;
    const bf16 *x = inp ? inp + off : resid + off;
    if (!inp) {
        for (int c = lane; c < C; c += 32)
            resid[off + c] =
                __float2bfloat16(__bfloat162float(a[off + c]) + __bfloat162float(b[off + c]));
        __syncwarp();
    }
    float s = 0.0f;
    for (int c = lane; c < C; c += 32) s += __bfloat162float(x[c]);
    float m = elm_warp_sum(s) / C;
    float v = 0.0f;
    for (int c = lane; c < C; c += 32) {
        float d = __bfloat162float(x[c]) - m;
        v += d * d;
    }
    float r = rsqrtf(elm_warp_sum(v) / C + LN_EPS);
    for (int c = lane; c < C; c += 32) {
        float n = (__bfloat162float(x[c]) - m) * r;
        out[off + c] = __float2bfloat16(n * __bfloat162float(w[c]) + __bfloat162float(bias[c]));
    }
    if (lane == 0) {
        if (mean) mean[row] = m;
        if (rstd) rstd[row] = r;
    }
}

// Backward: each warp takes rows; dweight/dbias are summed per block in shared memory
// (2C floats) and added to global memory once per block.
__global__ void layernorm_backward_kernel(bf16 *dinp, float *dw, float *db, const bf16 *dout,
                                          const bf16 *inp, const bf16 *w, const float *mean,
                                          const float *rstd, int N, int C) {
    extern __shared__ float ln_smem[];
    float *sdw = ln_smem, *sdb = ln_smem + C;
    for (int c = threadIdx.x; c < 2 * C; c += blockDim.x) ln_smem[c] = 0.0f;
    __syncthreads();
    int lane = threadIdx.x & 31, warp = threadIdx.x / 32, nwarps = blockDim.x / 32;
    for (int row = blockIdx.x * nwarps + warp; row < N; row += gridDim.x * nwarps) {
        long off = (long)row * C;
        float m = mean[row], r = rstd[row];
        float dmean = 0.0f, dnorm_mean = 0.0f;
        for (int c = lane; c < C; c += 32) {
            float n = (__bfloat162float(inp[off + c]) - m) * r;
            float dn = __bfloat162float(w[c]) * __bfloat162float(dout[off + c]);
            dmean += dn;
            dnorm_mean += dn * n;
        }
        dmean = elm_warp_sum(dmean) / C;
        dnorm_mean = elm_warp_sum(dnorm_mean) / C;
        for (int c = lane; c < C; c += 32) {
            float n = (__bfloat162float(inp[off + c]) - m) * r;
            float g = __bfloat162float(dout[off + c]);
            float dn = __bfloat162float(w[c]) * g;
            atomicAdd(&sdb[c], g);
            atomicAdd(&sdw[c], n * g);
            float d = (dn - dmean - n * dnorm_mean) * r;
            dinp[off + c] = __float2bfloat16(__bfloat162float(dinp[off + c]) + d);
        }
    }
    __syncthreads();
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        atomicAdd(&dw[c], sdw[c]);
        atomicAdd(&db[c], sdb[c]);
    }
}

static int ln_forward(ElmCudaCtx *ctx, bf16 *out, float *mean, float *rstd, bf16 *resid,
                      const bf16 *a, const bf16 *b, const bf16 *inp, const ElmBf16 *w,
                      const ElmBf16 *bias, int N, int C, ElmError *err) {
    if (N <= 0 || C <= 0) return elm_err(err, "layernorm: bad shape N=%d C=%d", N, C);
    int warps = 8;
    layernorm_forward_kernel<<<elm_ceil_div(N, warps), warps * 32, 0, ctx->stream>>>(
        out, mean, rstd, resid, a, b, inp, (const bf16 *)w, (const bf16 *)bias, N, C);
    ELM_CU_LAUNCH("layernorm forward");
    return 0;
}

extern "C" int elm_cu_layernorm_forward(ElmCudaCtx *ctx, ElmBf16 *out, float *mean, float *rstd,
                                        const ElmBf16 *inp, const ElmBf16 *weight,
                                        const ElmBf16 *bias, int N, int C, ElmError *err) {
    return ln_forward(ctx, (bf16 *)out, mean, rstd, NULL, NULL, NULL, (const bf16 *)inp, weight,
                      bias, N, C, err);
}

extern "C" int elm_cu_residual_layernorm_forward(ElmCudaCtx *ctx, ElmBf16 *residual, ElmBf16 *out,
                                                 float *mean, float *rstd, const ElmBf16 *a,
                                                 const ElmBf16 *b, const ElmBf16 *weight,
                                                 const ElmBf16 *bias, int N, int C, ElmError *err) {
    return ln_forward(ctx, (bf16 *)out, mean, rstd, (bf16 *)residual, (const bf16 *)a,
                      (const bf16 *)b, NULL, weight, bias, N, C, err);
}

extern "C" int elm_cu_layernorm_backward(ElmCudaCtx *ctx, ElmBf16 *dinp, float *dweight,
                                         float *dbias, const ElmBf16 *dout, const ElmBf16 *inp,
                                         const ElmBf16 *weight, const float *mean,
                                         const float *rstd, int N, int C, ElmError *err) {
    if (N <= 0 || C <= 0 || C > 6144)
        return elm_err(err, "layernorm backward: bad shape N=%d C=%d (C <= 6144)", N, C);
    int blocks = ctx->sms * 2;
    if (blocks > elm_ceil_div(N, 8)) blocks = elm_ceil_div(N, 8);
    size_t smem = 2 * (size_t)C * sizeof(float);
    ELM_CU(err, cudaFuncSetAttribute(layernorm_backward_kernel,
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    layernorm_backward_kernel<<<blocks, 256, smem, ctx->stream>>>(
        (bf16 *)dinp, dweight, dbias, (const bf16 *)dout, (const bf16 *)inp, (const bf16 *)weight,
        mean, rstd, N, C);
    ELM_CU_LAUNCH("layernorm backward");
    return 0;
}
