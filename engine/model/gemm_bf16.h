// gemm_bf16.h — elm's bf16 matrix product for AVX512-BF16 and AMX CPUs (fp32 sums, OpenMP).
// Serves layers.c's bf16 matmuls: the forward and backward of [train] precision = bf16 on the CPU.
#ifndef ELM_GEMM_BF16_H
#define ELM_GEMM_BF16_H

#include <stddef.h>

// C (M,N) += A (M,K) @ B (K,N), the strides as elm_gemm_avx512's (gemm.h):
//   A[i][k] = A[i*ars + k*acs], B[k][j] = B[k*brs + j*bcs], C[i][j] = C[i*ldc + j].
// Every element of A and B is rounded to bf16 (nearest even) and the products are summed in
// fp32 (a bf16 x bf16 product is exact in fp32; only the sums round). One of ars, acs and one
// of brs, bcs must be 1. Each C element sums k in order on one thread: the result does not
// depend on the thread count. Returns 0, or -1 (C untouched) without AVX512-BF16 or memory.
// Runs on AMX tiles (`tdpbf16ps`, gemm_amx.h) where elm_gemm_bf16_amx_ready(), else on
// AVX512-BF16 (`vdpbf16ps`). The two group the fp32 sums differently (pairs of k in both, but
// one running sum per element on AMX against the AVX512 kernel's per-panel sums added to C), so
// they agree to fp32 rounding, not bit for bit; each alone is independent of the thread count.
int elm_gemm_bf16(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs, const float *B,
                  ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc);

// 1 when this CPU has AMX-BF16 and Linux let this process use the tiles (asked once).
int elm_gemm_bf16_amx_ready(void);

typedef enum { ELM_GEMM_BF16_AUTO, ELM_GEMM_BF16_AVX512, ELM_GEMM_BF16_AMX } ElmGemmBf16Isa;

// elm_gemm_bf16 on a chosen kernel, for tests and benches: AVX512 or AMX only (-1 where that one
// cannot run), AUTO as elm_gemm_bf16.
int elm_gemm_bf16_isa(ElmGemmBf16Isa isa, int M, int N, int K, const float *A, ptrdiff_t ars,
                      ptrdiff_t acs, const float *B, ptrdiff_t brs, ptrdiff_t bcs, float *C,
                      ptrdiff_t ldc);

#endif
