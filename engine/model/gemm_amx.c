// gemm_amx.c — elm's bf16 matrix product on AMX tiles (see gemm_amx.h).
// Both factors are converted once per call, in parallel: A into rows of bf16 (Mp, Kp), an A tile
// being 16 rows x 32 bf16; B into VNNI panels of 16 columns, pair row p of a panel holding for each
// column j the bf16 pair (B[2p][j], B[2p+1][j]), a B tile being 16 pair rows x 16 columns. Rows,
// columns and k are padded with zeros to multiples of 32, so the kernel has no edges: a 32x32
// block of C is 2x2 fp32 tiles (tiles 0-3) fed by two A tiles (4, 5) and two B tiles (6, 7) per 32
// k. The block goes through a scratch buffer into C under lane masks. `tdpbf16ps` adds, for each
// k pair in turn, a[2p] b[2p] and a[2p+1] b[2p+1] into the fp32 element: the same order on any
// thread, though not the AVX512-BF16 kernel's grouping of sums (the two agree to fp32 rounding).
#include "engine/model/gemm_amx.h"

#include "engine/model/bf16.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__)
#include <cpuid.h>
#include <immintrin.h>
#include <omp.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/model/bf16_simd.h"
#include "engine/model/layers.h"

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

#define TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16")))

// The tile configuration of palette 1: eight tiles of 16 rows x 64 bytes.
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} TileConfig;
_Static_assert(sizeof(TileConfig) == 64, "the AMX tile configuration is 64 bytes");

// The process's permission to use the tile data state: asked for once, read-only afterwards.
static int amx_granted;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

static void amx_probe(void) {
    unsigned a, b, c, d;
    if (!elm_bf16_cpu_has() || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    if (!(d & (1u << 24)) || !(d & (1u << 22))) return; // CPUID.7.0:EDX AMX-TILE, AMX-BF16
    amx_granted = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

int elm_gemm_amx_ready(void) {
    pthread_once(&amx_once, amx_probe);
    return amx_granted;
}

// 32 floats x[0..n) (zero beyond n) as 32 bf16 in order.
TARGET static inline __m512i bf16_seq(const float *x, long n) {
    return (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(elm_bf16_simd_mask(n - 16), x + 16),
                                        _mm512_maskz_loadu_ps(elm_bf16_simd_mask(n), x));
}

// r (16 x 16 32-bit words, row t in r[t]) transposed in place: 32-bit, then 64-bit interleaves
// within the 128-bit lanes (u[4i + c], lane L: rows 4i..4i+3 of column 4L + c), then the lanes.
TARGET static void transpose16(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int c = 0; c < 4; c++) {
        __m512i v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44);
        __m512i v2 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xEE);
        __m512i w1 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
        __m512i w2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xEE);
        r[c] = _mm512_shuffle_i32x4(v1, w1, 0x88);
        r[4 + c] = _mm512_shuffle_i32x4(v1, w1, 0xDD);
        r[8 + c] = _mm512_shuffle_i32x4(v2, w2, 0x88);
        r[12 + c] = _mm512_shuffle_i32x4(v2, w2, 0xDD);
    }
}

// Ap (Mp, Kp) = A as bf16 rows, zero past M and K, by blocks of 16 rows x 32 k. A column-major
// (ars == 1): 16 k pairs of 16 rows, interleaved, then transposed to 16 rows of 16 pairs.
TARGET static void pack_a(uint16_t *Ap, const float *A, ptrdiff_t ars, ptrdiff_t acs, int M, int K,
                          size_t Mp, size_t Kp) {
#pragma omp for schedule(static)
    for (size_t i0 = 0; i0 < Mp; i0 += 16) {
        __mmask16 mi = elm_bf16_simd_mask((long)M - (long)i0);
        for (size_t k0 = 0; k0 < Kp; k0 += 32) {
            __m512i r[16];
            for (int t = 0; t < 16; t++) {
                if (acs == 1) {
                    size_t i = i0 + (size_t)t;
                    r[t] = i < (size_t)M ? bf16_seq(A + (ptrdiff_t)i * ars + k0, (long)K - (long)k0)
                                         : _mm512_setzero_si512();
                } else {
                    long k = (long)k0 + 2 * t;
                    const float *a = A + k * acs + (ptrdiff_t)i0 * ars;
                    r[t] = elm_bf16_simd_interleave(
                        _mm512_maskz_loadu_ps(k < K ? mi : 0, a),
                        _mm512_maskz_loadu_ps(k + 1 < K ? mi : 0, a + acs));
                }
            }
            if (acs != 1) transpose16(r);
            for (int t = 0; t < 16; t++) _mm512_store_si512(Ap + (i0 + t) * Kp + k0, r[t]);
        }
    }
}

// dst = columns j0 .. j0 + 32 of B as two VNNI panels of 16 columns, (Kp / 2, 16) pairs each,
// zero past N and K. B with rows contiguous (bcs == 1): rows k and k + 1 interleaved; else (the
// forward's W^T, columns contiguous) 16 columns of 32 k as bf16 pairs, transposed.
TARGET static void pack_b(uint32_t *dst, const float *B, ptrdiff_t brs, ptrdiff_t bcs, int N, int K,
                          long j0, size_t Kp) {
    __m512i r[2][16];
    for (size_t p0 = 0; p0 < Kp / 2; p0 += 16) {
        long k0 = 2 * (long)p0;
        for (int h = 0; h < 2; h++) {
            long jh = j0 + 16 * h;
            __mmask16 mj = elm_bf16_simd_mask(N - jh);
            for (int t = 0; t < 16; t++) {
                if (bcs == 1) {
                    long k = k0 + 2 * t;
                    const float *b = B + k * brs + jh;
                    r[h][t] = elm_bf16_simd_interleave(
                        _mm512_maskz_loadu_ps(k < K ? mj : 0, b),
                        _mm512_maskz_loadu_ps(k + 1 < K ? mj : 0, b + brs));
                } else {
                    r[h][t] = jh + t < N ? bf16_seq(B + (jh + t) * bcs + k0 * brs, K - k0)
                                         : _mm512_setzero_si512();
                }
            }
            if (bcs != 1) transpose16(r[h]);
        }
        for (int h = 0; h < 2; h++)
            for (int t = 0; t < 16; t++)
                _mm512_store_si512(dst + h * Kp / 2 * 16 + (p0 + t) * 16, r[h][t]);
    }
}

// out (32, 32) = rows 0..31 of Ap (Kp bf16 each) @ the panels b0, b1 (32 columns), k in order.
TARGET static void block(const uint16_t *Ap, size_t Kp, const uint32_t *b0, const uint32_t *b1,
                         float *out) {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (size_t k = 0; k < Kp; k += 32) {
        _tile_loadd(4, Ap + k, Kp * 2);
        _tile_loadd(5, Ap + 16 * Kp + k, Kp * 2);
        _tile_loadd(6, b0 + k / 2 * 16, 64);
        _tile_loadd(7, b1 + k / 2 * 16, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, out, 128);
    _tile_stored(1, out + 16, 128);
    _tile_stored(2, out + 16 * 32, 128);
    _tile_stored(3, out + 16 * 32 + 16, 128);
}

// C += the product by strips of 32 columns spread over the threads: each thread packs a strip of B
// into its own Bs (Kp x 32 bf16) and runs every 32-row block of C against it. Each thread
// configures its own tiles and releases them.
TARGET static void run_strips(const uint16_t *Ap, const float *B, ptrdiff_t brs, ptrdiff_t bcs,
                              int M, int N, int K, size_t Mp, size_t Np, size_t Kp, float *C,
                              ptrdiff_t ldc, uint32_t *Bs) {
    TileConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) cfg.colsb[t] = 64, cfg.rows[t] = 16;
    _tile_loadconfig(&cfg);
    float out[32 * 32] __attribute__((aligned(64)));
#pragma omp for schedule(static)
    for (int j0 = 0; j0 < (int)Np; j0 += 32) {
        pack_b(Bs, B, brs, bcs, N, K, j0, Kp);
        for (int i0 = 0; i0 < (int)Mp; i0 += 32) {
            block(Ap + (size_t)i0 * Kp, Kp, Bs, Bs + Kp / 2 * 16, out);
            int mr = M - i0 < 32 ? M - i0 : 32;
            __mmask16 m0 = elm_bf16_simd_mask(N - j0), m1 = elm_bf16_simd_mask(N - j0 - 16);
            for (int r = 0; r < mr; r++) {
                float *c = C + (ptrdiff_t)(i0 + r) * ldc + j0;
                const float *o = out + r * 32;
                _mm512_mask_storeu_ps(
                    c, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), _mm512_load_ps(o)));
                _mm512_mask_storeu_ps(
                    c + 16, m1,
                    _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), _mm512_load_ps(o + 16)));
            }
        }
    }
    _tile_release();
}

int elm_gemm_amx(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs, const float *B,
                 ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc) {
    if (!elm_gemm_amx_ready() || (ars != 1 && acs != 1) || (brs != 1 && bcs != 1)) return -1;
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    size_t Mp = elm_bf16_simd_round_up((size_t)M, 32), Np = elm_bf16_simd_round_up((size_t)N, 32),
           Kp = elm_bf16_simd_round_up((size_t)K, 32);
    int threads = omp_get_max_threads();
    uint16_t *Ap = aligned_alloc(64, Mp * Kp * 2);
    uint32_t *Bs = aligned_alloc(64, (size_t)threads * 32 * Kp * 2); // a B strip per thread
    if (!Ap || !Bs) {
        free(Ap);
        free(Bs);
        return -1;
    }
#pragma omp parallel if ((size_t)M * N * K >= ELM_PAR_MIN)
    {
        pack_a(Ap, A, ars, acs, M, K, Mp, Kp);
        uint32_t *mine = Bs + (size_t)omp_get_thread_num() * 16 * Kp;
        run_strips(Ap, B, brs, bcs, M, N, K, Mp, Np, Kp, C, ldc, mine);
    }
    free(Ap);
    free(Bs);
    return 0;
}

#else

int elm_gemm_amx_ready(void) {
    return 0;
}

int elm_gemm_amx(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs, const float *B,
                 ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc) {
    (void)M, (void)N, (void)K, (void)A, (void)ars, (void)acs, (void)B, (void)brs, (void)bcs;
    (void)C, (void)ldc;
    return -1;
}

#endif
