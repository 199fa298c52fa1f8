// gemm.c — elm's own fp32 matrix product for AVX-512 and AVX2+FMA CPUs (see gemm.h).
// Called by layers.c. A tile of MR rows x NR columns of C lives in registers while k runs: per
// k, the loads of the packed B panel and MR broadcasts of A feed MR * NR / lanes FMAs. AVX-512:
// 8 x 48 in 24 zmm; AVX2: 4 x 24 in 12 ymm (of 16; 4 broadcasts per 12 FMAs, measured faster
// than 6 x 16's 6, docs/model.md). One driver packs B and walks the tiles.
#include "engine/model/gemm.h"

#include "engine/model/layers.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define MR 8   // rows of C per AVX-512 micro-tile
#define NR 48  // columns of C per AVX-512 micro-tile (3 zmm)
#define MR2 4  // rows of C per AVX2 micro-tile
#define NR2 24 // columns of C per AVX2 micro-tile (3 ymm)
#define KC 256 // k per packed B panel (48 KiB at NR)
#define MB 32  // micro-tiles of rows per task

#define TARGET __attribute__((target("avx512f,fma")))
#define TARGET2 __attribute__((target("avx2,fma")))

// acc[r] += a_r * b for the three column vectors of row r.
#define ROW(r, aval)                                                                               \
    do {                                                                                           \
        __m512 av = _mm512_set1_ps(aval);                                                          \
        c##r##0 = _mm512_fmadd_ps(av, b0, c##r##0);                                                \
        c##r##1 = _mm512_fmadd_ps(av, b1, c##r##1);                                                \
        c##r##2 = _mm512_fmadd_ps(av, b2, c##r##2);                                                \
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

static __mmask16 lane_mask(int n) {
    return n >= 16 ? 0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

// C (mr <= MR rows, nr <= NR cols) += A (MR, kc) @ Bp (kc, NR); A[r][k] = A[r*ars + k*acs]
// with acs == 1 (rows) or ars == 1 (columns): the two are separate loops so each keeps its
// addressing simple. Rows >= mr of A must be readable (the caller points them at valid data).
TARGET static void kernel(int kc, const float *A, ptrdiff_t ars, ptrdiff_t acs, const float *Bp,
                          float *C, ptrdiff_t ldc, int mr, int nr) {
    DECL(0);
    DECL(1);
    DECL(2);
    DECL(3);
    DECL(4);
    DECL(5);
    DECL(6);
    DECL(7);
    if (acs == 1) {
        const float *a0 = A, *a1 = A + ars, *a2 = A + 2 * ars, *a3 = A + 3 * ars;
        const float *a4 = A + 4 * ars, *a5 = A + 5 * ars, *a6 = A + 6 * ars, *a7 = A + 7 * ars;
        for (int k = 0; k < kc; k++) {
            const float *bp = Bp + (size_t)k * NR;
            __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16),
                   b2 = _mm512_load_ps(bp + 32);
            ROW(0, a0[k]);
            ROW(1, a1[k]);
            ROW(2, a2[k]);
            ROW(3, a3[k]);
            ROW(4, a4[k]);
            ROW(5, a5[k]);
            ROW(6, a6[k]);
            ROW(7, a7[k]);
        }
    } else {
        for (int k = 0; k < kc; k++) {
            const float *bp = Bp + (size_t)k * NR, *a = A + (ptrdiff_t)k * acs;
            __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16),
                   b2 = _mm512_load_ps(bp + 32);
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
    __mmask16 m0 = lane_mask(nr), m1 = lane_mask(nr - 16), m2 = lane_mask(nr - 32);
    STORE(0);
    STORE(1);
    STORE(2);
    STORE(3);
    STORE(4);
    STORE(5);
    STORE(6);
    STORE(7);
}

// ---- AVX2 + FMA ---------------------------------------------------------------------------------

// acc[r] += a_r * b for the two column vectors of row r.
#define ROW2(r, aval)                                                                              \
    do {                                                                                           \
        __m256 av = _mm256_set1_ps(aval);                                                          \
        d##r##0 = _mm256_fmadd_ps(av, b0, d##r##0);                                                \
        d##r##1 = _mm256_fmadd_ps(av, b1, d##r##1);                                                \
        d##r##2 = _mm256_fmadd_ps(av, b2, d##r##2);                                                \
    } while (0)

#define DECL2(r) __m256 d##r##0 = _mm256_setzero_ps(), d##r##1 = d##r##0, d##r##2 = d##r##0

// Full-width tiles add with plain loads and stores; edge tiles through lane masks.
#define STORE2(r)                                                                                  \
    do {                                                                                           \
        if (r < mr) {                                                                              \
            float *cr = C + (ptrdiff_t)(r)*ldc;                                                    \
            if (nr == NR2) {                                                                       \
                _mm256_storeu_ps(cr, _mm256_add_ps(_mm256_loadu_ps(cr), d##r##0));                 \
                _mm256_storeu_ps(cr + 8, _mm256_add_ps(_mm256_loadu_ps(cr + 8), d##r##1));         \
                _mm256_storeu_ps(cr + 16, _mm256_add_ps(_mm256_loadu_ps(cr + 16), d##r##2));       \
            } else {                                                                               \
                _mm256_maskstore_ps(cr, m0, _mm256_add_ps(_mm256_maskload_ps(cr, m0), d##r##0));   \
                _mm256_maskstore_ps(cr + 8, m1,                                                    \
                                    _mm256_add_ps(_mm256_maskload_ps(cr + 8, m1), d##r##1));       \
                _mm256_maskstore_ps(cr + 16, m2,                                                   \
                                    _mm256_add_ps(_mm256_maskload_ps(cr + 16, m2), d##r##2));      \
            }                                                                                      \
        }                                                                                          \
    } while (0)

// Lanes i < n of 8 set (all bits), the others clear.
TARGET2 static __m256i lane_mask2(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The AVX2 kernel: as kernel() with MR2 x NR2 tiles.
TARGET2 static void kernel2(int kc, const float *A, ptrdiff_t ars, ptrdiff_t acs, const float *Bp,
                            float *C, ptrdiff_t ldc, int mr, int nr) {
    DECL2(0);
    DECL2(1);
    DECL2(2);
    DECL2(3);
    if (acs == 1) {
        const float *a0 = A, *a1 = A + ars, *a2 = A + 2 * ars, *a3 = A + 3 * ars;
        for (int k = 0; k < kc; k++) {
            const float *bp = Bp + (size_t)k * NR2;
            __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8),
                   b2 = _mm256_load_ps(bp + 16);
            ROW2(0, a0[k]);
            ROW2(1, a1[k]);
            ROW2(2, a2[k]);
            ROW2(3, a3[k]);
        }
    } else {
        for (int k = 0; k < kc; k++) {
            const float *bp = Bp + (size_t)k * NR2, *a = A + (ptrdiff_t)k * acs;
            __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8),
                   b2 = _mm256_load_ps(bp + 16);
            ROW2(0, a[0]);
            ROW2(1, a[1]);
            ROW2(2, a[2]);
            ROW2(3, a[3]);
        }
    }
    __m256i m0 = lane_mask2(nr), m1 = lane_mask2(nr - 8), m2 = lane_mask2(nr - 16);
    STORE2(0);
    STORE2(1);
    STORE2(2);
    STORE2(3);
}

// ---- the driver, shared
// --------------------------------------------------------------------------

typedef void (*Kernel)(int kc, const float *A, ptrdiff_t ars, ptrdiff_t acs, const float *Bp,
                       float *C, ptrdiff_t ldc, int mr, int nr);

// Bp (kc, np) = B[k0 .. k0+kc, j0 .. j0+nr], zero beyond nr.
static void pack_b(float *Bp, int np, const float *B, ptrdiff_t brs, ptrdiff_t bcs, int k0, int kc,
                   int j0, int nr) {
    if (bcs == 1) {
        for (int k = 0; k < kc; k++) {
            const float *src = B + (ptrdiff_t)(k0 + k) * brs + j0;
            float *dst = Bp + (size_t)k * np;
            memcpy(dst, src, nr * sizeof(float));
            for (int j = nr; j < np; j++) dst[j] = 0.0f;
        }
    } else { // column j contiguous in k when brs == 1 (the forward's W^T)
        for (int j = 0; j < np; j++) {
            if (j < nr) {
                const float *src = B + (ptrdiff_t)(j0 + j) * bcs + (ptrdiff_t)k0 * brs;
                for (int k = 0; k < kc; k++) Bp[(size_t)k * np + j] = src[(ptrdiff_t)k * brs];
            } else {
                for (int k = 0; k < kc; k++) Bp[(size_t)k * np + j] = 0.0f;
            }
        }
    }
}

// C += A @ B in tiles of mt x np (the kernel's MR x NR); tasks are (column panel, MB tiles of
// rows) pairs, each on one thread, k in panels of KC in order.
static void gemm_run(Kernel kern, int mt, int np, int M, int N, int K, const float *A,
                     ptrdiff_t ars, ptrdiff_t acs, const float *B, ptrdiff_t brs, ptrdiff_t bcs,
                     float *C, ptrdiff_t ldc) {
    int mb = MB * mt, n_nc = (N + np - 1) / np, n_mb = (M + mb - 1) / mb;
    int tasks = n_nc * n_mb;
#pragma omp parallel for schedule(static) if ((size_t)M * N * K >= ELM_PAR_MIN)
    for (int task = 0; task < tasks; task++) {
        int jc = task % n_nc, ib = task / n_nc;
        int j0 = jc * np, nr = N - j0 < np ? N - j0 : np;
        int i0 = ib * mb, i1 = i0 + mb < M ? i0 + mb : M;
        float Bp[KC * NR] __attribute__((aligned(64)));
        float Ap[KC * MR]; // an edge tile of A, zero-padded to mt rows
        for (int k0 = 0; k0 < K; k0 += KC) {
            int kc = K - k0 < KC ? K - k0 : KC;
            pack_b(Bp, np, B, brs, bcs, k0, kc, j0, nr);
            for (int i = i0; i < i1; i += mt) {
                int mr = i1 - i < mt ? i1 - i : mt;
                const float *a = A + (ptrdiff_t)i * ars + (ptrdiff_t)k0 * acs;
                if (mr == mt) {
                    kern(kc, a, ars, acs, Bp, C + (ptrdiff_t)i * ldc + j0, ldc, mt, nr);
                } else {
                    for (int k = 0; k < kc; k++)
                        for (int r = 0; r < mt; r++)
                            Ap[k * mt + r] =
                                r < mr ? a[(ptrdiff_t)r * ars + (ptrdiff_t)k * acs] : 0.0f;
                    kern(kc, Ap, 1, mt, Bp, C + (ptrdiff_t)i * ldc + j0, ldc, mr, nr);
                }
            }
        }
    }
}

int elm_gemm_have_avx512(void) {
    return __builtin_cpu_supports("avx512f");
}

int elm_gemm_avx512(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs,
                    const float *B, ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc) {
    if (!elm_gemm_have_avx512() || (ars != 1 && acs != 1)) return -1;
    gemm_run(kernel, MR, NR, M, N, K, A, ars, acs, B, brs, bcs, C, ldc);
    return 0;
}

int elm_gemm_have_avx2(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int elm_gemm_avx2(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs, const float *B,
                  ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc) {
    if (!elm_gemm_have_avx2() || (ars != 1 && acs != 1)) return -1;
    gemm_run(kernel2, MR2, NR2, M, N, K, A, ars, acs, B, brs, bcs, C, ldc);
    return 0;
}

#else

int elm_gemm_have_avx512(void) {
    return 0;
}

int elm_gemm_avx512(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs,
                    const float *B, ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc) {
    (void)M, (void)N, (void)K, (void)A, (void)ars, (void)acs, (void)B, (void)brs, (void)bcs;
    (void)C, (void)ldc;
    return -1;
}

int elm_gemm_have_avx2(void) {
    return 0;
}

int elm_gemm_avx2(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs, const float *B,
                  ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc) {
    (void)M, (void)N, (void)K, (void)A, (void)ars, (void)acs, (void)B, (void)brs, (void)bcs;
    (void)C, (void)ldc;
    return -1;
}

#endif

// The fastest of the two this CPU has, -1 with neither (see gemm.h).
int elm_gemm(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs, const float *B,
             ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc) {
    if (elm_gemm_have_avx512()) return elm_gemm_avx512(M, N, K, A, ars, acs, B, brs, bcs, C, ldc);
    return elm_gemm_avx2(M, N, K, A, ars, acs, B, brs, bcs, C, ldc);
}

int elm_gemm_have(void) {
    return elm_gemm_have_avx512() || elm_gemm_have_avx2();
}

const char *elm_gemm_isa_name(void) {
    return elm_gemm_have_avx512() ? "avx512" : elm_gemm_have_avx2() ? "avx2" : "loops";
}
