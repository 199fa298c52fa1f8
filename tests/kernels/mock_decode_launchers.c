// mock_decode_launchers.c — decode.h's kernel launchers on the host (embedding, KV stores,
// attention over the cache, gather, scatter; graphs reported unavailable), for running
// kernels/gpu/decode.c's orchestration on the CPU together with kernels/dev/mock_ops.c
// (test_decoder_on_host.sh). The kernels themselves are checked separately (decode_emu.cpp runs
// their CUDA source).
#include "kernels/gpu/decode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B2F elm_bf16_to_f32
#define F2B elm_bf16_from_f32

int elm_cu_decode_embed(ElmCudaCtx *ctx, ElmBf16 *x, const ElmBf16 *wte, const ElmBf16 *wpe,
                        const int *tok, const int *pos, int n, int C, ElmError *err) {
    (void)ctx, (void)err;
    for (int r = 0; r < n; r++)
        for (int c = 0; c < C; c++)
            x[(size_t)r * C + c] =
                F2B(B2F(wte[(size_t)tok[r] * C + c]) + B2F(wpe[(size_t)pos[r] * C + c]));
    return 0;
}

int elm_cu_decode_kv_store(ElmCudaCtx *ctx, ElmBf16 *kc, ElmBf16 *vc, const ElmBf16 *qkv,
                           const int *slot, const int *pos, int n, int C, int NH, int cap,
                           ElmError *err) {
    (void)ctx, (void)err;
    int hs = C / NH;
    for (int r = 0; r < n; r++)
        for (int c = 0; c < C; c++) {
            size_t at = (((size_t)slot[r] * NH + c / hs) * cap + pos[r]) * hs + c % hs;
            kc[at] = qkv[(size_t)r * 3 * C + C + c];
            vc[at] = qkv[(size_t)r * 3 * C + 2 * C + c];
        }
    return 0;
}

int elm_cu_decode_attention(ElmCudaCtx *ctx, ElmBf16 *out, const ElmBf16 *q, long ldq,
                            const ElmBf16 *kc, const ElmBf16 *vc, const int *slot, const int *pos,
                            int n, int C, int NH, int cap, int nsplit, float *scratch,
                            ElmError *err) {
    (void)ctx, (void)nsplit, (void)scratch;
    int hs = C / NH;
    double *sc = malloc(sizeof(double) * (size_t)cap);
    if (!sc) return elm_err(err, "mock: out of memory");
    for (int r = 0; r < n; r++)
        for (int h = 0; h < NH; h++) {
            size_t base = ((size_t)slot[r] * NH + h) * cap * hs;
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j <= pos[r]; j++) {
                double s = 0;
                for (int d = 0; d < hs; d++)
                    s += (double)B2F(q[(size_t)r * ldq + h * hs + d]) *
                         B2F(kc[base + (size_t)j * hs + d]);
                sc[j] = s / sqrt((double)hs);
                mx = sc[j] > mx ? sc[j] : mx;
            }
            for (int j = 0; j <= pos[r]; j++) sum += sc[j] = exp(sc[j] - mx);
            for (int d = 0; d < hs; d++) {
                double o = 0;
                for (int j = 0; j <= pos[r]; j++) o += sc[j] * B2F(vc[base + (size_t)j * hs + d]);
                out[(size_t)r * C + h * hs + d] = F2B((float)(o / sum));
            }
        }
    free(sc);
    return 0;
}

int elm_cu_decode_gather(ElmCudaCtx *ctx, ElmBf16 *dst, const ElmBf16 *src, const int *idx, int n,
                         int C, ElmError *err) {
    (void)ctx, (void)err;
    for (int i = 0; i < n; i++)
        memcpy(dst + (size_t)i * C, src + (size_t)idx[i] * C, sizeof(ElmBf16) * (size_t)C);
    return 0;
}

int elm_cu_decode_scatter_logits(ElmCudaCtx *ctx, float *dst, const float *src, const int *slot,
                                 int n, int ld, ElmError *err) {
    (void)ctx, (void)err;
    for (int i = 0; i < n; i++)
        memcpy(dst + (size_t)slot[i] * ld, src + (size_t)i * ld, sizeof(float) * (size_t)ld);
    return 0;
}

int elm_cu_graph_begin(ElmCudaCtx *ctx, ElmError *err) {
    (void)ctx, (void)err;
    return 1; // no graphs on the host
}
int elm_cu_graph_end(ElmCudaCtx *ctx, void **exec, ElmError *err) {
    (void)ctx;
    *exec = NULL;
    return elm_err(err, "mock: no graphs");
}
int elm_cu_graph_launch(ElmCudaCtx *ctx, void *exec, ElmError *err) {
    (void)ctx, (void)exec;
    return elm_err(err, "mock: no graphs");
}
void elm_cu_graph_free(void *exec) {
    (void)exec;
}
