// adamw.h — GPU optimizer: AdamW on fp32 master weights writing the bf16 working copy, and the
// global gradient norm with PyTorch-style clipping. Called by gpt2_cuda and tests/gpu/test_adamw.c;
// reference: gpt2.h elm_gpt2_adamw_step / elm_gpt2_clip_grad.
#ifndef ELM_CU_ADAMW_H
#define ELM_CU_ADAMW_H

#include "kernels/cuda_ctx.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// One AdamW step over n parameters, torch.optim.AdamW's formula (t = step number, from 1):
//   g = grad * (*grad_scale if grad_scale else 1)
//   p -= lr * wd * p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps); work = bf16(p) (if work)
// grad_scale is a DEVICE pointer (the clip factor from elm_cu_grad_norm), so clipping needs no
// host round trip.
int elm_cu_adamw(ElmCudaCtx *ctx, float *master, ElmBf16 *work, const float *grad, float *m,
                 float *v, size_t n, float lr, float beta1, float beta2, float eps,
                 float weight_decay, long long t, const float *grad_scale, ElmError *err);

// Scratch floats elm_cu_grad_norm needs.
#define ELM_CU_NORM_SCRATCH 1024

// Global L2 norm of grad (n fp32) into out[0] and the clip factor into out[1]:
// max_norm / (norm + 1e-6) when max_norm > 0 and norm > max_norm, else 1 (PyTorch's
// clip_grad_norm_). out (2 floats) and scratch (ELM_CU_NORM_SCRATCH floats) are device
// memory; the sum is in a fixed order, so it is the same on every run.
int elm_cu_grad_norm(ElmCudaCtx *ctx, float *out, float *scratch, const float *grad, size_t n,
                     float max_norm, ElmError *err);

// Copies fp32 to bf16 on the device (the working weights from the master weights).
int elm_cu_f32_to_bf16(ElmCudaCtx *ctx, ElmBf16 *dst, const float *src, size_t n, ElmError *err);

#ifdef __cplusplus
}
#endif

#endif
