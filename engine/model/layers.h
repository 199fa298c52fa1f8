// layers.h — GPT-2's layers as forward/backward pairs on raw fp32 arrays (OpenMP, vectorised).
// Called by gpt2.c; the CPU reference that kernels/*.cu are checked against.
//
// Conventions (stable; the CUDA kernels follow them):
// - Shapes in the comments; all arrays are dense, row-major, contiguous, float32.
// - Linear weights are (OC, C) as in llm.c and PyTorch's nn.Linear: out = inp @ W^T + b.
//   Hugging Face GPT-2 stores its Conv1D weights as [in, out] = [C, OC]; hf.c transposes them
//   on import and export, so nothing else in elm ever sees the Conv1D layout.
// - Backward functions ACCUMULATE (+=) into every gradient they write (dinp, dweight, dbias),
//   so the caller zeroes gradients once and may accumulate over micro-batches. The only
//   exceptions are scratch arrays, which say so.
// - No function allocates memory; scratch comes from the caller.
// - Threads: the OpenMP default (omp_set_num_threads) chosen by the caller; every reduction is
//   split statically, so results are bit-identical run to run for the same thread count.
#ifndef ELM_LAYERS_H
#define ELM_LAYERS_H

#ifdef __cplusplus
extern "C" {
#endif

// Loops with less work than this (in multiply-adds, roughly) run on one thread: a parallel
// region costs more than it saves there, badly so on a loaded machine. Every output element is
// computed by one thread in a fixed order, so results do not depend on the thread count.
#define ELM_PAR_MIN 65536

// GPT-2's layer-norm epsilon (HF config `layer_norm_epsilon`; hf.c rejects any other value).
#define ELM_LN_EPS 1e-5f

// Token + position embedding.
// out (B,T,C) = wte[inp[b,t]] (V,C) + wpe[t] (maxT,C); inp (B,T) token ids in [0, V).
void elm_encoder_forward(float *out, const int *inp, const float *wte, const float *wpe, int B,
                         int T, int C);
// dwte (V,C) += dout rows scattered by token; dwpe (maxT,C) += dout summed over B.
void elm_encoder_backward(float *dwte, float *dwpe, const float *dout, const int *inp, int B, int T,
                          int C);

// Layer norm over the last dimension, eps = ELM_LN_EPS.
// out (B,T,C), mean (B,T), rstd (B,T) = 1/sqrt(var + eps) (biased variance), inp (B,T,C),
// weight (C), bias (C).
void elm_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *weight, const float *bias, int B, int T, int C);
// dinp (B,T,C) +=, dweight (C) +=, dbias (C) +=; uses the mean/rstd saved by the forward.
void elm_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, const float *mean,
                            const float *rstd, int B, int T, int C);

// Matrix product with optional bias: out (B,T,OC) = inp (B,T,C) @ weight (OC,C)^T + bias (OC).
// bias may be NULL (the tied LM head has none).
void elm_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int B,
                        int T, int C, int OC);
// dinp (B,T,C) += dout @ weight; dweight (OC,C) += dout^T @ inp; dbias (OC) += sum of dout
// over (B,T). dinp may be NULL (not needed) and dbias may be NULL (no bias).
void elm_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, int B, int T, int C, int OC);

// Multi-head causal self-attention over packed q,k,v.
// inp (B,T,3C) holds [q | k | v] per position, each C = NH heads of hs = C/NH channels.
// att (B,NH,T,T): softmax((q k^T) / sqrt(hs)) with key positions > query position masked
// (entries above the diagonal are written as 0). out (B,T,C) = att @ v, heads concatenated.
void elm_attention_forward(float *out, float *att, const float *inp, int B, int T, int C, int NH);
// dinp (B,T,3C) +=; datt (B,NH,T,T) is scratch (overwritten, not accumulated); uses att saved
// by the forward.
void elm_attention_backward(float *dinp, float *datt, const float *dout, const float *inp,
                            const float *att, int B, int T, int C, int NH);

// GELU, tanh approximation (HF `gelu_new`):
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). out (N), inp (N).
void elm_gelu_forward(float *out, const float *inp, int N);
// dinp (N) += gelu'(inp) * dout.
void elm_gelu_backward(float *dinp, const float *inp, const float *dout, int N);

// out (N) = inp1 + inp2.
void elm_residual_forward(float *out, const float *inp1, const float *inp2, int N);
// dinp1 (N) += dout; dinp2 (N) += dout.
void elm_residual_backward(float *dinp1, float *dinp2, const float *dout, int N);

// Fused softmax + cross-entropy over V classes for BT = B*T rows.
// probs (BT,V) = softmax(logits (BT,V)); losses (BT) = -log probs[target]. A target < 0 is
// ignored: its loss is 0 (and its row of probs is still written). probs may alias logits.
void elm_crossentropy_forward(float *losses, float *probs, const float *logits, const int *targets,
                              int BT, int V);
// dlogits (BT,V) = (probs - onehot(target)) * dlosses[row]  (WRITTEN, not accumulated; rows
// with target < 0 get 0). dlogits may alias probs.
void elm_crossentropy_backward(float *dlogits, const float *probs, const int *targets,
                               const float *dlosses, int BT, int V);

// The two implementations behind elm_matmul_*: elm's own OpenMP/SIMD loops (always built)
// and cblas_sgemm (built when ELM_HAVE_BLAS; otherwise these fall back to the loops).
// elm_matmul_forward/backward are the loops, measured faster (docs/model.md); ElmGpt2's
// `use_blas` picks per model, for benchmarks and the tests that compare the two.
// The loops use engine/model/gemm.c's AVX-512 kernel, else its AVX2+FMA one, and the portable ones
// (plain C, OpenMP, compiler-vectorised) elsewhere; the portable ones are public for the tests.
void elm_matmul_forward_portable(float *out, const float *inp, const float *weight,
                                 const float *bias, int B, int T, int C, int OC);
void elm_matmul_backward_portable(float *dinp, float *dweight, float *dbias, const float *dout,
                                  const float *inp, const float *weight, int B, int T, int C,
                                  int OC);
void elm_matmul_forward_loops(float *out, const float *inp, const float *weight, const float *bias,
                              int B, int T, int C, int OC);
void elm_matmul_backward_loops(float *dinp, float *dweight, float *dbias, const float *dout,
                               const float *inp, const float *weight, int B, int T, int C, int OC);
// bf16 matrix products (inputs rounded to bf16, fp32 sums; gemm_bf16.h) for [train] precision =
// bf16; the bias and dbias stay fp32. The fp32 loops where the CPU lacks AVX512-BF16.
void elm_matmul_forward_bf16(float *out, const float *inp, const float *weight, const float *bias,
                             int B, int T, int C, int OC);
void elm_matmul_backward_bf16(float *dinp, float *dweight, float *dbias, const float *dout,
                              const float *inp, const float *weight, int B, int T, int C, int OC);
void elm_matmul_forward_blas(float *out, const float *inp, const float *weight, const float *bias,
                             int B, int T, int C, int OC);
void elm_matmul_backward_blas(float *dinp, float *dweight, float *dbias, const float *dout,
                              const float *inp, const float *weight, int B, int T, int C, int OC);
// 1 when a BLAS was compiled in.
int elm_matmul_have_blas(void);

#ifdef __cplusplus
}
#endif

#endif
