// gemm_bf16.c — elm's bf16 matrix product for AVX512-BF16 CPUs (see gemm_bf16.h), handing over
// to gemm_amx.c's AMX tiles where the CPU and Linux allow them.
// The shape of gemm.c's fp32 kernel with k taken in pairs: `vdpbf16ps` adds a[k] b[k] +
// a[k+1] b[k+1] into each fp32 lane, so A and B are converted to bf16 pairs (uint32: k in the
// low half, k+1 in the high half). A is converted once per call into a buffer padded with zero
// rows (rows, or k-pair-major panels when A is column-major); B per task into a (KC2, NR) panel
// of pairs. A tile of MR x NR of C lives in 24 zmm registers while the pairs run.
#include "engine/model/gemm_bf16.h"

#include "engine/model/bf16.h"
#include "engine/model/gemm_amx.h"
#include "engine/model/layers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include "engine/model/bf16_simd.h"

#define MR 8    // rows of C per micro-tile
#define NR 48   // columns of C per micro-tile (3 zmm)
#define KC2 128 // k pairs per packed B panel (24 KiB)
#define MB 256  // rows of C per task

#define TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

#define ROW(r, pair)                                                                               \
    do {                                                                                           \
        __m512bh av = (__m512bh)_mm512_set1_epi32((int)(pair));                                    \
        c##r##0 = _mm512_dpbf16_ps(c##r##0, av, b0);                                               \
        c##r##1 = _mm512_dpbf16_ps(c##r##1, av, b1);                                               \
        c##r##2 = _mm512_dpbf16_ps(c##r##2, av, b2);                                               \
    } while (0)

#define DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = c##r##0, c##r##2 = c##r##0

#define STORE(r)                                                                                   \
    do {                                                                                           \
        if (r < mr) {                                                                              \
            float *cr = C + (ptrdiff_t)(r)*ldc;                                                    \
            _mm512_mask_storeu_ps(cr, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), c##r##0));  \
            _mm512_mask_storeu_ps(cr + 16, m1,                                                     \
                                  _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), c##r##1));     \
            _mm512_mask_storeu_ps(cr + 32, m2,                                                     \
                                  _mm512_add_ps(_mm512_maskz_loadu_ps(m2, cr + 32), c##r##2));     \
        }                                                                                          \
    } while (0)

// 32 consecutive floats x[0..n) (zero beyond n) as 16 pairs (x[2t], x[2t+1]).
TARGET static inline __m512i pairs_seq(const float *x, long n) {
    __m512 lo = _mm512_maskz_loadu_ps(elm_bf16_simd_mask(n), x);
    __m512 hi = _mm512_maskz_loadu_ps(elm_bf16_simd_mask(n - 16), x + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

// C (mr <= MR rows, nr <= NR cols) += A (MR, kc2 pairs) @ Bp (kc2, NR); the pair of row r and
// k pair p is A[r*ars + p*acs] (acs == 1: rows; ars == 1: k-pair-major panels).
TARGET static void kernel(int kc2, const uint32_t *A, ptrdiff_t ars, ptrdiff_t acs,
                          const uint32_t *Bp, float *C, ptrdiff_t ldc, int mr, int nr) {
    DECL(0);
    DECL(1);
    DECL(2);
    DECL(3);
    DECL(4);
    DECL(5);
    DECL(6);
    DECL(7);
    if (acs == 1) {
        const uint32_t *a0 = A, *a1 = A + ars, *a2 = A + 2 * ars, *a3 = A + 3 * ars;
        const uint32_t *a4 = A + 4 * ars, *a5 = A + 5 * ars, *a6 = A + 6 * ars, *a7 = A + 7 * ars;
        for (int p = 0; p < kc2; p++) {
            const uint32_t *bp = Bp + (size_t)p * NR;
            __m512bh b0 = (__m512bh)_mm512_load_si512(bp),
                     b1 = (__m512bh)_mm512_load_si512(bp + 16),
                     b2 = (__m512bh)_mm512_load_si512(bp + 32);
            ROW(0, a0[p]);
            ROW(1, a1[p]);
            ROW(2, a2[p]);
            ROW(3, a3[p]);
            ROW(4, a4[p]);
            ROW(5, a5[p]);
            ROW(6, a6[p]);
            ROW(7, a7[p]);
        }
    } else {
        for (int p = 0; p < kc2; p++) {
            const uint32_t *bp = Bp + (size_t)p * NR, *a = A + (ptrdiff_t)p * acs;
            __m512bh b0 = (__m512bh)_mm512_load_si512(bp),
                     b1 = (__m512bh)_mm512_load_si512(bp + 16),
                     b2 = (__m512bh)_mm512_load_si512(bp + 32);
            ROW(0, a[0]);
            ROW(1, a[1]);
            ROW(2, a[2]);
            ROW(3, a[3]);
            ROW(4, a[4]);
            ROW(5, a[5]);
            ROW(6, a[6]);
            ROW(7, a[7]);
        }
    }
    __mmask16 m0 = elm_bf16_simd_mask(nr), m1 = elm_bf16_simd_mask(nr - 16),
              m2 = elm_bf16_simd_mask(nr - 32);
    STORE(0);
    STORE(1);
    STORE(2);
    STORE(3);
    STORE(4);
    STORE(5);
    STORE(6);
    STORE(7);
}

// Bp (kc2, NR) = pairs of B[k0 .. k0 + 2 kc2, j0 .. j0 + nr], zero beyond K and nr.
TARGET static void pack_b(uint32_t *Bp, const float *B, ptrdiff_t brs, ptrdiff_t bcs, int K, int k0,
                          int kc2, int j0, int nr) {
    if (bcs == 1) { // rows k contiguous in j: interleave row k with row k + 1
        for (int p = 0; p < kc2; p++) {
            int k = k0 + 2 * p;
            const float *r0 = B + (ptrdiff_t)k * brs + j0, *r1 = r0 + brs;
            for (int v = 0; v < NR / 16; v++) {
                __mmask16 m = elm_bf16_simd_mask(nr - 16 * v), m1 = k + 1 < K ? m : 0;
                __m512 lo = _mm512_maskz_loadu_ps(m, r0 + 16 * v);
                __m512 hi = _mm512_maskz_loadu_ps(m1, r1 + 16 * v);
                _mm512_store_si512(Bp + (size_t)p * NR + 16 * v, elm_bf16_simd_interleave(lo, hi));
            }
        }
        return;
    }
    // brs == 1 (the forward's W^T): column j contiguous in k, 16 pairs at a time.
    uint32_t tmp[16] __attribute__((aligned(64)));
    for (int j = 0; j < NR; j++) {
        if (j >= nr) {
            for (int p = 0; p < kc2; p++) Bp[(size_t)p * NR + j] = 0;
            continue;
        }
        const float *col = B + (ptrdiff_t)(j0 + j) * bcs;
        for (int p0 = 0; p0 < kc2; p0 += 16) {
            int k = k0 + 2 * p0;
            _mm512_store_si512(tmp, pairs_seq(col + k, (long)K - k));
            int np = kc2 - p0 < 16 ? kc2 - p0 : 16;
            for (int t = 0; t < np; t++) Bp[(size_t)(p0 + t) * NR + j] = tmp[t];
        }
    }
}

// Ab = A as pairs: acs == 1: rows (Mp, K2p), pair p of row i at Ab[i*K2p + p]; else k-pair-major
// (K2p, Mp), at Ab[p*Mp + i]. Rows >= M and pairs past K are zero.
TARGET static void convert_a(uint32_t *Ab, const float *A, ptrdiff_t ars, ptrdiff_t acs, int M,
                             int K, size_t Mp, size_t K2p) {
    if (acs == 1) {
#pragma omp parallel for schedule(static) if ((size_t)M * K >= ELM_PAR_MIN)
        for (size_t i = 0; i < Mp; i++) {
            uint32_t *dst = Ab + i * K2p;
            if (i >= (size_t)M) {
                memset(dst, 0, K2p * 4);
                continue;
            }
            const float *src = A + (ptrdiff_t)i * ars;
            for (size_t p = 0; p < K2p; p += 16)
                _mm512_store_si512(dst + p, pairs_seq(src + 2 * p, (long)K - 2 * (long)p));
        }
        return;
    }
#pragma omp parallel for schedule(static) if ((size_t)M * K >= ELM_PAR_MIN)
    for (size_t p = 0; p < K2p; p++) {
        long k = 2 * (long)p;
        const float *r0 = A + k * acs, *r1 = r0 + acs;
        for (size_t i = 0; i < Mp; i += 16) {
            __mmask16 m = k < K ? elm_bf16_simd_mask((long)M - (long)i) : 0, m1 = k + 1 < K ? m : 0;
            __m512 lo = _mm512_maskz_loadu_ps(m, r0 + i), hi = _mm512_maskz_loadu_ps(m1, r1 + i);
            _mm512_store_si512(Ab + p * Mp + i, elm_bf16_simd_interleave(lo, hi));
        }
    }
}

static int gemm_avx512(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs,
                       const float *B, ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc) {
    if (!elm_bf16_cpu_has() || (ars != 1 && acs != 1) || (brs != 1 && bcs != 1)) return -1;
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    int K2 = (K + 1) / 2, rows = acs == 1;
    size_t Mp = elm_bf16_simd_round_up((size_t)M, 16), K2p = elm_bf16_simd_round_up((size_t)K2, 16);
    uint32_t *Ab = aligned_alloc(64, Mp * K2p * 4);
    if (!Ab) return -1;
    convert_a(Ab, A, ars, acs, M, K, Mp, K2p);
    ptrdiff_t ars2 = rows ? (ptrdiff_t)K2p : 1, acs2 = rows ? 1 : (ptrdiff_t)Mp;
    int n_nc = (N + NR - 1) / NR, n_mb = (M + MB - 1) / MB;
    int tasks = n_nc * n_mb;
#pragma omp parallel for schedule(static) if ((size_t)M * N * K >= ELM_PAR_MIN)
    for (int task = 0; task < tasks; task++) {
        int jc = task % n_nc, ib = task / n_nc;
        int j0 = jc * NR, nr = N - j0 < NR ? N - j0 : NR;
        int i0 = ib * MB, i1 = i0 + MB < M ? i0 + MB : M;
        uint32_t Bp[KC2 * NR] __attribute__((aligned(64)));
        for (int p0 = 0; p0 < K2; p0 += KC2) {
            int kc2 = K2 - p0 < KC2 ? K2 - p0 : KC2;
            pack_b(Bp, B, brs, bcs, K, 2 * p0, kc2, j0, nr);
            for (int i = i0; i < i1; i += MR) {
                int mr = i1 - i < MR ? i1 - i : MR;
                const uint32_t *a = Ab + (ptrdiff_t)i * ars2 + (ptrdiff_t)p0 * acs2;
                kernel(kc2, a, ars2, acs2, Bp, C + (ptrdiff_t)i * ldc + j0, ldc, mr, nr);
            }
        }
    }
    free(Ab);
    return 0;
}

#else

static int gemm_avx512(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs,
                       const float *B, ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc) {
    (void)M, (void)N, (void)K, (void)A, (void)ars, (void)acs, (void)B, (void)brs, (void)bcs;
    (void)C, (void)ldc;
    return -1;
}

#endif

int elm_gemm_bf16_amx_ready(void) {
    return elm_gemm_amx_ready();
}

int elm_gemm_bf16_isa(ElmGemmBf16Isa isa, int M, int N, int K, const float *A, ptrdiff_t ars,
                      ptrdiff_t acs, const float *B, ptrdiff_t brs, ptrdiff_t bcs, float *C,
                      ptrdiff_t ldc) {
    if (isa == ELM_GEMM_BF16_AMX || (isa == ELM_GEMM_BF16_AUTO && elm_gemm_amx_ready())) {
        int rc = elm_gemm_amx(M, N, K, A, ars, acs, B, brs, bcs, C, ldc);
        if (rc == 0 || isa == ELM_GEMM_BF16_AMX) return rc;
    }
    return gemm_avx512(M, N, K, A, ars, acs, B, brs, bcs, C, ldc);
}

int elm_gemm_bf16(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs, const float *B,
                  ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc) {
    return elm_gemm_bf16_isa(ELM_GEMM_BF16_AUTO, M, N, K, A, ars, acs, B, brs, bcs, C, ldc);
}
