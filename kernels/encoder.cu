// encoder.cu — token + position embedding kernels (see encoder.h). Memory-bound: one pass over
// the (B,T,C) activations, gathers from wte.
#include "kernels/encoder.h"
#include "kernels/cuda_ctx_impl.cuh"

__global__ void encoder_forward_kernel(bf16 *out, const int *inp, const bf16 *wte, const bf16 *wpe,
                                       int B, int T, int C) {
    long n = (long)B * T * C;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x) {
        long bt = i / C;
        int c = (int)(i % C), t = (int)(bt % T);
        float v =
            __bfloat162float(wte[(long)inp[bt] * C + c]) + __bfloat162float(wpe[(long)t * C + c]);
        out[i] = __float2bfloat16(v);
    }
}

__global__ void encoder_backward_wte_kernel(float *dwte, const bf16 *dout, const int *inp, int B,
                                            int T, int C) {
    long n = (long)B * T * C;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x) {
        long bt = i / C;
        int c = (int)(i % C);
        atomicAdd(&dwte[(long)inp[bt] * C + c], __bfloat162float(dout[i]));
    }
}

__global__ void encoder_backward_wpe_kernel(float *dwpe, const bf16 *dout, int B, int T, int C) {
    long n = (long)T * C;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x) {
        float s = 0.0f;
        for (int b = 0; b < B; b++) s += __bfloat162float(dout[(long)b * T * C + i]);
        dwpe[i] += s;
    }
}

static int grid_for(ElmCudaCtx *ctx, long n) {
    long blocks = (n + 255) / 256, cap = (long)ctx->sms * 32;
    return (int)(blocks < cap ? (blocks > 0 ? blocks : 1) : cap);
}

extern "C" int elm_cu_encoder_forward(ElmCudaCtx *ctx, ElmBf16 *out, const int *inp,
                                      const ElmBf16 *wte, const ElmBf16 *wpe, int B, int T, int C,
                                      ElmError *err) {
    encoder_forward_kernel<<<grid_for(ctx, (long)B * T * C), 256, 0, ctx->stream>>>(
        (bf16 *)out, inp, (const bf16 *)wte, (const bf16 *)wpe, B, T, C);
    ELM_CU_LAUNCH("encoder forward");
    return 0;
}

extern "C" int elm_cu_encoder_backward(ElmCudaCtx *ctx, float *dwte, float *dwpe,
                                       const ElmBf16 *dout, const int *inp, int B, int T, int C,
                                       ElmError *err) {
    encoder_backward_wte_kernel<<<grid_for(ctx, (long)B * T * C), 256, 0, ctx->stream>>>(
        dwte, (const bf16 *)dout, inp, B, T, C);
    ELM_CU_LAUNCH("encoder backward (wte)");
    encoder_backward_wpe_kernel<<<grid_for(ctx, (long)T * C), 256, 0, ctx->stream>>>(
        dwpe, (const bf16 *)dout, B, T, C);
    ELM_CU_LAUNCH("encoder backward (wpe)");
    return 0;
}
