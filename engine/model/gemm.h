// gemm.h — elm's own fp32 matrix product for AVX-512 and AVX2+FMA CPUs (register-blocked, OpenMP).
// Called by layers.c's matmul loops, which fall back to portable loops on other CPUs.
#ifndef ELM_GEMM_H
#define ELM_GEMM_H

#include <stddef.h>

// C (M,N) += A (M,K) @ B (K,N) with element strides:
//   A[i][k] = A[i*ars + k*acs], B[k][j] = B[k*brs + j*bcs], C[i][j] = C[i*ldc + j].
// One of ars, acs must be 1. Each C element sums k in order 0..K-1 on one thread, so the
// result does not depend on the number of threads. Returns 0, or -1 without the instructions.
// elm_gemm runs the best one this CPU has; the tests call each by name (elm_gemm_avx2 on an
// AVX-512 CPU checks the path an AVX2-only CPU takes).
int elm_gemm(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs, const float *B,
             ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc);
int elm_gemm_avx512(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs,
                    const float *B, ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc);
int elm_gemm_avx2(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs, const float *B,
                  ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc);

// 1 when this CPU (and build) can run elm_gemm_avx512 / elm_gemm_avx2 / either (elm_gemm).
int elm_gemm_have_avx512(void);
int elm_gemm_have_avx2(void);
int elm_gemm_have(void);
// What elm_gemm runs here: "avx512", "avx2" or "loops" (layers.c's portable loops).
const char *elm_gemm_isa_name(void);

#endif
