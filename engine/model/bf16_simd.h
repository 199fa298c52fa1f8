// bf16_simd.h — the AVX-512 pieces both bf16 matrix products pack with (gemm_bf16.c's
// AVX512-BF16 kernel and gemm_amx.c's AMX one): a ragged tail's lane mask and fp32 pairs as bf16.
#ifndef ELM_BF16_SIMD_H
#define ELM_BF16_SIMD_H

#include <immintrin.h>
#include <stddef.h>

// The first n of 16 lanes (none for n <= 0, all for n >= 16).
static inline __mmask16 elm_bf16_simd_mask(long n) {
    return n >= 16 ? 0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

// n rounded up to a multiple of m.
static inline size_t elm_bf16_simd_round_up(size_t n, size_t m) {
    return (n + m - 1) / m * m;
}

// 16 pairs (lo[t], hi[t]) as bf16: lane t holds lo[t] in its low half, hi[t] in its high half.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) static inline __m512i
elm_bf16_simd_interleave(__m512 lo, __m512 hi) {
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24,
                                         8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

#endif
