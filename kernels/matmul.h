// matmul.h — bf16 matrix products with fp32 accumulation on the GPU: elm's own tensor-core kernels
// and a cuBLASLt path, with fused bias / GELU epilogues.
#ifndef ELM_CU_MATMUL_H
#define ELM_CU_MATMUL_H

#include "kernels/cuda_ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

// Row-major, like the CPU code: C (M, N) = op(A) (M, K) * op(B) (K, N), where
// op(A) = A stored (M, K) with row stride lda, or with trans_a A stored (K, M);
// op(B) = B stored (K, N) with row stride ldb, or with trans_b B stored (N, K).
// Epilogue, in this order: + bias[n] (bf16, may be NULL); when pre_gelu is set, pre_gelu = that
// value (bf16, stride ldc) and the output is gelu(value); when dgelu_pre is set, the output is
// multiplied by gelu'(dgelu_pre[m][n]) (stride ldc: the GELU backward fused into a dinp
// product; bf16 output, no bias, no accumulate); with accumulate, C += the result.
// C is bf16 or, with c_fp32, fp32 (parameter gradients).
typedef struct ElmCuMatmul {
    int M, N, K;
    int trans_a, trans_b;
    const ElmBf16 *a;
    long lda;
    const ElmBf16 *b;
    long ldb;
    void *c;
    long ldc;
    int c_fp32;
    int accumulate;
    const ElmBf16 *bias;
    ElmBf16 *pre_gelu;
    const ElmBf16 *dgelu_pre;
} ElmCuMatmul;

// Which implementation: `[model] matmul = elm | cublas | auto`.
typedef enum ElmCuMatmulImpl {
    ELM_CU_MATMUL_AUTO = 0,
    ELM_CU_MATMUL_ELM,
    ELM_CU_MATMUL_CUBLAS
} ElmCuMatmulImpl;

// Versions of elm's own kernel, kept side by side (llm.c dev/cuda habit):
//   1: shared-memory tiled FMA, one fp32 accumulator per thread — the simple reference
//   2: mma.sync m16n8k16 bf16 tensor cores, ldmatrix, 3-stage cp.async pipeline, 128x128x32 tiles
//   3: Hopper (sm_90a) wgmma + TMA, 128x128x64 tiles, 4 stages — forward layout (trans_a = 0,
//      trans_b = 1) on compute capability 9.0 only; anything else runs version 2.
// version 0 = the best measured one (2 until version 3 is checked and timed: docs/cuda.md).
#define ELM_CU_MATMUL_VERSIONS 3

int elm_cu_matmul(ElmCudaCtx *ctx, const ElmCuMatmul *mm, ElmCuMatmulImpl impl, ElmError *err);
int elm_cu_matmul_version(ElmCudaCtx *ctx, const ElmCuMatmul *mm, int version, ElmError *err);
int elm_cu_matmul_cublaslt(ElmCudaCtx *ctx, const ElmCuMatmul *mm, ElmError *err);

// dbias[n] (fp32) += sum over rows m of dout[m][n] (bf16, row stride ld): the bias gradient.
int elm_cu_bias_backward(ElmCudaCtx *ctx, float *dbias, const ElmBf16 *dout, int M, int N, long ld,
                         ElmError *err);

#ifdef __cplusplus
}
#endif

#endif
