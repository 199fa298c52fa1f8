// qmatmul_avx2.c — the AVX2+FMA kernels of qmatmul.h, for CPUs without AVX-512 (many laptops,
// AMD Zen 2/3): bf16 widened to fp32 by a 16-bit shift, int8 x int8 in int16 pair sums that
// provably never saturate (`vpmaddubsw`, then `vpmaddwd`), int8 widened to fp32. Called by
// qmatmul.c after CPUID; own target attributes.
//
// A tile is OT = 4 output channels x up to RT = 2 rows: 8 ymm accumulators plus the weight and
// activation vectors fit the 16 registers. Each accumulator's lanes are summed in one fixed
// order at the end, whatever nr is: a row gives the same output alone or in a batch.
#include "engine/model/qmatmul.h"

#include "engine/model/layers.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define OT 4
#define RT 2
#define INLINE static inline __attribute__((always_inline))
#define T_AVX2 __attribute__((target("avx2,fma")))

// Weight row pointers for channels o .. o+OT-1; channels past OC repeat row o (not stored).
#define ROWS(type, base)                                                                           \
    const type *wr[OT];                                                                            \
    for (int j = 0; j < OT; j++) wr[j] = base + (size_t)(o + (j < no ? j : 0)) * Kp

INLINE T_AVX2 float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE T_AVX2 int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

// 16 bf16 in one load: the even ones become fp32 by a left shift of their 32-bit lane, the odd
// ones by masking the low half. x and w are split alike, so the products pair up correctly.
INLINE T_AVX2 __m256 bf16_even(__m256i v) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}
INLINE T_AVX2 __m256 bf16_odd(__m256i v) {
    return _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32((int)0xffff0000u)));
}

// out[r][o + j] for r < nr, j < no: sum over k of bf16 x[r] * bf16 w[o + j], in fp32.
INLINE T_AVX2 void tile_bf16(float *out, const uint16_t *xb, const ElmQMat *w, int o, int no,
                             int nr) {
    int Kp = w->Kp, OC = w->OC;
    ROWS(uint16_t, w->bf16);
    __m256 acc[RT][OT];
#pragma GCC unroll 2
    for (int r = 0; r < RT; r++)
#pragma GCC unroll 4
        for (int j = 0; j < OT; j++) acc[r][j] = _mm256_setzero_ps();
    for (int k = 0; k < Kp; k += 16) {
        __m256i wv[OT];
#pragma GCC unroll 4
        for (int j = 0; j < OT; j++) wv[j] = _mm256_loadu_si256((const __m256i *)(wr[j] + k));
#pragma GCC unroll 2
        for (int r = 0; r < nr; r++) {
            __m256i xv = _mm256_loadu_si256((const __m256i *)(xb + (size_t)r * Kp + k));
            __m256 xe = bf16_even(xv), xo = bf16_odd(xv);
#pragma GCC unroll 4
            for (int j = 0; j < OT; j++) {
                acc[r][j] = _mm256_fmadd_ps(xe, bf16_even(wv[j]), acc[r][j]);
                acc[r][j] = _mm256_fmadd_ps(xo, bf16_odd(wv[j]), acc[r][j]);
            }
        }
    }
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < no; j++) out[(size_t)r * OC + o + j] = hsum_ps(acc[r][j]);
}

// out[r][o + j] = (sum over k of x_q w_q) * s_r * s_o, the integer sum exact. x_q comes back
// from the stored x_q + 128 by flipping the top bit. `vpmaddubsw` (u8 x s8, pairs summed into
// int16 with saturation) gets |x_q| and w_q * sign(x_q): each pair sum is x_a w_a + x_b w_b with
// both quantized values in [-127, 127] (quantize_row clamps), so |sum| <= 2 * 127 * 127 = 32258 <
// 32767 and it never saturates; `vpmaddwd` by ones widens the pairs to int32, exactly.
INLINE T_AVX2 void tile_act8(float *out, const uint8_t *xq, const float *xs, const ElmQMat *w,
                             int o, int no, int nr) {
    int Kp = w->Kp, OC = w->OC;
    ROWS(int8_t, w->q);
    const __m256i flip = _mm256_set1_epi8((char)0x80), ones = _mm256_set1_epi16(1);
    __m256i acc[RT][OT];
#pragma GCC unroll 2
    for (int r = 0; r < RT; r++)
#pragma GCC unroll 4
        for (int j = 0; j < OT; j++) acc[r][j] = _mm256_setzero_si256();
    for (int k = 0; k < Kp; k += 32) {
        __m256i wv[OT];
#pragma GCC unroll 4
        for (int j = 0; j < OT; j++) wv[j] = _mm256_loadu_si256((const __m256i *)(wr[j] + k));
#pragma GCC unroll 2
        for (int r = 0; r < nr; r++) {
            __m256i xv = _mm256_xor_si256(
                _mm256_loadu_si256((const __m256i *)(xq + (size_t)r * Kp + k)), flip);
            __m256i ax = _mm256_sign_epi8(xv, xv);
#pragma GCC unroll 4
            for (int j = 0; j < OT; j++) {
                __m256i p16 = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(wv[j], xv));
                acc[r][j] = _mm256_add_epi32(acc[r][j], _mm256_madd_epi16(p16, ones));
            }
        }
    }
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < no; j++) {
            int32_t s = hsum_epi32(acc[r][j]);
            out[(size_t)r * OC + o + j] = (float)s * (xs[r] * w->scale[o + j]);
        }
}

// out[r][o + j] = s_o * sum over k of x[r] * (float)w_q[o + j].
INLINE T_AVX2 void tile_deq(float *out, const float *xf, const ElmQMat *w, int o, int no, int nr) {
    int Kp = w->Kp, OC = w->OC;
    ROWS(int8_t, w->q);
    __m256 acc[RT][OT];
#pragma GCC unroll 2
    for (int r = 0; r < RT; r++)
#pragma GCC unroll 4
        for (int j = 0; j < OT; j++) acc[r][j] = _mm256_setzero_ps();
    for (int k = 0; k < Kp; k += 8) {
        __m256 wv[OT];
#pragma GCC unroll 4
        for (int j = 0; j < OT; j++)
            wv[j] = _mm256_cvtepi32_ps(
                _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(wr[j] + k))));
#pragma GCC unroll 2
        for (int r = 0; r < nr; r++) {
            __m256 xv = _mm256_loadu_ps(xf + (size_t)r * Kp + k);
#pragma GCC unroll 4
            for (int j = 0; j < OT; j++) acc[r][j] = _mm256_fmadd_ps(xv, wv[j], acc[r][j]);
        }
    }
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < no; j++)
            out[(size_t)r * OC + o + j] = hsum_ps(acc[r][j]) * w->scale[o + j];
}

// Each tile of OT channels on one thread, its rows RT at a time (nr a constant in each inlined
// call, so the row loops unroll).
T_AVX2 void elm_qmatmul_avx2_bf16(float *out, const uint16_t *xb, const ElmQMat *w, int N) {
    int OC = w->OC, n_ot = (OC + OT - 1) / OT;
#pragma omp parallel for schedule(static) if ((size_t)N * w->Kp * OC >= ELM_PAR_MIN)
    for (int t = 0; t < n_ot; t++) {
        int o = t * OT, no = OC - o < OT ? OC - o : OT;
        for (int r = 0; r < N; r += RT) {
            const uint16_t *x = xb + (size_t)r * w->Kp;
            float *y = out + (size_t)r * OC;
            if (N - r == 1)
                tile_bf16(y, x, w, o, no, 1);
            else
                tile_bf16(y, x, w, o, no, 2);
        }
    }
}

T_AVX2 void elm_qmatmul_avx2_act8(float *out, const uint8_t *xq, const float *xs, const ElmQMat *w,
                                  int N) {
    int OC = w->OC, n_ot = (OC + OT - 1) / OT;
#pragma omp parallel for schedule(static) if ((size_t)N * w->Kp * OC >= ELM_PAR_MIN)
    for (int t = 0; t < n_ot; t++) {
        int o = t * OT, no = OC - o < OT ? OC - o : OT;
        for (int r = 0; r < N; r += RT) {
            const uint8_t *x = xq + (size_t)r * w->Kp;
            float *y = out + (size_t)r * OC;
            if (N - r == 1)
                tile_act8(y, x, xs + r, w, o, no, 1);
            else
                tile_act8(y, x, xs + r, w, o, no, 2);
        }
    }
}

T_AVX2 void elm_qmatmul_avx2_deq(float *out, const float *xf, const ElmQMat *w, int N) {
    int OC = w->OC, n_ot = (OC + OT - 1) / OT;
#pragma omp parallel for schedule(static) if ((size_t)N * w->Kp * OC >= ELM_PAR_MIN)
    for (int t = 0; t < n_ot; t++) {
        int o = t * OT, no = OC - o < OT ? OC - o : OT;
        for (int r = 0; r < N; r += RT) {
            const float *x = xf + (size_t)r * w->Kp;
            float *y = out + (size_t)r * OC;
            if (N - r == 1)
                tile_deq(y, x, w, o, no, 1);
            else
                tile_deq(y, x, w, o, no, 2);
        }
    }
}

#else

void elm_qmatmul_avx2_bf16(float *out, const uint16_t *xb, const ElmQMat *w, int N) {
    (void)out, (void)xb, (void)w, (void)N;
}
void elm_qmatmul_avx2_act8(float *out, const uint8_t *xq, const float *xs, const ElmQMat *w,
                           int N) {
    (void)out, (void)xq, (void)xs, (void)w, (void)N;
}
void elm_qmatmul_avx2_deq(float *out, const float *xf, const ElmQMat *w, int N) {
    (void)out, (void)xf, (void)w, (void)N;
}

#endif
