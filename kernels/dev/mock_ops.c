// mock_ops.c — the kernels' C API (kernels/*.h) implemented on the host with plain loops and
// bf16 rounding of every bf16 output, so gpt2_cuda.c's orchestration (buffers, offsets, layouts,
// the order of the backward) can run and be checked on a machine without a GPU. A development
// tool, not part of the build: kernels/dev/run_mock.sh compiles it with gpt2_cuda.c and the
// tests/gpu harnesses. It checks the plumbing, never the CUDA kernels themselves.
#include "kernels/adamw.h"
#include "kernels/attention.h"
#include "kernels/classifier.h"
#include "kernels/cuda_ctx.h"
#include "kernels/elementwise.h"
#include "kernels/encoder.h"
#include "kernels/gpu/gpu.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"

#include "engine/model/layers.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ElmCudaCtx {
    int dummy;
};

static float B2F(ElmBf16 h) {
    return elm_bf16_to_f32(h);
}
static ElmBf16 F2B(float f) {
    return elm_bf16_from_f32(f);
}

int elm_gpu_compiled(void) {
    return 1;
}
int elm_gpu_query(ElmGpuInfo *out, int cap, ElmError *err) {
    (void)err;
    if (cap < 1) return 0;
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "mock");
    out->cc_major = 9;
    return 1;
}
int elm_cuda_device_count(ElmError *err) {
    (void)err;
    return 1;
}
ElmCudaCtx *elm_cuda_ctx_create(int device, ElmError *err) {
    (void)device, (void)err;
    return calloc(1, sizeof(ElmCudaCtx));
}
void elm_cuda_ctx_free(ElmCudaCtx *ctx) {
    free(ctx);
}
int elm_cuda_ctx_cc(const ElmCudaCtx *ctx) {
    (void)ctx;
    return 0;
}
int elm_cuda_ctx_sms(const ElmCudaCtx *ctx) {
    (void)ctx;
    return 0;
}
size_t elm_cuda_ctx_peak_mem(ElmCudaCtx *ctx) {
    (void)ctx;
    return 0;
}
int elm_cuda_ctx_mem_sample(ElmCudaCtx *ctx, ElmError *err) {
    (void)ctx, (void)err;
    return 0;
}
void *elm_cuda_malloc(size_t bytes, ElmError *err) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) elm_err(err, "mock malloc(%zu) failed", bytes);
    if (p) memset(p, 0xff, bytes); // like fresh device memory: garbage (NaN), never zero
    return p;
}
void elm_cuda_free(void *p) {
    free(p);
}
int elm_cuda_h2d(ElmCudaCtx *c, void *dst, const void *src, size_t n, ElmError *e) {
    (void)c, (void)e;
    memcpy(dst, src, n);
    return 0;
}
int elm_cuda_d2h(ElmCudaCtx *c, void *dst, const void *src, size_t n, ElmError *e) {
    (void)c, (void)e;
    memcpy(dst, src, n);
    return 0;
}
int elm_cuda_memset(ElmCudaCtx *c, void *dst, int byte, size_t n, ElmError *e) {
    (void)c, (void)e;
    memset(dst, byte, n);
    return 0;
}
int elm_cuda_sync(ElmCudaCtx *c, ElmError *e) {
    (void)c, (void)e;
    return 0;
}
int elm_cuda_timer_start(ElmCudaCtx *c, ElmError *e) {
    (void)c, (void)e;
    return 0;
}
int elm_cuda_timer_stop(ElmCudaCtx *c, float *ms, ElmError *e) {
    (void)c, (void)e;
    *ms = 0.0f;
    return 0;
}
ElmBf16 elm_bf16_from_f32(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (ElmBf16)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (ElmBf16)(u >> 16);
}
float elm_bf16_to_f32(ElmBf16 h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
void elm_bf16_from_f32_n(ElmBf16 *d, const float *s, size_t n) {
    for (size_t i = 0; i < n; i++) d[i] = elm_bf16_from_f32(s[i]);
}
void elm_bf16_to_f32_n(float *d, const ElmBf16 *s, size_t n) {
    for (size_t i = 0; i < n; i++) d[i] = elm_bf16_to_f32(s[i]);
}

static float gelu(float x) {
    return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}
static float gelu_grad(float x) {
    float th = tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x));
    return 0.5f * (1.0f + th) +
           0.5f * x * (1.0f - th * th) * 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * x * x);
}

int elm_cu_matmul_version(ElmCudaCtx *ctx, const ElmCuMatmul *mm, int version, ElmError *err) {
    (void)ctx, (void)version, (void)err;
    for (int m = 0; m < mm->M; m++)
        for (int n = 0; n < mm->N; n++) {
            double acc = 0.0;
            for (int k = 0; k < mm->K; k++) {
                float a =
                    B2F(mm->trans_a ? mm->a[(long)k * mm->lda + m] : mm->a[(long)m * mm->lda + k]);
                float b =
                    B2F(mm->trans_b ? mm->b[(long)n * mm->ldb + k] : mm->b[(long)k * mm->ldb + n]);
                acc += (double)a * b;
            }
            float v = (float)acc;
            long i = (long)m * mm->ldc + n;
            if (mm->bias) v += B2F(mm->bias[n]);
            if (mm->pre_gelu) {
                mm->pre_gelu[i] = F2B(v);
                v = gelu(v);
            }
            if (mm->dgelu_pre) v *= gelu_grad(B2F(mm->dgelu_pre[i]));
            if (mm->c_fp32) {
                float *c = mm->c;
                c[i] = mm->accumulate ? c[i] + v : v;
            } else {
                ElmBf16 *c = mm->c;
                c[i] = F2B(mm->accumulate ? B2F(c[i]) + v : v);
            }
        }
    return 0;
}
int elm_cu_matmul_cublaslt(ElmCudaCtx *ctx, const ElmCuMatmul *mm, ElmError *err) {
    return elm_cu_matmul_version(ctx, mm, 0, err);
}
int elm_cu_matmul(ElmCudaCtx *ctx, const ElmCuMatmul *mm, ElmCuMatmulImpl impl, ElmError *err) {
    (void)impl;
    return elm_cu_matmul_version(ctx, mm, 0, err);
}
int elm_cu_bias_backward(ElmCudaCtx *ctx, float *db, const ElmBf16 *dout, int M, int N, long ld,
                         ElmError *err) {
    (void)ctx, (void)err;
    for (int n = 0; n < N; n++) {
        double s = 0;
        for (int m = 0; m < M; m++) s += B2F(dout[(long)m * ld + n]);
        db[n] += (float)s;
    }
    return 0;
}

static float *tof(const ElmBf16 *x, size_t n) {
    float *f = malloc(n * sizeof(float));
    elm_bf16_to_f32_n(f, x, n);
    return f;
}

int elm_cu_encoder_forward(ElmCudaCtx *ctx, ElmBf16 *out, const int *inp, const ElmBf16 *wte,
                           const ElmBf16 *wpe, int B, int T, int C, ElmError *err) {
    (void)ctx, (void)err;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++)
                out[((long)b * T + t) * C + c] =
                    F2B(B2F(wte[(long)inp[b * T + t] * C + c]) + B2F(wpe[(long)t * C + c]));
    return 0;
}
int elm_cu_encoder_backward(ElmCudaCtx *ctx, float *dwte, float *dwpe, const ElmBf16 *dout,
                            const int *inp, int B, int T, int C, ElmError *err) {
    (void)ctx, (void)err;
    float *d = tof(dout, (size_t)B * T * C);
    elm_encoder_backward(dwte, dwpe, d, inp, B, T, C);
    free(d);
    return 0;
}

static int ln_fwd(ElmBf16 *out, float *mean, float *rstd, const float *x, const ElmBf16 *w,
                  const ElmBf16 *b, int N, int C) {
    float *fw = tof(w, C), *fb = tof(b, C), *o = malloc(sizeof(float) * N * C);
    float *mu = malloc(sizeof(float) * N), *rs = malloc(sizeof(float) * N);
    elm_layernorm_forward(o, mu, rs, x, fw, fb, 1, N, C);
    elm_bf16_from_f32_n(out, o, (size_t)N * C);
    if (mean) memcpy(mean, mu, sizeof(float) * N);
    if (rstd) memcpy(rstd, rs, sizeof(float) * N);
    free(fw), free(fb), free(o), free(mu), free(rs);
    return 0;
}
int elm_cu_layernorm_forward(ElmCudaCtx *ctx, ElmBf16 *out, float *mean, float *rstd,
                             const ElmBf16 *inp, const ElmBf16 *w, const ElmBf16 *b, int N, int C,
                             ElmError *err) {
    (void)ctx, (void)err;
    float *x = tof(inp, (size_t)N * C);
    ln_fwd(out, mean, rstd, x, w, b, N, C);
    free(x);
    return 0;
}
int elm_cu_residual_layernorm_forward(ElmCudaCtx *ctx, ElmBf16 *res, ElmBf16 *out, float *mean,
                                      float *rstd, const ElmBf16 *a, const ElmBf16 *b,
                                      const ElmBf16 *w, const ElmBf16 *bias, int N, int C,
                                      ElmError *err) {
    (void)ctx, (void)err;
    size_t n = (size_t)N * C;
    float *x = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) {
        res[i] = F2B(B2F(a[i]) + B2F(b[i]));
        x[i] = B2F(res[i]);
    }
    ln_fwd(out, mean, rstd, x, w, bias, N, C);
    free(x);
    return 0;
}
int elm_cu_layernorm_backward(ElmCudaCtx *ctx, ElmBf16 *dinp, float *dw, float *db,
                              const ElmBf16 *dout, const ElmBf16 *inp, const ElmBf16 *w,
                              const float *mean, const float *rstd, int N, int C, ElmError *err) {
    (void)ctx, (void)err;
    size_t n = (size_t)N * C;
    float *di = tof(dinp, n), *d = tof(dout, n), *x = tof(inp, n), *fw = tof(w, C);
    elm_layernorm_backward(di, dw, db, d, x, fw, mean, rstd, 1, N, C);
    elm_bf16_from_f32_n(dinp, di, n);
    free(di), free(d), free(x), free(fw);
    return 0;
}

int elm_cu_gelu_forward(ElmCudaCtx *ctx, ElmBf16 *out, const ElmBf16 *inp, size_t n,
                        ElmError *err) {
    (void)ctx, (void)err;
    for (size_t i = 0; i < n; i++) out[i] = F2B(gelu(B2F(inp[i])));
    return 0;
}
int elm_cu_gelu_backward(ElmCudaCtx *ctx, ElmBf16 *dinp, const ElmBf16 *inp, const ElmBf16 *dout,
                         size_t n, ElmError *err) {
    (void)ctx, (void)err;
    for (size_t i = 0; i < n; i++) dinp[i] = F2B(gelu_grad(B2F(inp[i])) * B2F(dout[i]));
    return 0;
}
int elm_cu_residual_forward(ElmCudaCtx *ctx, ElmBf16 *out, const ElmBf16 *a, const ElmBf16 *b,
                            size_t n, ElmError *err) {
    (void)ctx, (void)err;
    for (size_t i = 0; i < n; i++) out[i] = F2B(B2F(a[i]) + B2F(b[i]));
    return 0;
}

int elm_cu_classifier(ElmCudaCtx *ctx, float *losses, ElmBf16 *logits, const int *targets, int BT,
                      int V, long ld, float dloss, int dlogits, ElmError *err) {
    (void)ctx, (void)err;
    for (int r = 0; r < BT; r++) {
        ElmBf16 *x = logits + (long)r * ld;
        double mx = -1e300, s = 0;
        for (int v = 0; v < V; v++) mx = fmax(mx, B2F(x[v]));
        for (int v = 0; v < V; v++) s += exp(B2F(x[v]) - mx);
        int t = targets[r];
        losses[r] = t >= 0 ? (float)(log(s) + mx - B2F(x[t])) : 0.0f;
        if (!dlogits) continue;
        float sc = t >= 0 ? dloss : 0.0f;
        for (long v = 0; v < ld; v++)
            x[v] = F2B(v < V ? (float)((exp(B2F(x[v]) - mx) / s - (v == t)) * sc) : 0.0f);
    }
    return 0;
}

int elm_cu_adamw(ElmCudaCtx *ctx, float *p, ElmBf16 *work, const float *grad, float *m, float *v,
                 size_t n, float lr, float b1, float b2, float eps, float wd, long long t,
                 const float *gs, ElmError *err) {
    (void)ctx, (void)err;
    float bc1 = 1.0f - (float)pow(b1, (double)t), bc2 = (float)sqrt(1.0 - pow(b2, (double)t));
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] * (gs ? *gs : 1.0f), w = p[i];
        w -= lr * wd * w;
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        w -= (lr / bc1) * m[i] / (sqrtf(v[i]) / bc2 + eps);
        p[i] = w;
        if (work) work[i] = F2B(w);
    }
    return 0;
}
int elm_cu_grad_norm(ElmCudaCtx *ctx, float *out, float *scratch, const float *g, size_t n,
                     float max_norm, ElmError *err) {
    (void)ctx, (void)scratch, (void)err;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    out[0] = (float)sqrt(s);
    out[1] = (max_norm > 0 && out[0] > max_norm) ? max_norm / (out[0] + 1e-6f) : 1.0f;
    return 0;
}
int elm_cu_f32_to_bf16(ElmCudaCtx *ctx, ElmBf16 *dst, const float *src, size_t n, ElmError *err) {
    (void)ctx, (void)err;
    elm_bf16_from_f32_n(dst, src, n);
    return 0;
}

size_t elm_cu_attention_scratch(int B, int T, int C, int NH) {
    return (size_t)B * NH * T + (size_t)B * T * C;
}
// Per (b, h): scores in double, softmax, out; lse kept. The backward recomputes P from lse.
int elm_cu_attention_forward(ElmCudaCtx *ctx, ElmBf16 *out, float *lse, const ElmBf16 *qkv, int B,
                             int T, int C, int NH, int version, ElmError *err) {
    (void)ctx;
    int hs = C / NH;
    if (version == 2 && hs != 16 && hs != 32 && hs != 64 && hs != 128)
        return elm_err(err, "attention v2: head size %d (16, 32, 64 or 128)", hs);
    double *p = malloc(sizeof(double) * T);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const ElmBf16 *q = qkv + ((long)b * T + t) * 3 * C + h * hs;
                double mx = -1e300, s = 0;
                for (int k = 0; k <= t; k++) {
                    const ElmBf16 *kk = qkv + ((long)b * T + k) * 3 * C + C + h * hs;
                    double d = 0;
                    for (int i = 0; i < hs; i++) d += (double)B2F(q[i]) * B2F(kk[i]);
                    p[k] = d / sqrt((double)hs);
                    mx = fmax(mx, p[k]);
                }
                for (int k = 0; k <= t; k++) s += (p[k] = exp(p[k] - mx));
                for (int i = 0; i < hs; i++) {
                    double o = 0;
                    for (int k = 0; k <= t; k++)
                        o += p[k] / s * B2F(qkv[((long)b * T + k) * 3 * C + 2 * C + h * hs + i]);
                    out[((long)b * T + t) * C + h * hs + i] = F2B((float)o);
                }
                lse[((long)b * NH + h) * T + t] = (float)(mx + log(s));
            }
    free(p);
    return 0;
}
int elm_cu_attention_backward(ElmCudaCtx *ctx, ElmBf16 *dqkv, float *scratch, const ElmBf16 *dout,
                              const ElmBf16 *qkv, const ElmBf16 *out, const float *lse, int B,
                              int T, int C, int NH, int version, ElmError *err) {
    (void)ctx, (void)scratch, (void)version, (void)err;
    int hs = C / NH;
    size_t n3 = (size_t)B * T * 3 * C;
    double *g = calloc(n3, sizeof(double));
#define QKV(b, t, part, i) B2F(qkv[((long)(b)*T + (t)) * 3 * C + (part)*C + h * hs + (i)])
#define DO(b, t, i) B2F(dout[((long)(b)*T + (t)) * C + h * hs + (i)])
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                double D = 0;
                for (int i = 0; i < hs; i++)
                    D += (double)DO(b, t, i) * B2F(out[((long)b * T + t) * C + h * hs + i]);
                for (int k = 0; k <= t; k++) {
                    double s = 0, dp = 0;
                    for (int i = 0; i < hs; i++) {
                        s += (double)QKV(b, t, 0, i) * QKV(b, k, 1, i);
                        dp += (double)DO(b, t, i) * QKV(b, k, 2, i);
                    }
                    double p = exp(s / sqrt((double)hs) - lse[((long)b * NH + h) * T + t]);
                    double ds = p * (dp - D) / sqrt((double)hs);
                    for (int i = 0; i < hs; i++) {
                        g[((long)b * T + t) * 3 * C + h * hs + i] += ds * QKV(b, k, 1, i);
                        g[((long)b * T + k) * 3 * C + C + h * hs + i] += ds * QKV(b, t, 0, i);
                        g[((long)b * T + k) * 3 * C + 2 * C + h * hs + i] += p * DO(b, t, i);
                    }
                }
            }
#undef QKV
#undef DO
    for (size_t i = 0; i < n3; i++) dqkv[i] = F2B((float)g[i]);
    free(g);
    return 0;
}
