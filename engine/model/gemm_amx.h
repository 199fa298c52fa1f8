// gemm_amx.h — elm's bf16 matrix product on AMX tiles (`tdpbf16ps`, Sapphire Rapids and later).
// Called by gemm_bf16.c, which picks it over the AVX512-BF16 kernel when elm_gemm_amx_ready().
#ifndef ELM_GEMM_AMX_H
#define ELM_GEMM_AMX_H

#include <stddef.h>

// 1 when the CPU has AMX-TILE, AMX-BF16 and AVX512-BF16 and Linux granted this process the
// tile data state (arch_prctl ARCH_REQ_XCOMP_PERM, asked once per process, thread-safe).
int elm_gemm_amx_ready(void);

// elm_gemm_bf16's contract (gemm_bf16.h): C (M,N) += A (M,K) @ B (K,N), the factors rounded to
// bf16 (nearest even), fp32 sums, one of ars, acs and one of brs, bcs equal to 1. Each C element
// is summed by one thread over k in one fixed order (the tile instruction's), so the result does
// not depend on the thread count. Returns 0, or -1 (C untouched) without AMX or memory.
int elm_gemm_amx(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs, const float *B,
                 ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc);

#endif
