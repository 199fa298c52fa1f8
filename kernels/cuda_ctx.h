// cuda_ctx.h — the CUDA device context (stream, cuBLAS/cuBLASLt handles, workspace, timers) and
// device memory helpers for C callers.
#ifndef ELM_CUDA_CTX_H
#define ELM_CUDA_CTX_H

#include "engine/base/error.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// bf16 on the host side is its raw 16 bits (the top half of an fp32).
typedef uint16_t ElmBf16;

typedef struct ElmCudaCtx ElmCudaCtx;

// Number of usable CUDA devices: 0 when there is no device or driver (reason in err, no
// failure), -1 on a real error.
int elm_cuda_device_count(ElmError *err);

// Opens `device`: creates the stream, cuBLAS and cuBLASLt handles, a cuBLASLt workspace and
// timing events. NULL with err filled on failure.
ElmCudaCtx *elm_cuda_ctx_create(int device, ElmError *err);
void elm_cuda_ctx_free(ElmCudaCtx *ctx);
// Compute capability (e.g. 90 for H100) and multiprocessor count of the context's device.
int elm_cuda_ctx_cc(const ElmCudaCtx *ctx);
int elm_cuda_ctx_sms(const ElmCudaCtx *ctx);
// Peak device memory seen by elm_cuda_ctx_mem_sample (bytes in use = total - free).
size_t elm_cuda_ctx_peak_mem(ElmCudaCtx *ctx);
int elm_cuda_ctx_mem_sample(ElmCudaCtx *ctx, ElmError *err);

// Device memory. All copies are ordered on the context's stream; sync waits for it.
void *elm_cuda_malloc(size_t bytes, ElmError *err);
void elm_cuda_free(void *p);
int elm_cuda_h2d(ElmCudaCtx *ctx, void *dst, const void *src, size_t bytes, ElmError *err);
int elm_cuda_d2h(ElmCudaCtx *ctx, void *dst, const void *src, size_t bytes, ElmError *err);
int elm_cuda_memset(ElmCudaCtx *ctx, void *dst, int byte, size_t bytes, ElmError *err);
int elm_cuda_sync(ElmCudaCtx *ctx, ElmError *err);

// Device-event timing on the context's stream: start, then stop returns the milliseconds between.
int elm_cuda_timer_start(ElmCudaCtx *ctx, ElmError *err);
int elm_cuda_timer_stop(ElmCudaCtx *ctx, float *ms, ElmError *err);

// Host conversions (round to nearest even; NaN stays NaN).
ElmBf16 elm_bf16_from_f32(float f);
float elm_bf16_to_f32(ElmBf16 h);
void elm_bf16_from_f32_n(ElmBf16 *dst, const float *src, size_t n);
void elm_bf16_to_f32_n(float *dst, const ElmBf16 *src, size_t n);

#ifdef __cplusplus
}
#endif

#endif
