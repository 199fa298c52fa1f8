// gemm_few.c — elm's fp32 product of a few rows by a weight matrix on AVX-512 (see gemm_few.h).
// The threads share out W's rows in groups of three; a group (three rows of C floats, in L1)
// meets every row of inp in tiles of up to 8 rows: 8 x 3 accumulators in zmm registers, per 16
// lanes of C three loads of W and eight of inp (from L1 or L2) feeding 24 fused multiply-adds.
#include "engine/model/gemm_few.h"

#include "engine/model/layers.h"

#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,fma")))
#define FEW_R 8 // rows of inp per tile
#define FEW_Q 3 // rows of W per group

// out[r][q] (row stride OC) = x[r] . w[q] + bias[q] for R rows of x and Q rows of w (C floats
// each). Inlined with constant R and Q, so the accumulators stay in registers.
TARGET static inline __attribute__((always_inline)) void tile(const int R, const int Q, int C,
                                                              const float *x, const float *w,
                                                              const float *bias, float *out,
                                                              int OC) {
    __m512 acc[FEW_R][FEW_Q];
    for (int r = 0; r < R; r++)
        for (int q = 0; q < Q; q++) acc[r][q] = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= C; i += 16) {
        __m512 wv[FEW_Q];
        for (int q = 0; q < Q; q++) wv[q] = _mm512_loadu_ps(w + (size_t)q * C + i);
        for (int r = 0; r < R; r++) {
            __m512 xv = _mm512_loadu_ps(x + (size_t)r * C + i);
            for (int q = 0; q < Q; q++) acc[r][q] = _mm512_fmadd_ps(xv, wv[q], acc[r][q]);
        }
    }
    if (i < C) { // the last C % 16 lanes: zeros elsewhere add +0 to their lane's sum
        __mmask16 m = (__mmask16)((1u << (C - i)) - 1);
        __m512 wv[FEW_Q];
        for (int q = 0; q < Q; q++) wv[q] = _mm512_maskz_loadu_ps(m, w + (size_t)q * C + i);
        for (int r = 0; r < R; r++) {
            __m512 xv = _mm512_maskz_loadu_ps(m, x + (size_t)r * C + i);
            for (int q = 0; q < Q; q++) acc[r][q] = _mm512_fmadd_ps(xv, wv[q], acc[r][q]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int q = 0; q < Q; q++)
            out[(size_t)r * OC + q] = _mm512_reduce_add_ps(acc[r][q]) + (bias ? bias[q] : 0.0f);
}

#define TILE_CASE(r, q)                                                                            \
    case (r)*4 + (q):                                                                              \
        tile(r, q, C, x, w, bias, out, OC);                                                        \
        break

// tile() for R in 1..8 and Q in {1, 3}.
TARGET static void tile_any(int R, int Q, int C, const float *x, const float *w, const float *bias,
                            float *out, int OC) {
    switch (R * 4 + Q) {
        TILE_CASE(1, 1);
        TILE_CASE(2, 1);
        TILE_CASE(3, 1);
        TILE_CASE(4, 1);
        TILE_CASE(5, 1);
        TILE_CASE(6, 1);
        TILE_CASE(7, 1);
        TILE_CASE(8, 1);
        TILE_CASE(1, 3);
        TILE_CASE(2, 3);
        TILE_CASE(3, 3);
        TILE_CASE(4, 3);
        TILE_CASE(5, 3);
        TILE_CASE(6, 3);
        TILE_CASE(7, 3);
        TILE_CASE(8, 3);
    default:
        break;
    }
}

// One group of W's rows o0 .. o0 + q against every row of inp, 8 rows at a time.
TARGET static void group(int N, int OC, int C, const float *inp, const float *W, const float *bias,
                         float *out, int o0, int q) {
    for (int r0 = 0; r0 < N; r0 += FEW_R) {
        int R = N - r0 < FEW_R ? N - r0 : FEW_R;
        const float *x = inp + (size_t)r0 * C;
        float *y = out + (size_t)r0 * OC + o0;
        if (q == FEW_Q) {
            tile_any(R, FEW_Q, C, x, W + (size_t)o0 * C, bias ? bias + o0 : NULL, y, OC);
            continue;
        }
        for (int j = 0; j < q; j++) // the last rows of W, one at a time: the same sums
            tile_any(R, 1, C, x, W + (size_t)(o0 + j) * C, bias ? bias + o0 + j : NULL, y + j, OC);
    }
}

int elm_gemm_few_have(void) {
    return __builtin_cpu_supports("avx512f");
}

int elm_gemm_few(int N, int OC, int C, const float *inp, const float *W, const float *bias,
                 float *out) {
    if (!elm_gemm_few_have()) return -1;
    if (N <= 0 || OC <= 0) return 0;
    int groups = (OC + FEW_Q - 1) / FEW_Q;
#pragma omp parallel for schedule(static) if ((size_t)N * OC * C >= ELM_PAR_MIN)
    for (int g = 0; g < groups; g++) {
        int o0 = g * FEW_Q, q = OC - o0 < FEW_Q ? OC - o0 : FEW_Q;
        group(N, OC, C, inp, W, bias, out, o0, q);
    }
    return 0;
}

#else

int elm_gemm_few_have(void) {
    return 0;
}

int elm_gemm_few(int N, int OC, int C, const float *inp, const float *W, const float *bias,
                 float *out) {
    (void)N, (void)OC, (void)C, (void)inp, (void)W, (void)bias, (void)out;
    return -1;
}

#endif
