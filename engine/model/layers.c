// layers.c — GPT-2's layers as forward/backward pairs on raw fp32 arrays (see layers.h).
// Called by gpt2.c and by the kernel harnesses in kernels/ as their CPU reference.
#include "engine/model/layers.h"

#include "engine/model/bf16.h"
#include "engine/model/gemm.h"
#include "engine/model/gemm_few.h"
#include "engine/model/gemm_bf16.h"

#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef ELM_HAVE_BLAS
#include <cblas.h>
#endif

// ---- encoder ---------------------------------------------------------------------------------

void elm_encoder_forward(float *out, const int *inp, const float *wte, const float *wpe, int B,
                         int T, int C) {
#pragma omp parallel for collapse(2) if (((size_t)B * T * C) >= ELM_PAR_MIN)
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            float *o = out + ((size_t)b * T + t) * C;
            const float *we = wte + (size_t)inp[b * T + t] * C;
            const float *pe = wpe + (size_t)t * C;
#pragma omp simd
            for (int i = 0; i < C; i++) o[i] = we[i] + pe[i];
        }
    }
}

void elm_encoder_backward(float *dwte, float *dwpe, const float *dout, const int *inp, int B, int T,
                          int C) {
    // Serial over (b, t) in a fixed order: two positions may hold the same token, and the
    // order of their sums must not depend on threads. Parallel over channels instead.
#pragma omp parallel if (((size_t)B * T * C) >= ELM_PAR_MIN)
    {
#pragma omp for schedule(static)
        for (int i0 = 0; i0 < C; i0 += 16) {
            int i1 = i0 + 16 < C ? i0 + 16 : C;
            for (int b = 0; b < B; b++) {
                for (int t = 0; t < T; t++) {
                    const float *d = dout + ((size_t)b * T + t) * C;
                    float *dw = dwte + (size_t)inp[b * T + t] * C;
                    float *dp = dwpe + (size_t)t * C;
                    for (int i = i0; i < i1; i++) {
                        dw[i] += d[i];
                        dp[i] += d[i];
                    }
                }
            }
        }
    }
}

// ---- layernorm -------------------------------------------------------------------------------

void elm_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *weight, const float *bias, int B, int T, int C) {
    int BT = B * T;
#pragma omp parallel for schedule(static) if (((size_t)BT * C) >= ELM_PAR_MIN)
    for (int r = 0; r < BT; r++) {
        const float *x = inp + (size_t)r * C;
        float m = 0.0f;
#pragma omp simd reduction(+ : m)
        for (int i = 0; i < C; i++) m += x[i];
        m /= C;
        float v = 0.0f;
#pragma omp simd reduction(+ : v)
        for (int i = 0; i < C; i++) {
            float d = x[i] - m;
            v += d * d;
        }
        v /= C;
        float s = 1.0f / sqrtf(v + ELM_LN_EPS);
        float *o = out + (size_t)r * C;
#pragma omp simd
        for (int i = 0; i < C; i++) o[i] = (x[i] - m) * s * weight[i] + bias[i];
        mean[r] = m;
        rstd[r] = s;
    }
}

void elm_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, const float *mean,
                            const float *rstd, int B, int T, int C) {
    int BT = B * T;
    // dinp: independent rows, parallel over rows.
#pragma omp parallel for schedule(static) if (((size_t)BT * C) >= ELM_PAR_MIN)
    for (int r = 0; r < BT; r++) {
        const float *x = inp + (size_t)r * C, *d = dout + (size_t)r * C;
        float m = mean[r], s = rstd[r];
        // dnorm = dout * w; dx = s * (dnorm - mean(dnorm) - norm * mean(dnorm * norm))
        float dn_mean = 0.0f, dn_norm_mean = 0.0f;
#pragma omp simd reduction(+ : dn_mean, dn_norm_mean)
        for (int i = 0; i < C; i++) {
            float n = (x[i] - m) * s;
            float dn = weight[i] * d[i];
            dn_mean += dn;
            dn_norm_mean += dn * n;
        }
        dn_mean /= C;
        dn_norm_mean /= C;
        float *dx = dinp + (size_t)r * C;
#pragma omp simd
        for (int i = 0; i < C; i++) {
            float n = (x[i] - m) * s;
            float dn = weight[i] * d[i];
            dx[i] += s * (dn - dn_mean - n * dn_norm_mean);
        }
    }
    // dweight, dbias: sums over rows, parallel over channels (fixed row order per channel).
#pragma omp parallel for schedule(static) if (((size_t)BT * C) >= ELM_PAR_MIN)
    for (int i0 = 0; i0 < C; i0 += 16) {
        int i1 = i0 + 16 < C ? i0 + 16 : C;
        for (int r = 0; r < BT; r++) {
            const float *x = inp + (size_t)r * C, *d = dout + (size_t)r * C;
            float m = mean[r], s = rstd[r];
            for (int i = i0; i < i1; i++) {
                dbias[i] += d[i];
                dweight[i] += (x[i] - m) * s * d[i];
            }
        }
    }
}

// ---- matmul: elm's own loops -------------------------------------------------------------------
// Forward: blocks of OB weight rows stay in cache while every tile of RT input rows streams past;
// each output is a SIMD dot product with RT rows sharing one weight load.
#define MM_RT 8
#define MM_GEMM_MIN 64
#define MM_OB 64

void elm_matmul_forward_loops(float *out, const float *inp, const float *weight, const float *bias,
                              int B, int T, int C, int OC) {
    int BT = B * T;
    // AVX-512 or AVX2 for batches: out = bias, then out += inp (BT,C) @ W^T, B[k][j] = W[j][k].
    // Under MM_GEMM_MIN rows (decoding) repacking W costs more than it saves: dot products
    // (gemm_few.c on AVX-512, measured as fast as the gemm at 64 rows and faster below).
    if (BT >= MM_GEMM_MIN && elm_gemm_have()) {
#pragma omp parallel for schedule(static) if (((size_t)BT * OC) >= ELM_PAR_MIN)
        for (int r = 0; r < BT; r++) {
            if (bias)
                memcpy(out + (size_t)r * OC, bias, sizeof(float) * OC);
            else
                memset(out + (size_t)r * OC, 0, sizeof(float) * OC);
        }
        elm_gemm(BT, OC, C, inp, C, 1, weight, 1, C, out, OC);
        return;
    }
    if (elm_gemm_few(BT, OC, C, inp, weight, bias, out) == 0) return; // AVX-512: W read once
    elm_matmul_forward_portable(out, inp, weight, bias, B, T, C, OC);
}

void elm_matmul_forward_portable(float *out, const float *inp, const float *weight,
                                 const float *bias, int B, int T, int C, int OC) {
    int BT = B * T;
    int n_ob = (OC + MM_OB - 1) / MM_OB;
#pragma omp parallel for schedule(static) if (((size_t)BT * C * OC) >= ELM_PAR_MIN)
    for (int ob = 0; ob < n_ob; ob++) {
        int o0 = ob * MM_OB, o1 = o0 + MM_OB < OC ? o0 + MM_OB : OC;
        int r = 0;
        for (; r + MM_RT <= BT; r += MM_RT) {
            const float *x0 = inp + (size_t)r * C, *x1 = x0 + C, *x2 = x1 + C, *x3 = x2 + C;
            const float *x4 = x3 + C, *x5 = x4 + C, *x6 = x5 + C, *x7 = x6 + C;
            for (int o = o0; o < o1; o++) {
                const float *w = weight + (size_t)o * C;
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3, s4, s5, s6, s7)
                for (int i = 0; i < C; i++) {
                    float wi = w[i];
                    s0 += x0[i] * wi;
                    s1 += x1[i] * wi;
                    s2 += x2[i] * wi;
                    s3 += x3[i] * wi;
                    s4 += x4[i] * wi;
                    s5 += x5[i] * wi;
                    s6 += x6[i] * wi;
                    s7 += x7[i] * wi;
                }
                float bo = bias ? bias[o] : 0.0f;
                float *y = out + (size_t)r * OC + o;
                y[0] = s0 + bo;
                y[(size_t)OC] = s1 + bo;
                y[(size_t)2 * OC] = s2 + bo;
                y[(size_t)3 * OC] = s3 + bo;
                y[(size_t)4 * OC] = s4 + bo;
                y[(size_t)5 * OC] = s5 + bo;
                y[(size_t)6 * OC] = s6 + bo;
                y[(size_t)7 * OC] = s7 + bo;
            }
        }
        // The last rows (all of them when decoding): each weight row is read once, from
        // memory, and reused from L1 for every row.
        int r0 = r;
        for (int o = o0; o < o1; o++) {
            const float *w = weight + (size_t)o * C;
            for (r = r0; r < BT; r++) {
                const float *x = inp + (size_t)r * C;
                float s = 0;
#pragma omp simd reduction(+ : s)
                for (int i = 0; i < C; i++) s += x[i] * w[i];
                out[(size_t)r * OC + o] = s + (bias ? bias[o] : 0.0f);
            }
        }
    }
}

// Backward. dinp (BT,C) += dout (BT,OC) @ W (OC,C): tiles of RT rows x IB channels accumulate
// in registers while o runs. dweight (OC,C) += dout^T @ inp: tiles of RT weight rows x IB
// channels accumulate while the BT rows run. Every output element is owned by one thread.
#define MM_IB 32

static void mm_dinp(float *dinp, const float *dout, const float *weight, int BT, int C, int OC) {
    int n_rt = (BT + MM_RT - 1) / MM_RT, n_ib = (C + MM_IB - 1) / MM_IB;
#pragma omp parallel for collapse(2) schedule(static) if (((size_t)BT * C * OC) >= ELM_PAR_MIN)
    for (int rt = 0; rt < n_rt; rt++) {
        for (int ib = 0; ib < n_ib; ib++) {
            int r0 = rt * MM_RT, nr = BT - r0 < MM_RT ? BT - r0 : MM_RT;
            int i0 = ib * MM_IB, ni = C - i0 < MM_IB ? C - i0 : MM_IB;
            float acc[MM_RT][MM_IB];
            memset(acc, 0, sizeof acc);
            if (nr == MM_RT && ni == MM_IB) {
                for (int o = 0; o < OC; o++) {
                    const float *w = weight + (size_t)o * C + i0;
                    for (int r = 0; r < MM_RT; r++) {
                        float d = dout[(size_t)(r0 + r) * OC + o];
#pragma omp simd
                        for (int j = 0; j < MM_IB; j++) acc[r][j] += d * w[j];
                    }
                }
            } else {
                for (int o = 0; o < OC; o++) {
                    const float *w = weight + (size_t)o * C + i0;
                    for (int r = 0; r < nr; r++) {
                        float d = dout[(size_t)(r0 + r) * OC + o];
                        for (int j = 0; j < ni; j++) acc[r][j] += d * w[j];
                    }
                }
            }
            for (int r = 0; r < nr; r++) {
                float *dx = dinp + (size_t)(r0 + r) * C + i0;
                for (int j = 0; j < ni; j++) dx[j] += acc[r][j];
            }
        }
    }
}

static void mm_dweight(float *dweight, const float *dout, const float *inp, int BT, int C, int OC) {
    int n_ot = (OC + MM_RT - 1) / MM_RT, n_ib = (C + MM_IB - 1) / MM_IB;
#pragma omp parallel for collapse(2) schedule(static) if (((size_t)BT * C * OC) >= ELM_PAR_MIN)
    for (int ot = 0; ot < n_ot; ot++) {
        for (int ib = 0; ib < n_ib; ib++) {
            int o0 = ot * MM_RT, no = OC - o0 < MM_RT ? OC - o0 : MM_RT;
            int i0 = ib * MM_IB, ni = C - i0 < MM_IB ? C - i0 : MM_IB;
            float acc[MM_RT][MM_IB];
            memset(acc, 0, sizeof acc);
            if (no == MM_RT && ni == MM_IB) {
                for (int r = 0; r < BT; r++) {
                    const float *x = inp + (size_t)r * C + i0;
                    const float *d = dout + (size_t)r * OC + o0;
                    for (int o = 0; o < MM_RT; o++) {
                        float dd = d[o];
#pragma omp simd
                        for (int j = 0; j < MM_IB; j++) acc[o][j] += dd * x[j];
                    }
                }
            } else {
                for (int r = 0; r < BT; r++) {
                    const float *x = inp + (size_t)r * C + i0;
                    const float *d = dout + (size_t)r * OC + o0;
                    for (int o = 0; o < no; o++)
                        for (int j = 0; j < ni; j++) acc[o][j] += d[o] * x[j];
                }
            }
            for (int o = 0; o < no; o++) {
                float *dw = dweight + (size_t)(o0 + o) * C + i0;
                for (int j = 0; j < ni; j++) dw[j] += acc[o][j];
            }
        }
    }
}

static void mm_dbias(float *dbias, const float *dout, int BT, int OC) {
#pragma omp parallel for schedule(static) if (((size_t)BT * OC) >= ELM_PAR_MIN)
    for (int o0 = 0; o0 < OC; o0 += 64) {
        int o1 = o0 + 64 < OC ? o0 + 64 : OC;
        for (int r = 0; r < BT; r++) {
            const float *d = dout + (size_t)r * OC;
            for (int o = o0; o < o1; o++) dbias[o] += d[o];
        }
    }
}

void elm_matmul_backward_loops(float *dinp, float *dweight, float *dbias, const float *dout,
                               const float *inp, const float *weight, int B, int T, int C, int OC) {
    if (!elm_gemm_have()) {
        elm_matmul_backward_portable(dinp, dweight, dbias, dout, inp, weight, B, T, C, OC);
        return;
    }
    int BT = B * T;
    // dinp (BT,C) += dout (BT,OC) @ W (OC,C); dweight (OC,C) += dout^T @ inp (BT,C)
    if (dinp) elm_gemm(BT, C, OC, dout, OC, 1, weight, C, 1, dinp, C);
    elm_gemm(OC, C, BT, dout, 1, OC, inp, C, 1, dweight, C);
    if (dbias) mm_dbias(dbias, dout, BT, OC);
}

void elm_matmul_backward_portable(float *dinp, float *dweight, float *dbias, const float *dout,
                                  const float *inp, const float *weight, int B, int T, int C,
                                  int OC) {
    int BT = B * T;
    if (dinp) mm_dinp(dinp, dout, weight, BT, C, OC);
    mm_dweight(dweight, dout, inp, BT, C, OC);
    if (dbias) mm_dbias(dbias, dout, BT, OC);
}

// ---- matmul: bf16 products (gemm_bf16.c), fp32 sums, bias and dbias in fp32 ----------------

void elm_matmul_forward_bf16(float *out, const float *inp, const float *weight, const float *bias,
                             int B, int T, int C, int OC) {
    int BT = B * T;
    if (!elm_bf16_cpu_has()) {
        elm_matmul_forward_loops(out, inp, weight, bias, B, T, C, OC);
        return;
    }
#pragma omp parallel for schedule(static) if (((size_t)BT * OC) >= ELM_PAR_MIN)
    for (int r = 0; r < BT; r++) {
        if (bias)
            memcpy(out + (size_t)r * OC, bias, sizeof(float) * OC);
        else
            memset(out + (size_t)r * OC, 0, sizeof(float) * OC);
    }
    if (elm_gemm_bf16(BT, OC, C, inp, C, 1, weight, 1, C, out, OC)) // out of memory: fp32
        elm_matmul_forward_loops(out, inp, weight, bias, B, T, C, OC);
}

void elm_matmul_backward_bf16(float *dinp, float *dweight, float *dbias, const float *dout,
                              const float *inp, const float *weight, int B, int T, int C, int OC) {
    int BT = B * T, ok = elm_bf16_cpu_has();
    // elm_gemm_bf16 leaves its output untouched when it fails, so the fp32 loops can take over.
    if (ok && dinp) ok = elm_gemm_bf16(BT, C, OC, dout, OC, 1, weight, C, 1, dinp, C) == 0;
    if (!ok) {
        elm_matmul_backward_loops(dinp, dweight, dbias, dout, inp, weight, B, T, C, OC);
        return;
    }
    if (elm_gemm_bf16(OC, C, BT, dout, 1, OC, inp, C, 1, dweight, C)) {
        elm_matmul_backward_loops(NULL, dweight, dbias, dout, inp, weight, B, T, C, OC);
        return;
    }
    if (dbias) mm_dbias(dbias, dout, BT, OC);
}

// ---- matmul: BLAS ----------------------------------------------------------------------------

int elm_matmul_have_blas(void) {
#ifdef ELM_HAVE_BLAS
    return 1;
#else
    return 0;
#endif
}

#ifdef ELM_HAVE_BLAS
// OpenBLAS runs single-threaded inside elm's own OpenMP team, each thread taking a slice of the
// output's columns (or rows): OpenBLAS's pthreads and OpenMP's spinning workers would otherwise
// fight over the cores (measured: a third of the time spinning, docs/model.md).
static void split(int n, int *lo, int *hi) {
    int nt = omp_get_num_threads(), id = omp_get_thread_num();
    int chunk = ((n + nt - 1) / nt + 15) / 16 * 16;
    *lo = id * chunk < n ? id * chunk : n;
    *hi = *lo + chunk < n ? *lo + chunk : n;
}
#endif

void elm_matmul_forward_blas(float *out, const float *inp, const float *weight, const float *bias,
                             int B, int T, int C, int OC) {
#ifdef ELM_HAVE_BLAS
    int BT = B * T;
    openblas_set_num_threads(1);
#pragma omp parallel if (((size_t)BT * C * OC) >= ELM_PAR_MIN)
    {
        int o0, o1;
        split(OC, &o0, &o1);
        if (o1 > o0) {
            if (bias)
                for (int r = 0; r < BT; r++)
                    memcpy(out + (size_t)r * OC + o0, bias + o0, sizeof(float) * (o1 - o0));
            // out[:, o0:o1] = inp (BT,C) @ W[o0:o1]^T
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BT, o1 - o0, C, 1.0f, inp, C,
                        weight + (size_t)o0 * C, C, bias ? 1.0f : 0.0f, out + o0, OC);
        }
    }
#else
    elm_matmul_forward_loops(out, inp, weight, bias, B, T, C, OC);
#endif
}

void elm_matmul_backward_blas(float *dinp, float *dweight, float *dbias, const float *dout,
                              const float *inp, const float *weight, int B, int T, int C, int OC) {
#ifdef ELM_HAVE_BLAS
    int BT = B * T;
    openblas_set_num_threads(1);
#pragma omp parallel if (((size_t)BT * C * OC) >= ELM_PAR_MIN)
    {
        int c0, c1, o0, o1;
        split(C, &c0, &c1);
        // dinp[:, c0:c1] += dout (BT,OC) @ W[:, c0:c1]
        if (dinp && c1 > c0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BT, c1 - c0, OC, 1.0f, dout, OC,
                        weight + c0, C, 1.0f, dinp + c0, C);
        // dweight[o0:o1] += dout[:, o0:o1]^T @ inp (BT,C)
        split(OC, &o0, &o1);
        if (o1 > o0)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o1 - o0, C, BT, 1.0f, dout + o0,
                        OC, inp, C, 1.0f, dweight + (size_t)o0 * C, C);
    }
    if (dbias) mm_dbias(dbias, dout, BT, OC);
#else
    elm_matmul_backward_loops(dinp, dweight, dbias, dout, inp, weight, B, T, C, OC);
#endif
}

// The default: elm's own loops, measured faster than OpenBLAS here (docs/model.md).
void elm_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int B,
                        int T, int C, int OC) {
    elm_matmul_forward_loops(out, inp, weight, bias, B, T, C, OC);
}

void elm_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, int B, int T, int C, int OC) {
    elm_matmul_backward_loops(dinp, dweight, dbias, dout, inp, weight, B, T, C, OC);
}

// ---- attention -------------------------------------------------------------------------------

void elm_attention_forward(float *out, float *att, const float *inp, int B, int T, int C, int NH) {
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel for collapse(3) schedule(static) if (((size_t)B * T * T * C) >= ELM_PAR_MIN)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            for (int t = 0; t < T; t++) {
                const float *q = inp + ((size_t)b * T + t) * C3 + h * hs;
                float *a = att + (((size_t)b * NH + h) * T + t) * T;
                float maxv = -INFINITY;
                for (int j = 0; j <= t; j++) {
                    const float *k = inp + ((size_t)b * T + j) * C3 + C + h * hs;
                    float s = 0.0f;
#pragma omp simd reduction(+ : s)
                    for (int i = 0; i < hs; i++) s += q[i] * k[i];
                    s *= scale;
                    a[j] = s;
                    if (s > maxv) maxv = s;
                }
                float sum = 0.0f;
                for (int j = 0; j <= t; j++) {
                    a[j] = expf(a[j] - maxv);
                    sum += a[j];
                }
                float inv = 1.0f / sum;
                for (int j = 0; j <= t; j++) a[j] *= inv;
                for (int j = t + 1; j < T; j++) a[j] = 0.0f;
                float *o = out + ((size_t)b * T + t) * C + h * hs;
                for (int i = 0; i < hs; i++) o[i] = 0.0f;
                for (int j = 0; j <= t; j++) {
                    const float *v = inp + ((size_t)b * T + j) * C3 + 2 * C + h * hs;
                    float aj = a[j];
#pragma omp simd
                    for (int i = 0; i < hs; i++) o[i] += aj * v[i];
                }
            }
        }
    }
}

void elm_attention_backward(float *dinp, float *datt, const float *dout, const float *inp,
                            const float *att, int B, int T, int C, int NH) {
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    // One (b, h) per task: it alone writes that head's columns of dq, dk, dv.
#pragma omp parallel for collapse(2) schedule(static) if (((size_t)B * T * T * C) >= ELM_PAR_MIN)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            for (int t = 0; t < T; t++) {
                const float *a = att + (((size_t)b * NH + h) * T + t) * T;
                float *da = datt + (((size_t)b * NH + h) * T + t) * T;
                const float *d = dout + ((size_t)b * T + t) * C + h * hs;
                const float *q = inp + ((size_t)b * T + t) * C3 + h * hs;
                float *dq = dinp + ((size_t)b * T + t) * C3 + h * hs;
                // out = att @ v: datt[j] = d . v[j]; dv[j] += att[j] * d
                for (int j = 0; j <= t; j++) {
                    const float *v = inp + ((size_t)b * T + j) * C3 + 2 * C + h * hs;
                    float *dv = dinp + ((size_t)b * T + j) * C3 + 2 * C + h * hs;
                    float s = 0.0f, aj = a[j];
#pragma omp simd reduction(+ : s)
                    for (int i = 0; i < hs; i++) {
                        s += d[i] * v[i];
                        dv[i] += aj * d[i];
                    }
                    da[j] = s;
                }
                // softmax: dpre[j] = att[j] * (datt[j] - sum_k att[k] datt[k])
                float dot = 0.0f;
                for (int j = 0; j <= t; j++) dot += a[j] * da[j];
                for (int j = 0; j <= t; j++) da[j] = a[j] * (da[j] - dot) * scale;
                for (int j = t + 1; j < T; j++) da[j] = 0.0f;
                // pre = q . k * scale
                for (int j = 0; j <= t; j++) {
                    const float *k = inp + ((size_t)b * T + j) * C3 + C + h * hs;
                    float *dk = dinp + ((size_t)b * T + j) * C3 + C + h * hs;
                    float g = da[j];
#pragma omp simd
                    for (int i = 0; i < hs; i++) {
                        dq[i] += g * k[i];
                        dk[i] += g * q[i];
                    }
                }
            }
        }
    }
}

// ---- GELU (tanh form) ------------------------------------------------------------------------

#define GELU_K 0.7978845608028654f // sqrt(2 / pi)

// exp(x), x clamped to [-80, 80]: 2^n * p(r) with r = x - n ln2 (ln2 split in two, Cody-Waite)
// and p the degree-7 Taylor polynomial (|r| <= 0.35: relative error < 1e-7). Plain arithmetic,
// so the loops below vectorise (libm's tanhf does not: it was 10% of a training step). Without
// trapping math the clamps compile to min/max (GELU raises no exceptions anyone checks).
#define GELU_VEC __attribute__((optimize("no-trapping-math")))

GELU_VEC static inline float gelu_exp(float x) {
    x = x < -80.0f ? -80.0f : x;
    x = x > 80.0f ? 80.0f : x;
    int n = (int)(x * 1.44269504088896341f + 200.5f) - 200; // floor(x / ln2 + 0.5)
    float nf = (float)n;
    float r = x - nf * 0.693359375f + nf * 2.12194440e-4f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = (int32_t)((uint32_t)(n + 127) << 23);
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// With e = exp(2u) and d = 1 / (1 + e): tanh u = 1 - 2d, 1 + tanh u = 2 e d and
// 1 - tanh^2 u = 4 e d^2, each without cancellation, so the tails are accurate too.
GELU_VEC void elm_gelu_forward(float *out, const float *inp, int N) {
#pragma omp parallel for schedule(static) if (((size_t)N * 8) >= ELM_PAR_MIN)
    for (int i = 0; i < N; i++) {
        float x = inp[i];
        float e = gelu_exp(2.0f * GELU_K * (x + 0.044715f * x * x * x));
        out[i] = x * (e / (1.0f + e)); // 0.5 x (1 + tanh u)
    }
}

GELU_VEC void elm_gelu_backward(float *dinp, const float *inp, const float *dout, int N) {
#pragma omp parallel for schedule(static) if (((size_t)N * 8) >= ELM_PAR_MIN)
    for (int i = 0; i < N; i++) {
        float x = inp[i];
        float e = gelu_exp(2.0f * GELU_K * (x + 0.044715f * x * x * x));
        float d = 1.0f / (1.0f + e);
        float ed = e * d;
        // 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) du/dx
        float g = ed + 2.0f * x * ed * d * GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] += g * dout[i];
    }
}

// ---- residual --------------------------------------------------------------------------------

void elm_residual_forward(float *out, const float *inp1, const float *inp2, int N) {
#pragma omp parallel for simd schedule(static) if (((size_t)N) >= ELM_PAR_MIN)
    for (int i = 0; i < N; i++) out[i] = inp1[i] + inp2[i];
}

void elm_residual_backward(float *dinp1, float *dinp2, const float *dout, int N) {
#pragma omp parallel for simd schedule(static) if (((size_t)N) >= ELM_PAR_MIN)
    for (int i = 0; i < N; i++) {
        dinp1[i] += dout[i];
        dinp2[i] += dout[i];
    }
}

// ---- fused softmax + cross-entropy -----------------------------------------------------------

void elm_crossentropy_forward(float *losses, float *probs, const float *logits, const int *targets,
                              int BT, int V) {
#pragma omp parallel for schedule(static) if (((size_t)BT * V) >= ELM_PAR_MIN)
    for (int r = 0; r < BT; r++) {
        const float *x = logits + (size_t)r * V;
        float *p = probs + (size_t)r * V;
        float maxv = -INFINITY;
        for (int i = 0; i < V; i++)
            if (x[i] > maxv) maxv = x[i];
        int tg = targets[r];
        float xt = tg >= 0 ? x[tg] : 0.0f; // read before p may overwrite x
        float sum = 0.0f;
        for (int i = 0; i < V; i++) {
            float e = expf(x[i] - maxv);
            p[i] = e;
            sum += e;
        }
        float inv = 1.0f / sum;
#pragma omp simd
        for (int i = 0; i < V; i++) p[i] *= inv;
        // -log softmax = log(sum) - (x_t - max), exact for tiny probabilities too
        losses[r] = tg >= 0 ? logf(sum) - (xt - maxv) : 0.0f;
    }
}

void elm_crossentropy_backward(float *dlogits, const float *probs, const int *targets,
                               const float *dlosses, int BT, int V) {
#pragma omp parallel for schedule(static) if (((size_t)BT * V) >= ELM_PAR_MIN)
    for (int r = 0; r < BT; r++) {
        const float *p = probs + (size_t)r * V;
        float *dl = dlogits + (size_t)r * V;
        int tg = targets[r];
        if (tg < 0) {
            memset(dl, 0, sizeof(float) * V);
            continue;
        }
        float g = dlosses[r];
#pragma omp simd
        for (int i = 0; i < V; i++) dl[i] = p[i] * g;
        dl[tg] -= g;
    }
}
