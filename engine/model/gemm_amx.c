// gemm_amx.c — elm's bf16 matrix product on AMX tiles (see gemm_amx.h).
// The product runs in passes of AMX_KB k. In each, one factor is converted whole, in parallel (A,
// or B where A's pass would not fit in L2): A into rows of bf16 (Mp, Kp), an A tile being 16 rows x
// 32 bf16, or B into VNNI panels of 16 columns, pair row p of a panel holding for each column j the
// bf16 pair (B[2p][j], B[2p+1][j]), a B tile being 16 pair rows x 16 columns; each thread packs its
// own part of the other (a 32-column strip of B, or 32 rows of A). Rows, columns and k are padded
// with zeros to multiples of 32: a 32x32 block of C is 2x2 fp32 tiles (tiles 0-3) fed by two A
// tiles (4, 5) and two B tiles (6, 7) per 32 k, the accumulators loaded from C and stored back
// (edge blocks through a zeroed 32x32 buffer). `tdpbf16ps` adds, for each k pair in turn, a[2p]
// b[2p] and a[2p+1] b[2p+1] into the fp32 element, so every element is one running sum, C first,
// over k in order on one thread, across passes too: not the AVX512-BF16 kernel's grouping (they
// agree to rounding).
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

// dst (16, Kp) = rows i0 .. i0 + 16 of A as bf16, zero past M and K, by blocks of 16 rows x 32 k.
// A column-major (ars == 1): 16 k pairs of 16 rows, interleaved, then transposed to 16 rows of 16
// pairs.
TARGET static void pack_a16(uint16_t *dst, const float *A, ptrdiff_t ars, ptrdiff_t acs, int M,
                            int K, size_t i0, size_t Kp) {
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
                r[t] = elm_bf16_simd_interleave(_mm512_maskz_loadu_ps(k < K ? mi : 0, a),
                                                _mm512_maskz_loadu_ps(k + 1 < K ? mi : 0, a + acs));
            }
        }
        if (acs != 1) transpose16(r);
        for (int t = 0; t < 16; t++) _mm512_store_si512(dst + t * Kp + k0, r[t]);
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

// c (32 x 32, row stride ld floats) += rows 0..31 of Ap (Kp bf16 each) @ the panels b0, b1 (32
// columns): the accumulator tiles start from c itself, so every element is c + its products in k
// order, one running fp32 sum.
TARGET static void block(const uint16_t *Ap, size_t Kp, const uint32_t *b0, const uint32_t *b1,
                         float *c, size_t ld) {
    _tile_loadd(0, c, ld * 4);
    _tile_loadd(1, c + 16, ld * 4);
    _tile_loadd(2, c + 16 * ld, ld * 4);
    _tile_loadd(3, c + 16 * ld + 16, ld * 4);
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
    _tile_stored(0, c, ld * 4);
    _tile_stored(1, c + 16, ld * 4);
    _tile_stored(2, c + 16 * ld, ld * 4);
    _tile_stored(3, c + 16 * ld + 16, ld * 4);
}

// The 32 x 32 block of C at (i0, j0): in place where it lies inside C, else through buf (32 x 32,
// zero past C's edges, copied back under lane masks), the same arithmetic either way.
TARGET static void block_at(const uint16_t *Ap, size_t Kp, const uint32_t *b0, const uint32_t *b1,
                            float *C, ptrdiff_t ldc, int M, int N, int i0, int j0, float *buf) {
    float *c = C + (ptrdiff_t)i0 * ldc + j0;
    if (i0 + 32 <= M && j0 + 32 <= N) {
        block(Ap, Kp, b0, b1, c, (size_t)ldc);
        return;
    }
    int mr = M - i0 < 32 ? M - i0 : 32;
    __mmask16 m0 = elm_bf16_simd_mask(N - j0), m1 = elm_bf16_simd_mask(N - j0 - 16);
    for (int r = 0; r < 32; r++) {
        const float *cr = c + (ptrdiff_t)r * ldc;
        _mm512_store_ps(buf + r * 32, _mm512_maskz_loadu_ps(r < mr ? m0 : 0, cr));
        _mm512_store_ps(buf + r * 32 + 16, _mm512_maskz_loadu_ps(r < mr ? m1 : 0, cr + 16));
    }
    block(Ap, Kp, b0, b1, buf, 32);
    for (int r = 0; r < mr; r++) {
        _mm512_mask_storeu_ps(c + (ptrdiff_t)r * ldc, m0, _mm512_load_ps(buf + r * 32));
        _mm512_mask_storeu_ps(c + (ptrdiff_t)r * ldc + 16, m1, _mm512_load_ps(buf + r * 32 + 16));
    }
}

// C's rows i0 .. i0 + 32 at columns j0 .. j0 + 32 towards L1 (three lines cover a row's 128
// bytes at any alignment), a block ahead of its use: the rows lie a stride apart, which the
// hardware prefetchers do not follow.
static inline void prefetch_c(const float *C, ptrdiff_t ldc, int M, int N, int i0, int j0) {
    if (i0 >= M || j0 >= N) return;
    int mr = M - i0 < 32 ? M - i0 : 32;
    for (int r = 0; r < mr; r++) {
        const float *c = C + (ptrdiff_t)(i0 + r) * ldc + j0;
        _mm_prefetch((const char *)c, _MM_HINT_T0);
        _mm_prefetch((const char *)(c + 16), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + 31), _MM_HINT_T0);
    }
}

// One product C += A @ B of k <= AMX_KB, its sizes padded: Mp, Np, Kp multiples of 32.
typedef struct {
    const float *A, *B;
    ptrdiff_t ars, acs, brs, bcs, ldc;
    float *C;
    int M, N, K;
    size_t Mp, Np, Kp;
} AmxPass;

// k per pass: the products go through C in passes of this many k, so a pass's packed A (M rows)
// stays in L2 across the strips of B.
#define AMX_KB 1024
// A pass whose packed A exceeds this (bytes) runs by rows (pass_rows), not by strips.
#define AMX_A_L2 ((size_t)1 << 20)

// By strips: A packed whole (Mp x Kp), then strips of 32 columns of B spread over the threads,
// each thread packing its strip into Bs (Kp x 32) and running every 32-row block of C against it.
TARGET static void pass_strips(const AmxPass *p, uint16_t *Ap, uint32_t *Bs, float *buf) {
#pragma omp for schedule(static)
    for (size_t i0 = 0; i0 < p->Mp; i0 += 16)
        pack_a16(Ap + i0 * p->Kp, p->A, p->ars, p->acs, p->M, p->K, i0, p->Kp);
#pragma omp for schedule(static)
    for (int j0 = 0; j0 < (int)p->Np; j0 += 32) {
        pack_b(Bs, p->B, p->brs, p->bcs, p->N, p->K, j0, p->Kp);
        for (int i0 = 0; i0 < (int)p->Mp; i0 += 32) {
            prefetch_c(p->C, p->ldc, p->M, p->N, i0 + 32, j0);
            block_at(Ap + (size_t)i0 * p->Kp, p->Kp, Bs, Bs + p->Kp / 2 * 16, p->C, p->ldc, p->M,
                     p->N, i0, j0, buf);
        }
    }
}

// By rows, for an A too large to stay in L2 (the dweights' M = OC rows): B packed whole (Np / 32
// strips of Kp x 32), then 32-row blocks of C spread over the threads, each thread packing its
// rows of A into As (32 x Kp) and running them against every strip.
TARGET static void pass_rows(const AmxPass *p, uint32_t *Bp, uint16_t *As, float *buf) {
    size_t strip = p->Kp * 32 / 2; // 32-bit words of one packed strip
#pragma omp for schedule(static)
    for (int j0 = 0; j0 < (int)p->Np; j0 += 32)
        pack_b(Bp + (size_t)j0 / 32 * strip, p->B, p->brs, p->bcs, p->N, p->K, j0, p->Kp);
#pragma omp for schedule(static)
    for (int i0 = 0; i0 < (int)p->Mp; i0 += 32) {
        pack_a16(As, p->A, p->ars, p->acs, p->M, p->K, (size_t)i0, p->Kp);
        pack_a16(As + 16 * p->Kp, p->A, p->ars, p->acs, p->M, p->K, (size_t)i0 + 16, p->Kp);
        for (int j0 = 0; j0 < (int)p->Np; j0 += 32) {
            const uint32_t *b = Bp + (size_t)j0 / 32 * strip;
            block_at(As, p->Kp, b, b + p->Kp / 2 * 16, p->C, p->ldc, p->M, p->N, i0, j0, buf);
        }
    }
}

// Every pass of k on this thread, the tiles configured for it alone. scratch holds the packed A
// and B a pass needs (shared) and each thread's own part after them.
TARGET static void run_passes(AmxPass p, int by_rows, int K, uint16_t *shared, char *mine_base,
                              size_t mine_bytes) {
    TileConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) cfg.colsb[t] = 64, cfg.rows[t] = 16;
    _tile_loadconfig(&cfg);
    float buf[32 * 32] __attribute__((aligned(64)));
    void *mine = mine_base + (size_t)omp_get_thread_num() * mine_bytes;
    const float *A0 = p.A, *B0 = p.B;
    for (int k0 = 0; k0 < K; k0 += AMX_KB) {
        p.A = A0 + (ptrdiff_t)k0 * p.acs, p.B = B0 + (ptrdiff_t)k0 * p.brs;
        p.K = K - k0 < AMX_KB ? K - k0 : AMX_KB;
        p.Kp = elm_bf16_simd_round_up((size_t)p.K, 32);
        if (by_rows)
            pass_rows(&p, (uint32_t *)shared, mine, buf);
        else
            pass_strips(&p, shared, mine, buf);
    }
    _tile_release();
}

int elm_gemm_amx(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs, const float *B,
                 ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc) {
    if (!elm_gemm_amx_ready() || (ars != 1 && acs != 1) || (brs != 1 && bcs != 1)) return -1;
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    AmxPass p = {.A = A,
                 .B = B,
                 .ars = ars,
                 .acs = acs,
                 .brs = brs,
                 .bcs = bcs,
                 .ldc = ldc,
                 .C = C,
                 .M = M,
                 .N = N};
    p.Mp = elm_bf16_simd_round_up((size_t)M, 32), p.Np = elm_bf16_simd_round_up((size_t)N, 32);
    size_t Kp = elm_bf16_simd_round_up((size_t)(K < AMX_KB ? K : AMX_KB), 32); // the widest pass
    int by_rows = p.Mp * Kp * 2 > AMX_A_L2, threads = omp_get_max_threads();
    // shared: A whole (strips) or B whole (rows); each thread's: a B strip or 32 rows of A.
    size_t shared = (by_rows ? p.Np : p.Mp) * Kp * 2, mine = 32 * Kp * 2;
    char *scratch = aligned_alloc(64, shared + (size_t)threads * mine);
    if (!scratch) return -1;
#pragma omp parallel if ((size_t)M * N * K >= ELM_PAR_MIN)
    run_passes(p, by_rows, K, (uint16_t *)scratch, scratch + shared, mine);
    free(scratch);
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
