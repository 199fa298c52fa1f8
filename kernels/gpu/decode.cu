// decode.cu — the decode path's kernel launchers (see decode.h; the kernels are in
// decode_kernels.cuh): row embedding, KV-cache stores, split-K decode attention, row gather and
// logits scatter, and CUDA graph capture of the context's stream. The decoder itself is
// decode.c.
#include "kernels/cuda_ctx_impl.cuh"
#include "kernels/gpu/decode.h"
#include "kernels/gpu/decode_kernels.cuh"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// ---- kernels ----------------------------------------------------------------------------------

// dst row i = src row idx[i] (C columns, bf16).
__global__ void gather_rows_kernel(bf16 *dst, const bf16 *src, const int *idx, int C) {
    int i = blockIdx.x;
    for (int c = threadIdx.x; c < C; c += blockDim.x)
        dst[(long)i * C + c] = src[(long)idx[i] * C + c];
}

// dst row slot[i] = src row i (ld floats each).
__global__ void scatter_logits_kernel(float *dst, const float *src, const int *slot, int ld) {
    int i = blockIdx.x;
    const float4 *s = (const float4 *)(src + (long)i * ld);
    float4 *d = (float4 *)(dst + (long)slot[i] * ld);
    for (int c = threadIdx.x; c < ld / 4; c += blockDim.x) d[c] = s[c];
}

// ---- launchers --------------------------------------------------------------------------------

extern "C" int elm_cu_decode_embed(ElmCudaCtx *ctx, ElmBf16 *x, const ElmBf16 *wte,
                                   const ElmBf16 *wpe, const int *tok, const int *pos, int n, int C,
                                   ElmError *err) {
    embed_kernel<<<n, 256, 0, ctx->stream>>>((bf16 *)x, (const bf16 *)wte, (const bf16 *)wpe, tok,
                                             pos, C);
    ELM_CU_LAUNCH("decode embed");
    return 0;
}

extern "C" int elm_cu_decode_kv_store(ElmCudaCtx *ctx, ElmBf16 *kcache, ElmBf16 *vcache,
                                      const ElmBf16 *qkv, const int *slot, const int *pos, int n,
                                      int C, int NH, int cap, ElmError *err) {
    kv_store_kernel<<<n, 256, 0, ctx->stream>>>((bf16 *)kcache, (bf16 *)vcache, (const bf16 *)qkv,
                                                slot, pos, C, NH, cap);
    ELM_CU_LAUNCH("decode kv store");
    return 0;
}

extern "C" int elm_cu_decode_attention(ElmCudaCtx *ctx, ElmBf16 *out, const ElmBf16 *q, long ldq,
                                       const ElmBf16 *kcache, const ElmBf16 *vcache,
                                       const int *slot, const int *pos, int n, int C, int NH,
                                       int cap, int nsplit, float *scratch, ElmError *err) {
    int hs = C / NH;
    if (C % NH || hs > ATT_MAX_HS)
        return elm_err(err, "decode attention: head size %d (C %d, NH %d) is not supported", hs, C,
                       NH);
    if (nsplit < 1) nsplit = 1;
    int chunk = elm_ceil_div(cap, nsplit);
    dim3 grid(n, NH, nsplit);
    attention_kernel<<<grid, ATT_WARPS * 32, 0, ctx->stream>>>(
        (bf16 *)out, scratch, (const bf16 *)q, ldq, (const bf16 *)kcache, (const bf16 *)vcache,
        slot, pos, C, NH, cap, nsplit, chunk, 1.0f / sqrtf((float)hs));
    ELM_CU_LAUNCH("decode attention");
    if (nsplit > 1) {
        attention_combine_kernel<<<dim3(n, NH), 128, 0, ctx->stream>>>((bf16 *)out, scratch, C, NH,
                                                                       nsplit);
        ELM_CU_LAUNCH("decode attention combine");
    }
    return 0;
}

extern "C" int elm_cu_decode_gather(ElmCudaCtx *ctx, ElmBf16 *dst, const ElmBf16 *src,
                                    const int *idx, int n, int C, ElmError *err) {
    gather_rows_kernel<<<n, 256, 0, ctx->stream>>>((bf16 *)dst, (const bf16 *)src, idx, C);
    ELM_CU_LAUNCH("decode gather");
    return 0;
}

extern "C" int elm_cu_decode_scatter_logits(ElmCudaCtx *ctx, float *dst, const float *src,
                                            const int *slot, int n, int ld, ElmError *err) {
    scatter_logits_kernel<<<n, 256, 0, ctx->stream>>>(dst, src, slot, ld);
    ELM_CU_LAUNCH("decode scatter");
    return 0;
}

// ---- CUDA graphs of the context's stream ------------------------------------------------------

extern "C" int elm_cu_graph_begin(ElmCudaCtx *ctx, ElmError *err) {
    ELM_CU(err, cudaStreamSynchronize(ctx->stream));
    ELM_CU(err, cudaStreamBeginCapture(ctx->stream, cudaStreamCaptureModeThreadLocal));
    return 0;
}

extern "C" int elm_cu_graph_end(ElmCudaCtx *ctx, void **exec, ElmError *err) {
    cudaGraph_t g = NULL;
    cudaGraphExec_t x = NULL;
    *exec = NULL;
    cudaError_t e = cudaStreamEndCapture(ctx->stream, &g);
    if (e != cudaSuccess) {
        if (g) cudaGraphDestroy(g);
        return elm_err(err, "capturing a CUDA graph: %s", cudaGetErrorString(e));
    }
    e = cudaGraphInstantiate(&x, g, 0);
    cudaGraphDestroy(g);
    if (e != cudaSuccess)
        return elm_err(err, "instantiating a CUDA graph: %s", cudaGetErrorString(e));
    *exec = (void *)x;
    return 0;
}

extern "C" int elm_cu_graph_launch(ElmCudaCtx *ctx, void *exec, ElmError *err) {
    ELM_CU(err, cudaGraphLaunch((cudaGraphExec_t)exec, ctx->stream));
    return 0;
}

extern "C" void elm_cu_graph_free(void *exec) {
    if (exec) cudaGraphExecDestroy((cudaGraphExec_t)exec);
}
