// matmul.cu — elm's own bf16 tensor-core matmul (versions 1-2), the cuBLASLt path with fused
// epilogues, and the bias-gradient reduction. See matmul.h for the operand conventions.
#include "kernels/matmul.h"
#include "kernels/cuda_ctx_impl.cuh"
#include "kernels/mma.cuh"

#include <cuda.h>

struct MmParams {
    int M, N, K;
    const bf16 *a, *b;
    long lda, ldb, ldc;
    void *c;
    const bf16 *bias;
    bf16 *pre;
    int accumulate;
    const bf16 *dpre;
};

// Element (m, k) of op(A) and (k, n) of op(B), zero outside the matrix.
template <bool TA> __device__ __forceinline__ float op_a(const MmParams &p, int m, int k) {
    if (m >= p.M || k >= p.K) return 0.0f;
    return __bfloat162float(TA ? p.a[(long)k * p.lda + m] : p.a[(long)m * p.lda + k]);
}

template <bool TB> __device__ __forceinline__ float op_b(const MmParams &p, int k, int n) {
    if (k >= p.K || n >= p.N) return 0.0f;
    return __bfloat162float(TB ? p.b[(long)n * p.ldb + k] : p.b[(long)k * p.ldb + n]);
}

// The epilogue for one output element: bias, GELU (keeping the pre-activation), accumulate.
template <typename OutT>
__device__ __forceinline__ void mm_store(const MmParams &p, int m, int n, float v) {
    if (m >= p.M || n >= p.N) return;
    long i = (long)m * p.ldc + n;
    if (p.bias) v += __bfloat162float(p.bias[n]);
    if (p.pre) {
        p.pre[i] = __float2bfloat16(v);
        v = elm_gelu(v);
    }
    if (p.dpre) v *= elm_gelu_grad(__bfloat162float(p.dpre[i]));
    OutT *c = (OutT *)p.c;
    if (p.accumulate) v += (float)c[i];
    c[i] = (OutT)v;
}

// ---- version 1: 32x32 shared-memory tiles, 2x2 outputs per thread, fp32 FMA ------------------
#define V1_T 32
template <bool TA, bool TB, typename OutT> __global__ void mm_v1(MmParams p) {
    __shared__ float as[V1_T][V1_T + 1], bs[V1_T][V1_T + 1];
    int tx = threadIdx.x % 16, ty = threadIdx.x / 16; // 256 threads
    int m0 = blockIdx.y * V1_T, n0 = blockIdx.x * V1_T;
    float acc[2][2] = {{0, 0}, {0, 0}};
    for (int k0 = 0; k0 < p.K; k0 += V1_T) {
        for (int i = threadIdx.x; i < V1_T * V1_T; i += 256) {
            int r = i / V1_T, c = i % V1_T;
            as[r][c] = op_a<TA>(p, m0 + r, k0 + c);
            bs[r][c] = op_b<TB>(p, k0 + r, n0 + c);
        }
        __syncthreads();
        for (int k = 0; k < V1_T; k++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) acc[i][j] += as[ty + 16 * i][k] * bs[k][tx + 16 * j];
        __syncthreads();
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            mm_store<OutT>(p, m0 + ty + 16 * i, n0 + tx + 16 * j, acc[i][j]);
}

// ---- version 2: mma.sync tensor cores -----------------------------------------------------------
// Block tile 128x128, k-step 32, 8 warps as 2 (m) x 4 (n), each warp 64x32 = 4x4 mma tiles.
// Operands are staged in shared memory exactly as they lie in global memory (16-byte cp.async
// chunks, coalesced); ldmatrix (.trans where the contiguous axis is not k) builds the fragments.
// Rows are padded by 8 bf16 (16 bytes) so the 8 row addresses of an ldmatrix hit distinct banks.
#define V2_BM 128
#define V2_BN 128
#define V2_BK 32
#define V2_STAGES 3
#define V2_THREADS 256
#define V2_TILE_ELEMS (V2_BM * (V2_BK + 8)) // >= V2_BK * (V2_BM + 8), the transposed layout
#define V2_SMEM (V2_STAGES * 2 * V2_TILE_ELEMS * (int)sizeof(bf16))

// Loads a ROWS x COLS tile at (r0, c0) of a row-major matrix (nrows x ncols, stride ld) into
// shared memory with row stride SLD. Whole 16-byte chunks go through cp.async when VEC (stride
// and base 16-byte aligned); chunks crossing the matrix edge are filled element by element, with
// zeros outside, so any M, N, K is exact.
template <int ROWS, int COLS, int SLD, bool VEC>
__device__ __forceinline__ void v2_load_tile(bf16 *s, const bf16 *g, long ld, int nrows, int ncols,
                                             int r0, int c0) {
    constexpr int CPR = COLS / 8;
    for (int ch = threadIdx.x; ch < ROWS * CPR; ch += V2_THREADS) {
        int r = ch / CPR, cc = (ch % CPR) * 8;
        int gr = r0 + r, gc = c0 + cc;
        bf16 *dst = s + r * SLD + cc;
        if (VEC && gr < nrows && gc + 8 <= ncols) {
            elm_cp_async16(dst, g + (long)gr * ld + gc);
        } else {
            for (int j = 0; j < 8; j++)
                dst[j] = (gr < nrows && gc + j < ncols) ? g[(long)gr * ld + gc + j]
                                                        : __float2bfloat16(0.0f);
        }
    }
}

template <bool TA, bool TB, bool VEC>
__device__ __forceinline__ void v2_load_stage(const MmParams &p, bf16 *sa, bf16 *sb, int m0, int n0,
                                              int k0) {
    if (TA) // A stored (K, M): tile rows k, columns m
        v2_load_tile<V2_BK, V2_BM, V2_BM + 8, VEC>(sa, p.a, p.lda, p.K, p.M, k0, m0);
    else
        v2_load_tile<V2_BM, V2_BK, V2_BK + 8, VEC>(sa, p.a, p.lda, p.M, p.K, m0, k0);
    if (TB) // B stored (N, K): tile rows n, columns k
        v2_load_tile<V2_BN, V2_BK, V2_BK + 8, VEC>(sb, p.b, p.ldb, p.N, p.K, n0, k0);
    else
        v2_load_tile<V2_BK, V2_BN, V2_BN + 8, VEC>(sb, p.b, p.ldb, p.K, p.N, k0, n0);
}

template <bool TA, bool TB, bool VEC, typename OutT>
__global__ void __launch_bounds__(V2_THREADS) mm_v2(MmParams p) {
    extern __shared__ __align__(16) unsigned char v2_smem[];
    bf16 *smem = (bf16 *)v2_smem;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int wm = warp / 4, wn = warp % 4; // warp tile origin: (wm*64, wn*32)
    const int m0 = blockIdx.y * V2_BM, n0 = blockIdx.x * V2_BN;
    const int ktiles = (p.K + V2_BK - 1) / V2_BK;
    const int mat = lane >> 3, mr = lane & 7; // ldmatrix: which 8x8 matrix, which row of it

    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;

#pragma unroll
    for (int s = 0; s < V2_STAGES - 1; s++) {
        if (s < ktiles)
            v2_load_stage<TA, TB, VEC>(p, smem + (2 * s) * V2_TILE_ELEMS,
                                       smem + (2 * s + 1) * V2_TILE_ELEMS, m0, n0, s * V2_BK);
        elm_cp_async_commit();
    }

    for (int kt = 0; kt < ktiles; kt++) {
        elm_cp_async_wait<V2_STAGES - 2>();
        __syncthreads(); // stage kt landed for everyone; stage kt-1 is free again
        int pf = kt + V2_STAGES - 1;
        if (pf < ktiles) {
            int s = pf % V2_STAGES;
            v2_load_stage<TA, TB, VEC>(p, smem + (2 * s) * V2_TILE_ELEMS,
                                       smem + (2 * s + 1) * V2_TILE_ELEMS, m0, n0, pf * V2_BK);
        }
        elm_cp_async_commit();

        const int s = kt % V2_STAGES;
        const bf16 *sa = smem + (2 * s) * V2_TILE_ELEMS;
        const bf16 *sb = smem + (2 * s + 1) * V2_TILE_ELEMS;
#pragma unroll
        for (int kk = 0; kk < V2_BK; kk += 16) {
            uint32_t af[4][4], bfr[4][2];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                int mb = wm * 64 + i * 16;
                if (TA) // stored [k][m]: matrices (k0,m0) (k0,m8) (k8,m0) (k8,m8)
                    elm_ldsm_x4_t(af[i], sa + (kk + mr + (mat >> 1) * 8) * (V2_BM + 8) + mb +
                                             (mat & 1) * 8);
                else // stored [m][k]: matrices (m0,k0) (m8,k0) (m0,k8) (m8,k8)
                    elm_ldsm_x4(af[i],
                                sa + (mb + mr + (mat & 1) * 8) * (V2_BK + 8) + kk + (mat >> 1) * 8);
            }
#pragma unroll
            for (int jp = 0; jp < 2; jp++) {
                int nb = wn * 32 + jp * 16;
                uint32_t r[4];
                if (TB) { // stored [n][k]: matrices (n0,k0) (n0,k8) (n8,k0) (n8,k8)
                    elm_ldsm_x4(r,
                                sb + (nb + mr + (mat >> 1) * 8) * (V2_BK + 8) + kk + (mat & 1) * 8);
                } else { // stored [k][n]: matrices (k0,n0) (k8,n0) (k0,n8) (k8,n8)
                    elm_ldsm_x4_t(r, sb + (kk + mr + (mat & 1) * 8) * (V2_BN + 8) + nb +
                                         (mat >> 1) * 8);
                }
                bfr[2 * jp][0] = r[0], bfr[2 * jp][1] = r[1];
                bfr[2 * jp + 1][0] = r[2], bfr[2 * jp + 1][1] = r[3];
            }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) elm_mma_bf16(acc[i][j], af[i], bfr[j]);
        }
    }
    elm_cp_async_wait<0>();

    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int m = m0 + wm * 64 + i * 16 + g, n = n0 + wn * 32 + j * 8 + 2 * t;
            mm_store<OutT>(p, m, n, acc[i][j][0]);
            mm_store<OutT>(p, m, n + 1, acc[i][j][1]);
            mm_store<OutT>(p, m + 8, n, acc[i][j][2]);
            mm_store<OutT>(p, m + 8, n + 1, acc[i][j][3]);
        }
}

// ---- version 3: Hopper (sm_90a) wgmma + TMA, forward layout only --------------------------------
// C = A B^T with A (M, K) and B (N, K) both k-contiguous (trans_a = 0, trans_b = 1: the linear
// layers' forward). Block tile 128x128x64, 4 stages. Thread 0 issues the TMA copies (128-byte
// swizzled tiles, zeros outside the matrix) completing on one mbarrier per stage; two
// warpgroups each run m64n128k16 wgmma on their 64 rows, operands straight from shared memory.
// Other layouts, other GPUs and builds without sm_90a fall back to version 2.
#define V3_BM 128
#define V3_BN 128
#define V3_BK 64
#define V3_STAGES 4
#define V3_STAGE_ELEMS ((V3_BM + V3_BN) * V3_BK)
#define V3_SMEM (V3_STAGES * V3_STAGE_ELEMS * (int)sizeof(bf16) + 1024)

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define ELM_V3_DEVICE 1
// Shared-memory matrix descriptor: K-major operand, 128-byte swizzle, 8-row groups 1024 B apart.
__device__ __forceinline__ uint64_t v3_desc(const bf16 *p) {
    uint64_t addr = elm_smem_addr(p);
    return ((addr & 0x3FFFF) >> 4) | (1ull << 16) | ((uint64_t)(1024 >> 4) << 32) | (1ull << 62);
}

__device__ __forceinline__ void v3_wgmma(float d[64], uint64_t da, uint64_t db) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, "
        "%19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, "
        "%37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, "
        "%55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1, 0, 0;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
          "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
          "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),
          "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
          "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]),
          "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]),
          "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),
          "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
          "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]),
          "+f"(d[63])
        : "l"(da), "l"(db), "r"(1));
}

__device__ __forceinline__ void v3_mbar_wait(uint32_t bar, uint32_t phase) {
    uint32_t ok = 0;
    while (!ok)
        asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
                     "selp.u32 %0, 1, 0, p;\n}\n"
                     : "=r"(ok)
                     : "r"(bar), "r"(phase)
                     : "memory");
}

__device__ __forceinline__ void v3_load(const CUtensorMap *tm, uint32_t dst, uint32_t bar, int c0,
                                        int c1) {
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes "
                 "[%0], [%1, {%2, %3}], [%4];\n" ::"r"(dst),
                 "l"((uint64_t)tm), "r"(c0), "r"(c1), "r"(bar)
                 : "memory");
}
#endif

template <typename OutT>
__global__ void __launch_bounds__(256) mm_v3(const __grid_constant__ CUtensorMap tma,
                                             const __grid_constant__ CUtensorMap tmb, MmParams p) {
#ifdef ELM_V3_DEVICE
    extern __shared__ unsigned char v3_raw[];
    __shared__ __align__(8) uint64_t full[V3_STAGES];
    bf16 *smem = (bf16 *)(((uintptr_t)v3_raw + 1023) & ~(uintptr_t)1023); // 128B swizzle: 1 KB
    const int tid = threadIdx.x, wg = tid / 128;
    const int m0 = blockIdx.y * V3_BM, n0 = blockIdx.x * V3_BN;
    const int ktiles = (p.K + V3_BK - 1) / V3_BK;
    const uint32_t stage_bytes = V3_STAGE_ELEMS * sizeof(bf16);
    if (tid == 0) {
        for (int s = 0; s < V3_STAGES; s++)
            asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;\n" ::"r"(elm_smem_addr(&full[s])));
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
        asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
    }
    __syncthreads();
    auto issue = [&](int kt) {
        int s = kt % V3_STAGES;
        bf16 *sa = smem + s * V3_STAGE_ELEMS, *sb = sa + V3_BM * V3_BK;
        uint32_t bar = elm_smem_addr(&full[s]);
        asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar),
                     "r"(stage_bytes)
                     : "memory");
        v3_load(&tma, elm_smem_addr(sa), bar, kt * V3_BK, m0);
        v3_load(&tmb, elm_smem_addr(sb), bar, kt * V3_BK, n0);
    };
    if (tid == 0)
        for (int kt = 0; kt < V3_STAGES - 1 && kt < ktiles; kt++) issue(kt);

    float d[64];
#pragma unroll
    for (int i = 0; i < 64; i++) d[i] = 0.0f;
    for (int kt = 0; kt < ktiles; kt++) {
        int s = kt % V3_STAGES;
        v3_mbar_wait(elm_smem_addr(&full[s]), (kt / V3_STAGES) & 1);
        const bf16 *sa = smem + s * V3_STAGE_ELEMS + wg * 64 * V3_BK;
        const bf16 *sb = smem + s * V3_STAGE_ELEMS + V3_BM * V3_BK;
        asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
        for (int kk = 0; kk < V3_BK / 16; kk++) // 16 k = 32 bytes along the swizzled row
            v3_wgmma(d, v3_desc(sa + kk * 16), v3_desc(sb + kk * 16));
        asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
        asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
        __syncthreads(); // every warpgroup is done with stage s: it may be refilled
        if (tid == 0 && kt + V3_STAGES - 1 < ktiles) issue(kt + V3_STAGES - 1);
    }
    // Accumulator layout (m64nNk16): warp w of the warpgroup holds rows 16w + g and 16w + g + 8;
    // d[4j..4j+1] are columns 8j + 2t, +1 of the first, d[4j+2..4j+3] of the second.
    const int lane = tid & 31, w = (tid % 128) / 32, g = lane >> 2, t = lane & 3;
    const int row = m0 + wg * 64 + w * 16 + g;
#pragma unroll
    for (int j = 0; j < 16; j++) {
        int col = n0 + 8 * j + 2 * t;
        mm_store<OutT>(p, row, col, d[4 * j]);
        mm_store<OutT>(p, row, col + 1, d[4 * j + 1]);
        mm_store<OutT>(p, row + 8, col, d[4 * j + 2]);
        mm_store<OutT>(p, row + 8, col + 1, d[4 * j + 3]);
    }
#endif
}

// ---- launchers --------------------------------------------------------------------------------
template <bool TA, bool TB, typename OutT>
static int launch_v1(ElmCudaCtx *ctx, const MmParams &p, ElmError *err) {
    dim3 grid(elm_ceil_div(p.N, V1_T), elm_ceil_div(p.M, V1_T));
    mm_v1<TA, TB, OutT><<<grid, 256, 0, ctx->stream>>>(p);
    ELM_CU_LAUNCH("matmul v1");
    return 0;
}

template <bool TA, bool TB, bool VEC, typename OutT>
static int launch_v2(ElmCudaCtx *ctx, const MmParams &p, ElmError *err) {
    auto kern = mm_v2<TA, TB, VEC, OutT>;
    ELM_CU(err, cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, V2_SMEM));
    dim3 grid(elm_ceil_div(p.N, V2_BN), elm_ceil_div(p.M, V2_BM));
    kern<<<grid, V2_THREADS, V2_SMEM, ctx->stream>>>(p);
    ELM_CU_LAUNCH("matmul v2");
    return 0;
}

typedef CUresult (*TmapEncodeFn)(CUtensorMap *, CUtensorMapDataType, cuuint32_t, void *,
                                 const cuuint64_t *, const cuuint64_t *, const cuuint32_t *,
                                 const cuuint32_t *, CUtensorMapInterleave, CUtensorMapSwizzle,
                                 CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

// A (rows, cols) row-major bf16 matrix with row stride ld, in boxes of box_rows x V3_BK.
static int v3_tmap(ElmCudaCtx *ctx, CUtensorMap *tm, const bf16 *base, int rows, int cols, long ld,
                   int box_rows, ElmError *err) {
    cuuint64_t dims[2] = {(cuuint64_t)cols, (cuuint64_t)rows};
    cuuint64_t strides[1] = {(cuuint64_t)ld * sizeof(bf16)};
    cuuint32_t box[2] = {V3_BK, (cuuint32_t)box_rows}, es[2] = {1, 1};
    CUresult r = ((TmapEncodeFn)ctx->tmap_encode)(
        tm, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, (void *)base, dims, strides, box, es,
        CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
        CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS)
        return elm_err(err, "matmul v3: cuTensorMapEncodeTiled(%d x %d, ld %ld) failed: %d", rows,
                       cols, ld, (int)r);
    return 0;
}

// Version 3 runs only where it was built for and makes sense; elsewhere version 2 does the work.
static bool v3_applies(ElmCudaCtx *ctx, const ElmCuMatmul *mm) {
#ifdef ELM_SM90A
    return ctx->cc == 90 && ctx->tmap_encode && !mm->trans_a && mm->trans_b && mm->lda % 8 == 0 &&
           mm->ldb % 8 == 0 && (uintptr_t)mm->a % 16 == 0 && (uintptr_t)mm->b % 16 == 0;
#else
    (void)ctx, (void)mm;
    return false;
#endif
}

template <typename OutT>
static int launch_v3(ElmCudaCtx *ctx, const ElmCuMatmul *mm, const MmParams &p, ElmError *err) {
    CUtensorMap ta, tb;
    if (v3_tmap(ctx, &ta, p.a, p.M, p.K, p.lda, V3_BM, err)) return -1;
    if (v3_tmap(ctx, &tb, p.b, p.N, p.K, p.ldb, V3_BN, err)) return -1;
    (void)mm;
    auto kern = mm_v3<OutT>;
    ELM_CU(err, cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, V3_SMEM));
    dim3 grid(elm_ceil_div(p.N, V3_BN), elm_ceil_div(p.M, V3_BM));
    kern<<<grid, 256, V3_SMEM, ctx->stream>>>(ta, tb, p);
    ELM_CU_LAUNCH("matmul v3");
    return 0;
}

template <bool TA, bool TB, typename OutT>
static int dispatch_version(ElmCudaCtx *ctx, const MmParams &p, int version, bool vec,
                            ElmError *err) {
    if (version == 1) return launch_v1<TA, TB, OutT>(ctx, p, err);
    return vec ? launch_v2<TA, TB, true, OutT>(ctx, p, err)
               : launch_v2<TA, TB, false, OutT>(ctx, p, err);
}

template <typename OutT>
static int dispatch_layout(ElmCudaCtx *ctx, const ElmCuMatmul *mm, const MmParams &p, int version,
                           bool vec, ElmError *err) {
    if (mm->trans_a)
        return mm->trans_b ? dispatch_version<true, true, OutT>(ctx, p, version, vec, err)
                           : dispatch_version<true, false, OutT>(ctx, p, version, vec, err);
    return mm->trans_b ? dispatch_version<false, true, OutT>(ctx, p, version, vec, err)
                       : dispatch_version<false, false, OutT>(ctx, p, version, vec, err);
}

static int check_args(const ElmCuMatmul *mm, ElmError *err) {
    if (mm->M <= 0 || mm->N <= 0 || mm->K <= 0)
        return elm_err(err, "matmul: bad shape M=%d N=%d K=%d", mm->M, mm->N, mm->K);
    long need_a = mm->trans_a ? mm->M : mm->K, need_b = mm->trans_b ? mm->K : mm->N;
    if (mm->lda < need_a || mm->ldb < need_b || mm->ldc < mm->N)
        return elm_err(err, "matmul: leading dimension too small (lda %ld ldb %ld ldc %ld)",
                       mm->lda, mm->ldb, mm->ldc);
    if (mm->pre_gelu && mm->c_fp32) return elm_err(err, "matmul: GELU epilogue needs bf16 output");
    if (mm->dgelu_pre && (mm->c_fp32 || mm->accumulate || mm->bias || mm->pre_gelu))
        return elm_err(err,
                       "matmul: the GELU-backward epilogue takes bf16 output and nothing else");
    return 0;
}

extern "C" int elm_cu_matmul_version(ElmCudaCtx *ctx, const ElmCuMatmul *mm, int version,
                                     ElmError *err) {
    if (check_args(mm, err)) return -1;
    if (version < 0 || version > ELM_CU_MATMUL_VERSIONS)
        return elm_err(err, "matmul: no version %d", version);
    MmParams p = {mm->M,
                  mm->N,
                  mm->K,
                  (const bf16 *)mm->a,
                  (const bf16 *)mm->b,
                  mm->lda,
                  mm->ldb,
                  mm->ldc,
                  mm->c,
                  (const bf16 *)mm->bias,
                  (bf16 *)mm->pre_gelu,
                  mm->accumulate,
                  (const bf16 *)mm->dgelu_pre};
    // 16-byte chunks need 16-byte aligned rows in both operands.
    bool vec = mm->lda % 8 == 0 && mm->ldb % 8 == 0 && ((uintptr_t)mm->a % 16) == 0 &&
               ((uintptr_t)mm->b % 16) == 0;
    if (version == 3) {
        if (v3_applies(ctx, mm))
            return mm->c_fp32 ? launch_v3<float>(ctx, mm, p, err)
                              : launch_v3<bf16>(ctx, mm, p, err);
        version = 2;
    }
    return mm->c_fp32 ? dispatch_layout<float>(ctx, mm, p, version, vec, err)
                      : dispatch_layout<bf16>(ctx, mm, p, version, vec, err);
}

// ---- cuBLASLt ---------------------------------------------------------------------------------
// cuBLAS is column-major: row-major C (M, N) = op(A) op(B) is column-major C' (N, M) =
// op(B)' op(A)', so B is cuBLAS's first operand. A row-major (K, N) B is a column-major N x K
// matrix with ld = ldb: no transpose; a row-major (N, K) B needs CUBLAS_OP_T. Same for A.
// The bias epilogue adds bias[row of C'] = bias[n], as wanted.
struct LtDescs {
    cublasLtMatmulDesc_t op = NULL;
    cublasLtMatrixLayout_t a = NULL, b = NULL, c = NULL;
    cublasLtMatmulPreference_t pref = NULL;
    ~LtDescs() {
        if (pref) cublasLtMatmulPreferenceDestroy(pref);
        if (c) cublasLtMatrixLayoutDestroy(c);
        if (b) cublasLtMatrixLayoutDestroy(b);
        if (a) cublasLtMatrixLayoutDestroy(a);
        if (op) cublasLtMatmulDescDestroy(op);
    }
};

// Largest power of two (<= 256) dividing the address.
static uint32_t ptr_align(const void *p) {
    uintptr_t a = (uintptr_t)p;
    uint32_t al = 256;
    while (al > 1 && (a % al)) al >>= 1;
    return al;
}

// c[m][n] *= gelu'(pre[m][n]) over a strided (M, N) matrix: the GELU backward when cuBLASLt's
// DGELU epilogue cannot take the stride.
__global__ void dgelu_rows_kernel(bf16 *c, const bf16 *pre, int M, int N, long ld) {
    long n = (long)M * N;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x) {
        long j = (i / N) * ld + i % N;
        c[j] = __float2bfloat16(__bfloat162float(c[j]) * elm_gelu_grad(__bfloat162float(pre[j])));
    }
}

__global__ void gelu_rows_kernel(bf16 *out, const bf16 *pre, int M, int N, long ld) {
    long n = (long)M * N;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x) {
        long r = i / N, c = i % N;
        out[r * ld + c] = __float2bfloat16(elm_gelu(__bfloat162float(pre[r * ld + c])));
    }
}

static int cublaslt_run(ElmCudaCtx *ctx, const ElmCuMatmul *mm, ElmError *err);

extern "C" int elm_cu_matmul_cublaslt(ElmCudaCtx *ctx, const ElmCuMatmul *mm, ElmError *err) {
    if (check_args(mm, err)) return -1;
    // cuBLASLt's GELU_AUX epilogue wants the aux row stride a multiple of 8; otherwise the
    // product (+ bias) goes to pre_gelu and a separate pass applies GELU.
    if (mm->pre_gelu && (mm->ldc % 8 || mm->accumulate)) {
        if (mm->accumulate) return elm_err(err, "matmul: GELU epilogue with accumulate");
        ElmCuMatmul m2 = *mm;
        m2.c = mm->pre_gelu, m2.pre_gelu = NULL;
        if (cublaslt_run(ctx, &m2, err)) return -1;
        long n = (long)mm->M * mm->N;
        int blocks = (int)((n + 255) / 256 < ctx->sms * 32L ? (n + 255) / 256 : ctx->sms * 32L);
        gelu_rows_kernel<<<blocks, 256, 0, ctx->stream>>>((bf16 *)mm->c, (const bf16 *)mm->pre_gelu,
                                                          mm->M, mm->N, mm->ldc);
        ELM_CU_LAUNCH("matmul GELU pass");
        return 0;
    }
    if (mm->dgelu_pre && mm->ldc % 8) {
        ElmCuMatmul m2 = *mm;
        m2.dgelu_pre = NULL;
        if (cublaslt_run(ctx, &m2, err)) return -1;
        long n = (long)mm->M * mm->N;
        int blocks = (int)((n + 255) / 256 < ctx->sms * 32L ? (n + 255) / 256 : ctx->sms * 32L);
        dgelu_rows_kernel<<<blocks, 256, 0, ctx->stream>>>(
            (bf16 *)mm->c, (const bf16 *)mm->dgelu_pre, mm->M, mm->N, mm->ldc);
        ELM_CU_LAUNCH("matmul GELU-backward pass");
        return 0;
    }
    return cublaslt_run(ctx, mm, err);
}

static int cublaslt_run(ElmCudaCtx *ctx, const ElmCuMatmul *mm, ElmError *err) {
    LtDescs d;
    cublasOperation_t opa = mm->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N; // cuBLAS A = our B
    cublasOperation_t opb = mm->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N; // cuBLAS B = our A
    cudaDataType_t ctype = mm->c_fp32 ? CUDA_R_32F : CUDA_R_16BF;
    ELM_CUBLAS(cublasLtMatmulDescCreate(&d.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    ELM_CUBLAS(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof opa));
    ELM_CUBLAS(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof opb));
    // Stored shapes (column-major rows x cols) of cuBLAS's A (our B) and B (our A).
    uint64_t a_rows = mm->trans_b ? mm->K : mm->N, a_cols = mm->trans_b ? mm->N : mm->K;
    uint64_t b_rows = mm->trans_a ? mm->M : mm->K, b_cols = mm->trans_a ? mm->K : mm->M;
    ELM_CUBLAS(cublasLtMatrixLayoutCreate(&d.a, CUDA_R_16BF, a_rows, a_cols, mm->ldb));
    ELM_CUBLAS(cublasLtMatrixLayoutCreate(&d.b, CUDA_R_16BF, b_rows, b_cols, mm->lda));
    ELM_CUBLAS(cublasLtMatrixLayoutCreate(&d.c, ctype, mm->N, mm->M, mm->ldc));

    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    if (mm->pre_gelu)
        epi = mm->bias ? CUBLASLT_EPILOGUE_GELU_AUX_BIAS : CUBLASLT_EPILOGUE_GELU_AUX;
    else if (mm->dgelu_pre)
        epi = CUBLASLT_EPILOGUE_DGELU; // D = (A B) * gelu'(aux)
    else if (mm->bias)
        epi = CUBLASLT_EPILOGUE_BIAS;
    ELM_CUBLAS(
        cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    if (mm->bias) {
        cudaDataType_t bt = CUDA_R_16BF;
        ELM_CUBLAS(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt,
                                                  sizeof bt));
        ELM_CUBLAS(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                  &mm->bias, sizeof mm->bias));
    }
    if (mm->pre_gelu || mm->dgelu_pre) {
        int64_t ld = mm->ldc;
        const void *aux = mm->pre_gelu ? (const void *)mm->pre_gelu : (const void *)mm->dgelu_pre;
        ELM_CUBLAS(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER,
                                                  &aux, sizeof aux));
        ELM_CUBLAS(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &ld,
                                                  sizeof ld));
    }
    ELM_CUBLAS(cublasLtMatmulPreferenceCreate(&d.pref));
    size_t ws = ctx->lt_workspace_bytes;
    ELM_CUBLAS(cublasLtMatmulPreferenceSetAttribute(
        d.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    // The heuristic assumes 256-byte aligned operands unless told otherwise; slices of the one
    // parameter buffer are often less aligned than that.
    uint32_t al_a = ptr_align(mm->b), al_b = ptr_align(mm->a), al_c = ptr_align(mm->c);
    ELM_CUBLAS(cublasLtMatmulPreferenceSetAttribute(
        d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_a, sizeof al_a));
    ELM_CUBLAS(cublasLtMatmulPreferenceSetAttribute(
        d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_b, sizeof al_b));
    ELM_CUBLAS(cublasLtMatmulPreferenceSetAttribute(
        d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_c, sizeof al_c));
    ELM_CUBLAS(cublasLtMatmulPreferenceSetAttribute(
        d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_c, sizeof al_c));
    cublasLtMatmulHeuristicResult_t heur;
    int found = 0;
    ELM_CUBLAS(cublasLtMatmulAlgoGetHeuristic(ctx->lt, d.op, d.a, d.b, d.c, d.c, d.pref, 1, &heur,
                                              &found));
    if (found == 0)
        return elm_err(err, "cuBLASLt: no algorithm for M=%d N=%d K=%d (ta %d tb %d epilogue %d)",
                       mm->M, mm->N, mm->K, mm->trans_a, mm->trans_b, (int)epi);
    float alpha = 1.0f, beta = mm->accumulate ? 1.0f : 0.0f;
    ELM_CUBLAS(cublasLtMatmul(ctx->lt, d.op, &alpha, mm->b, d.a, mm->a, d.b, &beta, mm->c, d.c,
                              mm->c, d.c, &heur.algo, ctx->lt_workspace, ws, ctx->stream));
    return 0;
}

extern "C" int elm_cu_matmul(ElmCudaCtx *ctx, const ElmCuMatmul *mm, ElmCuMatmulImpl impl,
                             ElmError *err) {
    // auto: cuBLASLt until H100 timings of version 2 say otherwise (docs/cuda.md).
    if (impl == ELM_CU_MATMUL_ELM) return elm_cu_matmul_version(ctx, mm, 0, err);
    return elm_cu_matmul_cublaslt(ctx, mm, err);
}

// ---- bias gradient ----------------------------------------------------------------------------
// Each block sums a 32-column strip over a slice of rows (8 warps x lanes as columns), reduces in
// shared memory and adds its strip once with atomicAdd: M/rows_per_block atomics per column.
__global__ void bias_backward_kernel(float *dbias, const bf16 *dout, int M, int N, long ld,
                                     int rows_per_block) {
    __shared__ float part[8][33];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int n = blockIdx.x * 32 + lane;
    int r0 = blockIdx.y * rows_per_block, r1 = min(M, r0 + rows_per_block);
    float s = 0.0f;
    if (n < N)
        for (int m = r0 + warp; m < r1; m += 8) s += __bfloat162float(dout[(long)m * ld + n]);
    part[warp][lane] = s;
    __syncthreads();
    if (warp == 0 && n < N) {
        float t = 0.0f;
        for (int w = 0; w < 8; w++) t += part[w][lane];
        atomicAdd(&dbias[n], t);
    }
}

extern "C" int elm_cu_bias_backward(ElmCudaCtx *ctx, float *dbias, const ElmBf16 *dout, int M,
                                    int N, long ld, ElmError *err) {
    int rows = 256;
    dim3 grid(elm_ceil_div(N, 32), elm_ceil_div(M, rows));
    bias_backward_kernel<<<grid, 256, 0, ctx->stream>>>(dbias, (const bf16 *)dout, M, N, ld, rows);
    ELM_CU_LAUNCH("bias backward");
    return 0;
}
