// gemm.c — elm's own fp32 matrix product for AVX-512 CPUs (see gemm.h).
// Called by layers.c. A tile of MR rows x NR columns of C lives in 24 zmm registers while k
// runs: per k, three loads of the packed B panel and MR broadcasts of A feed 3*MR FMAs.
#include "engine/model/gemm.h"

#include "engine/model/layers.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define MR 8   // rows of C per micro-tile
#define NR 48  // columns of C per micro-tile (3 zmm)
#define KC 256 // k per packed B panel (48 KiB)
#define MB 256 // rows of C per task

#define TARGET __attribute__((target("avx512f,fma")))

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

// Bp (kc, NR) = B[k0 .. k0+kc, j0 .. j0+nr], zero beyond nr.
static void pack_b(float *Bp, const float *B, ptrdiff_t brs, ptrdiff_t bcs, int k0, int kc, int j0,
                   int nr) {
    if (bcs == 1) {
        for (int k = 0; k < kc; k++) {
            const float *src = B + (ptrdiff_t)(k0 + k) * brs + j0;
            float *dst = Bp + (size_t)k * NR;
            memcpy(dst, src, nr * sizeof(float));
            for (int j = nr; j < NR; j++) dst[j] = 0.0f;
        }
    } else { // column j contiguous in k when brs == 1 (the forward's W^T)
        for (int j = 0; j < NR; j++) {
            if (j < nr) {
                const float *src = B + (ptrdiff_t)(j0 + j) * bcs + (ptrdiff_t)k0 * brs;
                for (int k = 0; k < kc; k++) Bp[(size_t)k * NR + j] = src[(ptrdiff_t)k * brs];
            } else {
                for (int k = 0; k < kc; k++) Bp[(size_t)k * NR + j] = 0.0f;
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
    int n_nc = (N + NR - 1) / NR, n_mb = (M + MB - 1) / MB;
    int tasks = n_nc * n_mb;
#pragma omp parallel for schedule(static) if ((size_t)M * N * K >= ELM_PAR_MIN)
    for (int task = 0; task < tasks; task++) {
        int jc = task % n_nc, ib = task / n_nc;
        int j0 = jc * NR, nr = N - j0 < NR ? N - j0 : NR;
        int i0 = ib * MB, i1 = i0 + MB < M ? i0 + MB : M;
        float Bp[KC * NR] __attribute__((aligned(64)));
        float Ap[KC * MR]; // an edge tile of A, zero-padded to MR rows
        for (int k0 = 0; k0 < K; k0 += KC) {
            int kc = K - k0 < KC ? K - k0 : KC;
            pack_b(Bp, B, brs, bcs, k0, kc, j0, nr);
            for (int i = i0; i < i1; i += MR) {
                int mr = i1 - i < MR ? i1 - i : MR;
                const float *a = A + (ptrdiff_t)i * ars + (ptrdiff_t)k0 * acs;
                if (mr == MR) {
                    kernel(kc, a, ars, acs, Bp, C + (ptrdiff_t)i * ldc + j0, ldc, MR, nr);
                } else {
                    for (int k = 0; k < kc; k++)
                        for (int r = 0; r < MR; r++)
                            Ap[k * MR + r] =
                                r < mr ? a[(ptrdiff_t)r * ars + (ptrdiff_t)k * acs] : 0.0f;
                    kernel(kc, Ap, 1, MR, Bp, C + (ptrdiff_t)i * ldc + j0, ldc, mr, nr);
                }
            }
        }
    }
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

#endif
