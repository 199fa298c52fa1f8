// qmatmul_avx512.c — the AVX-512 kernels of qmatmul.h: bf16 (`vdpbf16ps`), int8 x int8
// (`vpdpbusd`) and int8 widened to fp32 (AVX-512F). Each function carries its own target
// attribute, so the rest of the build keeps its flags and qmatmul.c calls these only after CPUID.
//
// A tile is OT = 4 output channels x up to RT = 4 rows: 16 accumulators stay in registers while
// k runs over the padded row (Kp), then each is summed across its lanes. The weight rows are
// read once per tile of rows; for N <= 4 (decoding one token per sequence, small batches) that
// is once per call, which is what bounds the speed there: bytes of weight.
#include "engine/model/qmatmul.h"

#include "engine/model/layers.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define OT 4
#define RT 4
#define INLINE static inline __attribute__((always_inline))
#define T_BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))
#define T_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define T_F __attribute__((target("avx512f")))

// Weight row pointers for channels o .. o+OT-1; channels past OC repeat row o (not stored).
#define ROWS(type, base)                                                                           \
    const type *wr[OT];                                                                            \
    for (int j = 0; j < OT; j++) wr[j] = base + (size_t)(o + (j < no ? j : 0)) * Kp

// out[r][o + j] for r < nr, j < no: sum over k of bf16 x[r] * bf16 w[o + j].
INLINE T_BF16 void tile_bf16(float *out, const uint16_t *xb, const ElmQMat *w, int o, int no,
                             int nr) {
    int Kp = w->Kp, OC = w->OC;
    ROWS(uint16_t, w->bf16);
    __m512 acc[RT][OT];
#pragma GCC unroll 4
    for (int r = 0; r < RT; r++)
#pragma GCC unroll 4
        for (int j = 0; j < OT; j++) acc[r][j] = _mm512_setzero_ps();
    for (int k = 0; k < Kp; k += 32) {
        __m512bh wv[OT];
#pragma GCC unroll 4
        for (int j = 0; j < OT; j++) wv[j] = (__m512bh)_mm512_loadu_si512(wr[j] + k);
#pragma GCC unroll 4
        for (int r = 0; r < nr; r++) {
            __m512bh xv = (__m512bh)_mm512_loadu_si512(xb + (size_t)r * Kp + k);
#pragma GCC unroll 4
            for (int j = 0; j < OT; j++) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], xv, wv[j]);
        }
    }
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < no; j++) out[(size_t)r * OC + o + j] = _mm512_reduce_add_ps(acc[r][j]);
}

T_BF16 void elm_qmatmul_avx512_bf16(float *out, const uint16_t *xb, const ElmQMat *w, int N) {
    int OC = w->OC, n_ot = (OC + OT - 1) / OT;
#pragma omp parallel for schedule(static) if ((size_t)N * w->Kp * OC >= ELM_PAR_MIN)
    for (int t = 0; t < n_ot; t++) {
        int o = t * OT, no = OC - o < OT ? OC - o : OT;
        for (int r = 0; r < N; r += RT) {
            const uint16_t *x = xb + (size_t)r * w->Kp;
            float *y = out + (size_t)r * OC;
            switch (N - r < RT ? N - r : RT) {
            case 1:
                tile_bf16(y, x, w, o, no, 1);
                break;
            case 2:
                tile_bf16(y, x, w, o, no, 2);
                break;
            case 3:
                tile_bf16(y, x, w, o, no, 3);
                break;
            default:
                tile_bf16(y, x, w, o, no, 4);
                break;
            }
        }
    }
}

// out[r][o + j] = (sum over k of (x_q + 128) w_q - 128 sum(w_q)) * s_r * s_o.
INLINE T_VNNI void tile_act8(float *out, const uint8_t *xq, const float *xs, const ElmQMat *w,
                             int o, int no, int nr) {
    int Kp = w->Kp, OC = w->OC;
    ROWS(int8_t, w->q);
    __m512i acc[RT][OT];
#pragma GCC unroll 4
    for (int r = 0; r < RT; r++)
#pragma GCC unroll 4
        for (int j = 0; j < OT; j++) acc[r][j] = _mm512_setzero_si512();
    for (int k = 0; k < Kp; k += 64) {
        __m512i wv[OT];
#pragma GCC unroll 4
        for (int j = 0; j < OT; j++) wv[j] = _mm512_loadu_si512(wr[j] + k);
#pragma GCC unroll 4
        for (int r = 0; r < nr; r++) {
            __m512i xv = _mm512_loadu_si512(xq + (size_t)r * Kp + k);
#pragma GCC unroll 4
            for (int j = 0; j < OT; j++) acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], xv, wv[j]);
        }
    }
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < no; j++) {
            int32_t s = _mm512_reduce_add_epi32(acc[r][j]) - 128 * w->qsum[o + j];
            out[(size_t)r * OC + o + j] = (float)s * (xs[r] * w->scale[o + j]);
        }
}

T_VNNI void elm_qmatmul_avx512_act8(float *out, const uint8_t *xq, const float *xs,
                                    const ElmQMat *w, int N) {
    int OC = w->OC, n_ot = (OC + OT - 1) / OT;
#pragma omp parallel for schedule(static) if ((size_t)N * w->Kp * OC >= ELM_PAR_MIN)
    for (int t = 0; t < n_ot; t++) {
        int o = t * OT, no = OC - o < OT ? OC - o : OT;
        for (int r = 0; r < N; r += RT) {
            const uint8_t *x = xq + (size_t)r * w->Kp;
            float *y = out + (size_t)r * OC;
            switch (N - r < RT ? N - r : RT) {
            case 1:
                tile_act8(y, x, xs + r, w, o, no, 1);
                break;
            case 2:
                tile_act8(y, x, xs + r, w, o, no, 2);
                break;
            case 3:
                tile_act8(y, x, xs + r, w, o, no, 3);
                break;
            default:
                tile_act8(y, x, xs + r, w, o, no, 4);
                break;
            }
        }
    }
}

// out[r][o + j] = s_o * sum over k of x[r] * (float)w_q[o + j].
INLINE T_F void tile_deq(float *out, const float *xf, const ElmQMat *w, int o, int no, int nr) {
    int Kp = w->Kp, OC = w->OC;
    ROWS(int8_t, w->q);
    __m512 acc[RT][OT];
#pragma GCC unroll 4
    for (int r = 0; r < RT; r++)
#pragma GCC unroll 4
        for (int j = 0; j < OT; j++) acc[r][j] = _mm512_setzero_ps();
    for (int k = 0; k < Kp; k += 16) {
        __m512 wv[OT];
#pragma GCC unroll 4
        for (int j = 0; j < OT; j++)
            wv[j] = _mm512_cvtepi32_ps(
                _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(wr[j] + k))));
#pragma GCC unroll 4
        for (int r = 0; r < nr; r++) {
            __m512 xv = _mm512_loadu_ps(xf + (size_t)r * Kp + k);
#pragma GCC unroll 4
            for (int j = 0; j < OT; j++) acc[r][j] = _mm512_fmadd_ps(xv, wv[j], acc[r][j]);
        }
    }
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < no; j++)
            out[(size_t)r * OC + o + j] = _mm512_reduce_add_ps(acc[r][j]) * w->scale[o + j];
}

T_F void elm_qmatmul_avx512_deq(float *out, const float *xf, const ElmQMat *w, int N) {
    int OC = w->OC, n_ot = (OC + OT - 1) / OT;
#pragma omp parallel for schedule(static) if ((size_t)N * w->Kp * OC >= ELM_PAR_MIN)
    for (int t = 0; t < n_ot; t++) {
        int o = t * OT, no = OC - o < OT ? OC - o : OT;
        for (int r = 0; r < N; r += RT) {
            const float *x = xf + (size_t)r * w->Kp;
            float *y = out + (size_t)r * OC;
            switch (N - r < RT ? N - r : RT) {
            case 1:
                tile_deq(y, x, w, o, no, 1);
                break;
            case 2:
                tile_deq(y, x, w, o, no, 2);
                break;
            case 3:
                tile_deq(y, x, w, o, no, 3);
                break;
            default:
                tile_deq(y, x, w, o, no, 4);
                break;
            }
        }
    }
}

#else

void elm_qmatmul_avx512_bf16(float *out, const uint16_t *xb, const ElmQMat *w, int N) {
    (void)out, (void)xb, (void)w, (void)N;
}
void elm_qmatmul_avx512_act8(float *out, const uint8_t *xq, const float *xs, const ElmQMat *w,
                             int N) {
    (void)out, (void)xq, (void)xs, (void)w, (void)N;
}
void elm_qmatmul_avx512_deq(float *out, const float *xf, const ElmQMat *w, int N) {
    (void)out, (void)xf, (void)w, (void)N;
}

#endif
