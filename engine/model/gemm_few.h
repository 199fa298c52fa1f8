// gemm_few.h — elm's fp32 product of a few rows by a weight matrix on AVX-512 (decoding's shape).
// Called by layers.c's forward matmul under MM_GEMM_MIN rows, where packing W costs more than it
// saves.
#ifndef ELM_GEMM_FEW_H
#define ELM_GEMM_FEW_H

// out (N, OC) = inp (N, C) @ W^T (+ bias), W (OC, C) with rows contiguous, every row of W read
// once from memory whatever N. Each output is one dot product in a fixed order (16 lanes of
// running fused multiply-adds over C, then a fixed tree over the lanes, then the bias), the same
// for every row, so a row's result does not depend on N, its place among the rows or the thread
// count. Returns 0, or -1 (out untouched) where the CPU lacks AVX-512F.
int elm_gemm_few(int N, int OC, int C, const float *inp, const float *W, const float *bias,
                 float *out);

// 1 when this CPU (and build) can run elm_gemm_few.
int elm_gemm_few_have(void);

#endif
