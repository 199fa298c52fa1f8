// qmatmul.c — bf16 / int8 weight packing, activation preparation, the portable matrix products
// and the dispatch by CPUID (see qmatmul.h). The kernels are in qmatmul_avx512.c and
// qmatmul_avx2.c.
#include "engine/model/qmatmul.h"

#include "engine/model/bf16.h"
#include "engine/model/layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KP_ALIGN 64

uint16_t elm_qmatmul_to_bf16(float x) {
    return elm_bf16_from_float(x);
}

float elm_qmatmul_from_bf16(uint16_t b) {
    return elm_bf16_to_float(b);
}

static void *alloc64(size_t bytes) {
    bytes = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

void elm_qmatmul_free(ElmQMat *q) {
    free(q->bf16);
    free(q->q);
    free(q->scale);
    free(q->qsum);
    memset(q, 0, sizeof *q);
}

// s = max|x| / 127 (1 when all are 0), q = round(x / s) in [-127, 127].
static float quantize_row(int8_t *q, const float *x, int K) {
    float mx = 0.0f;
    for (int k = 0; k < K; k++) mx = fmaxf(mx, fabsf(x[k]));
    float s = mx > 0.0f ? mx / 127.0f : 1.0f, inv = 1.0f / s;
    for (int k = 0; k < K; k++) {
        long v = lrintf(x[k] * inv);
        q[k] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    return s;
}

int elm_qmatmul_pack(ElmQMat *q, int fmt, const float *w, int OC, int K, ElmError *err) {
    memset(q, 0, sizeof *q);
    if (fmt != ELM_QMM_BF16 && fmt != ELM_QMM_INT8)
        return elm_err(err, "qmatmul: unknown weight format %d", fmt);
    q->fmt = fmt, q->OC = OC, q->K = K, q->Kp = (K + KP_ALIGN - 1) / KP_ALIGN * KP_ALIGN;
    size_t n = (size_t)OC * q->Kp;
    if (fmt == ELM_QMM_BF16) {
        if (!(q->bf16 = alloc64(n * 2))) goto oom;
#pragma omp parallel for schedule(static)
        for (int o = 0; o < OC; o++) {
            uint16_t *dst = q->bf16 + (size_t)o * q->Kp;
            for (int k = 0; k < q->Kp; k++)
                dst[k] = k < K ? elm_qmatmul_to_bf16(w[(size_t)o * K + k]) : 0;
        }
        return 0;
    }
    q->q = alloc64(n), q->scale = alloc64((size_t)OC * 4), q->qsum = alloc64((size_t)OC * 4);
    if (!q->q || !q->scale || !q->qsum) goto oom;
#pragma omp parallel for schedule(static)
    for (int o = 0; o < OC; o++) {
        int8_t *dst = q->q + (size_t)o * q->Kp;
        q->scale[o] = quantize_row(dst, w + (size_t)o * K, K);
        memset(dst + K, 0, (size_t)(q->Kp - K));
        int32_t s = 0;
        for (int k = 0; k < K; k++) s += dst[k];
        q->qsum[o] = s;
    }
    return 0;
oom:
    elm_qmatmul_free(q);
    return elm_err(err, "qmatmul: out of memory for a %d x %d weight", OC, K);
}

size_t elm_qmatmul_scratch_bytes(int N, int K) {
    size_t Kp = (size_t)(K + KP_ALIGN - 1) / KP_ALIGN * KP_ALIGN;
    return (size_t)N * Kp * 4 + (size_t)N * 4 + 2 * 64;
}

static int cpu_has_avx512(int fmt, int int8_mode) {
    if (fmt == ELM_QMM_BF16) return elm_bf16_cpu_has();
    if (int8_mode == ELM_QMM_INT8_ACT8)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vnni");
    return __builtin_cpu_supports("avx512f");
}

int elm_qmatmul_isa(int fmt, int int8_mode, int isa_max) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (isa_max >= ELM_QMM_AVX512 && cpu_has_avx512(fmt, int8_mode)) return ELM_QMM_AVX512;
    if (isa_max >= ELM_QMM_AVX2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return ELM_QMM_AVX2;
#else
    (void)fmt, (void)int8_mode, (void)isa_max;
#endif
    return ELM_QMM_PORTABLE;
}

const char *elm_qmatmul_isa_name(int fmt, int int8_mode, int isa_max) {
    int isa = elm_qmatmul_isa(fmt, int8_mode, isa_max);
    if (isa == ELM_QMM_PORTABLE) return "portable";
    if (isa == ELM_QMM_AVX2) return "avx2";
    if (fmt == ELM_QMM_BF16) return "avx512bf16";
    return int8_mode == ELM_QMM_INT8_ACT8 ? "avx512vnni" : "avx512f";
}

// ---- portable loops: the same arithmetic as the SIMD kernels, summed in another order --------

static void portable_bf16(float *out, const uint16_t *xb, const ElmQMat *w, int N) {
    int Kp = w->Kp, OC = w->OC;
#pragma omp parallel for schedule(static) if ((size_t)N * Kp * OC >= ELM_PAR_MIN)
    for (int o = 0; o < OC; o++) {
        const uint16_t *wr = w->bf16 + (size_t)o * Kp;
        for (int r = 0; r < N; r++) {
            const uint16_t *xr = xb + (size_t)r * Kp;
            float s = 0.0f;
            for (int k = 0; k < Kp; k++)
                s += elm_qmatmul_from_bf16(xr[k]) * elm_qmatmul_from_bf16(wr[k]);
            out[(size_t)r * OC + o] = s;
        }
    }
}

static void portable_act8(float *out, const uint8_t *xq, const float *xs, const ElmQMat *w, int N) {
    int Kp = w->Kp, OC = w->OC;
#pragma omp parallel for schedule(static) if ((size_t)N * Kp * OC >= ELM_PAR_MIN)
    for (int o = 0; o < OC; o++) {
        const int8_t *wr = w->q + (size_t)o * Kp;
        for (int r = 0; r < N; r++) {
            const uint8_t *xr = xq + (size_t)r * Kp;
            int32_t s = 0;
            for (int k = 0; k < Kp; k++) s += (int32_t)xr[k] * wr[k];
            s -= 128 * w->qsum[o];
            out[(size_t)r * OC + o] = (float)s * (xs[r] * w->scale[o]);
        }
    }
}

static void portable_deq(float *out, const float *xf, const ElmQMat *w, int N) {
    int Kp = w->Kp, OC = w->OC;
#pragma omp parallel for schedule(static) if ((size_t)N * Kp * OC >= ELM_PAR_MIN)
    for (int o = 0; o < OC; o++) {
        const int8_t *wr = w->q + (size_t)o * Kp;
        for (int r = 0; r < N; r++) {
            const float *xr = xf + (size_t)r * Kp;
            float s = 0.0f;
            for (int k = 0; k < Kp; k++) s += xr[k] * (float)wr[k];
            out[(size_t)r * OC + o] = s * w->scale[o];
        }
    }
}

// ---- dispatch ---------------------------------------------------------------------------------

void elm_qmatmul_forward(float *out, const float *inp, const ElmQMat *w, const float *bias, int N,
                         int int8_mode, int isa_max, void *scratch) {
    int K = w->K, Kp = w->Kp, OC = w->OC;
    int isa = elm_qmatmul_isa(w->fmt, int8_mode, isa_max);
    char *base = (char *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    if (w->fmt == ELM_QMM_BF16) {
        uint16_t *xb = (uint16_t *)base;
        for (int r = 0; r < N; r++)
            for (int k = 0; k < Kp; k++)
                xb[(size_t)r * Kp + k] = k < K ? elm_qmatmul_to_bf16(inp[(size_t)r * K + k]) : 0;
        if (isa == ELM_QMM_AVX512)
            elm_qmatmul_avx512_bf16(out, xb, w, N);
        else if (isa == ELM_QMM_AVX2)
            elm_qmatmul_avx2_bf16(out, xb, w, N);
        else
            portable_bf16(out, xb, w, N);
    } else if (int8_mode == ELM_QMM_INT8_ACT8) {
        uint8_t *xq = (uint8_t *)base;
        float *xs = (float *)(base + ((size_t)N * Kp + 63) / 64 * 64);
        for (int r = 0; r < N; r++) {
            int8_t *row = (int8_t *)xq + (size_t)r * Kp;
            xs[r] = quantize_row(row, inp + (size_t)r * K, K);
            memset(row + K, 0, (size_t)(Kp - K));
            for (int k = 0; k < Kp; k++) xq[(size_t)r * Kp + k] = (uint8_t)(row[k] + 128);
        }
        if (isa == ELM_QMM_AVX512)
            elm_qmatmul_avx512_act8(out, xq, xs, w, N);
        else if (isa == ELM_QMM_AVX2)
            elm_qmatmul_avx2_act8(out, xq, xs, w, N);
        else
            portable_act8(out, xq, xs, w, N);
    } else {
        float *xf = (float *)base;
        for (int r = 0; r < N; r++) {
            memcpy(xf + (size_t)r * Kp, inp + (size_t)r * K, (size_t)K * sizeof(float));
            memset(xf + (size_t)r * Kp + K, 0, (size_t)(Kp - K) * sizeof(float));
        }
        if (isa == ELM_QMM_AVX512)
            elm_qmatmul_avx512_deq(out, xf, w, N);
        else if (isa == ELM_QMM_AVX2)
            elm_qmatmul_avx2_deq(out, xf, w, N);
        else
            portable_deq(out, xf, w, N);
    }
    if (bias)
        for (int r = 0; r < N; r++)
            for (int o = 0; o < OC; o++) out[(size_t)r * OC + o] += bias[o];
}
