// gpt2_cuda.h — GPT-2 training on one CUDA GPU in bf16 mixed precision (fp32 master weights,
// gradients and AdamW moments; bf16 weights and activations), over ElmGpt2's parameter layout.
// Called by the training loop (`elm train`, device = cuda), bench/train_gpu and tests/gpu.
//
// Checkpoints stay the CPU's: elm_gpt2_cuda_download copies weights, AdamW moments and step into
// an ElmGpt2, which hf.h saves as fp32 safetensors; elm_gpt2_cuda_create uploads from one. So a
// GPU run resumes on the CPU and vice versa. Without CUDA every call fails with "built without
// CUDA" (gpu_none.c).
#ifndef ELM_GPT2_CUDA_H
#define ELM_GPT2_CUDA_H

#include "engine/base/error.h"
#include "engine/model/gpt2.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- device selection (the one function the training loop needs to decide) ---------------------
// device: "cpu" | "cuda" | "auto"; precision: "fp32" | "bf16" ([train] keys). Sets *use_cuda:
//   cpu  -> 0 (precision bf16 is an error: the CPU path is fp32)
//   cuda -> 1, or an error when built without CUDA, when no device is present, or with fp32
//           (the GPU path is bf16 mixed precision)
//   auto -> 1 when built with CUDA, a device is present and precision is bf16; else 0
// The messages name the key ("[train] device = cuda: ...").
int elm_gpt2_cuda_select(const char *device, const char *precision, int *use_cuda, ElmError *err);

typedef struct ElmGpt2Cuda ElmGpt2Cuda;

typedef struct ElmGpt2CudaOptions {
    int device;            // CUDA device index (0)
    int matmul;            // 0 auto, 1 elm's kernels, 2 cuBLASLt ([model] matmul)
    int attention_version; // 0 = best (see kernels/attention.h)
    int recompute;         // 1: keep no GELU outputs; recompute them in the backward (saves
                           //    4*B*T*C bf16 per layer)
    int max_B, max_T;      // the largest batch the activations are sized for
} ElmGpt2CudaOptions;

// Maps "[model] matmul" (auto|elm|cublas) to ElmGpt2CudaOptions.matmul.
int elm_gpt2_cuda_matmul_from_name(const char *name);

// Allocates the GPU model for host's config and uploads its weights, AdamW moments (if any)
// and step count.
ElmGpt2Cuda *elm_gpt2_cuda_create(const ElmGpt2 *host, const ElmGpt2CudaOptions *opt,
                                  ElmError *err);
void elm_gpt2_cuda_free(ElmGpt2Cuda *g);

// Uploads weights, moments and step from host (same config), e.g. after loading a checkpoint.
int elm_gpt2_cuda_upload(ElmGpt2Cuda *g, const ElmGpt2 *host, ElmError *err);
// Downloads fp32 master weights, AdamW moments (allocated on host if needed) and adam_t into
// host, ready for hf.h / the checkpoint writer.
int elm_gpt2_cuda_download(ElmGpt2Cuda *g, ElmGpt2 *host, ElmError *err);

// Forward only (evaluation): inputs/targets are host arrays (B, T), B <= max_B, T <= max_T.
// With targets, *mean_loss = mean loss over targets >= 0; without, only logits are computed.
int elm_gpt2_cuda_forward(ElmGpt2Cuda *g, const int *inputs, const int *targets, int B, int T,
                          float *mean_loss, ElmError *err);
// Logits of the last forward, (B, T, V) fp32 on the host (converted from bf16). Only valid
// after elm_gpt2_cuda_forward (a training step overwrites them with gradients).
int elm_gpt2_cuda_logits(ElmGpt2Cuda *g, float *out, ElmError *err);

// Gradients to zero.
int elm_gpt2_cuda_zero_grad(ElmGpt2Cuda *g, ElmError *err);
// Forward + backward of scale * mean loss, ACCUMULATED into the gradients (scale 1/k for each
// of k micro-batches). The classifier is fused: logits -> loss -> dlogits in one pass.
int elm_gpt2_cuda_forward_backward(ElmGpt2Cuda *g, const int *inputs, const int *targets, int B,
                                   int T, float scale, float *mean_loss, ElmError *err);
// The optimizer step in two halves, so the caller can refuse a non-finite norm before any
// weight changes:
// elm_gpt2_cuda_clip: the global gradient norm (into *grad_norm, before clipping; waits for the
// GPU) and the clip factor max_norm / (norm + 1e-6) when norm > max_norm > 0, kept on the GPU.
int elm_gpt2_cuda_clip(ElmGpt2Cuda *g, float max_norm, float *grad_norm, ElmError *err);
// elm_gpt2_cuda_update: one AdamW step (t = ++adam_t, decay on tensors with decay = 1, as
// elm_gpt2_adamw_step) on the gradients scaled by the last clip factor (1 without a clip call).
int elm_gpt2_cuda_update(ElmGpt2Cuda *g, const ElmAdamW *opt, ElmError *err);
// Both: clip to max_norm (<= 0: no clipping), then update. *grad_norm may be NULL.
int elm_gpt2_cuda_step(ElmGpt2Cuda *g, const ElmAdamW *opt, float max_norm, float *grad_norm,
                       ElmError *err);
// fp32 gradients (num_parameters, ElmGpt2's layout) to the host.
int elm_gpt2_cuda_grads(ElmGpt2Cuda *g, float *out, ElmError *err);
// Waits for the GPU; peak device memory in use seen so far (bytes, whole device).
int elm_gpt2_cuda_sync(ElmGpt2Cuda *g, ElmError *err);
size_t elm_gpt2_cuda_peak_mem(ElmGpt2Cuda *g);

#ifdef __cplusplus
}
#endif

#endif
