// qmatmul.h — linear layers with reduced-precision weights (bf16, int8) for KV-cache decoding.
// Holds the packed weight format, its conversion from fp32 and the matrix product in three
// implementations picked at run time: AVX512-BF16, AVX512-VNNI / AVX-512F; AVX2+FMA; portable C.
//
// out (N, OC) = inp (N, K) @ W^T + bias, W (OC, K) packed once from the fp32 master:
// - bf16: W and each row of inp rounded to bfloat16 (round to nearest even), products summed in
//   fp32 (`vdpbf16ps`). Each factor has a relative error <= 2^-9, so every product <= ~2^-8.
// - int8 (ELM_QMM_INT8_ACT8): W per output channel, w_q = round(w / s_o), s_o = max|w_o| / 127;
//   each row of inp per row, x_q = round(x / s_r), s_r = max|x_r| / 127; the integer dot
//   product is exact (`vpdpbusd` on x_q + 128, minus 128 * sum(w_q)), then scaled by s_o s_r.
// - int8 (ELM_QMM_INT8_DEQ): the same packed W, widened to fp32 in registers and multiplied
//   with the fp32 inp (weight-only quantization: |w - s_o w_q| <= s_o / 2 per element).
// Every output element is summed by one thread in a fixed order: results do not depend on the
// thread count or on N (a row gives the same output alone or in a batch).
#ifndef ELM_QMATMUL_H
#define ELM_QMATMUL_H

#include "engine/base/error.h"

#include <stddef.h>
#include <stdint.h>

enum { ELM_QMM_FP32 = 0, ELM_QMM_BF16 = 1, ELM_QMM_INT8 = 2 };

// How an int8 matrix meets its activations (see above). ACT8 is the default, measured faster
// (docs/model.md); DEQ stays for the benches and the tests.
enum { ELM_QMM_INT8_ACT8 = 0, ELM_QMM_INT8_DEQ = 1 };

// Instruction sets, in increasing order; elm_qmatmul_forward uses the best one the CPU has, at
// most `isa_max` (ELM_QMM_PORTABLE forces the portable C loops, ELM_QMM_AVX2 the AVX2+FMA
// kernels on an AVX-512 CPU, ELM_QMM_BEST allows all).
enum { ELM_QMM_PORTABLE = 0, ELM_QMM_AVX2 = 1, ELM_QMM_AVX512 = 2, ELM_QMM_BEST = ELM_QMM_AVX512 };

// One packed weight matrix (OC, K); rows are padded with zeros to Kp (a multiple of 64).
typedef struct ElmQMat {
    int fmt; // ELM_QMM_BF16 or ELM_QMM_INT8
    int OC, K, Kp;
    uint16_t *bf16; // (OC, Kp) bf16 bits
    int8_t *q;      // (OC, Kp) int8
    float *scale;   // (OC) s_o (int8)
    int32_t *qsum;  // (OC) sum over k of w_q (int8)
} ElmQMat;

// Packs W (OC, K) fp32 into q (fmt bf16 or int8). q is overwritten; free with elm_qmatmul_free.
int elm_qmatmul_pack(ElmQMat *q, int fmt, const float *w, int OC, int K, ElmError *err);
void elm_qmatmul_free(ElmQMat *q);

// Bytes of scratch elm_qmatmul_forward needs for N rows of K inputs (aligned to 64 inside).
size_t elm_qmatmul_scratch_bytes(int N, int K);

// out (N, OC) = inp (N, K) @ W^T + bias (OC, may be NULL). int8_mode picks the int8 variant;
// scratch holds elm_qmatmul_scratch_bytes(N, K) bytes.
void elm_qmatmul_forward(float *out, const float *inp, const ElmQMat *w, const float *bias, int N,
                         int int8_mode, int isa_max, void *scratch);

// The implementation elm_qmatmul_forward runs for a format and variant on this CPU.
int elm_qmatmul_isa(int fmt, int int8_mode, int isa_max);
// Its name: "avx512bf16", "avx512vnni", "avx512f", "avx2" or "portable".
const char *elm_qmatmul_isa_name(int fmt, int int8_mode, int isa_max);

// fp32 -> bf16 bits, round to nearest even (NaN stays NaN); bf16 -> fp32 is exact.
uint16_t elm_qmatmul_to_bf16(float x);
float elm_qmatmul_from_bf16(uint16_t b);

// The AVX-512 kernels (qmatmul_avx512.c): rows r of xb/xq/xf are the prepared activations
// (N, Kp); each writes out (N, OC) without bias. Callers check the CPU first.
void elm_qmatmul_avx512_bf16(float *out, const uint16_t *xb, const ElmQMat *w, int N);
void elm_qmatmul_avx512_act8(float *out, const uint8_t *xq, const float *xs, const ElmQMat *w,
                             int N);
void elm_qmatmul_avx512_deq(float *out, const float *xf, const ElmQMat *w, int N);

// The AVX2+FMA kernels (qmatmul_avx2.c), the same contract as the AVX-512 ones.
void elm_qmatmul_avx2_bf16(float *out, const uint16_t *xb, const ElmQMat *w, int N);
void elm_qmatmul_avx2_act8(float *out, const uint8_t *xq, const float *xs, const ElmQMat *w, int N);
void elm_qmatmul_avx2_deq(float *out, const float *xf, const ElmQMat *w, int N);

#endif
