// train_device.h — where a training step runs: the CPU model (gpt2.h) or the GPU one
// (kernels/gpu/gpt2_cuda.h), behind one set of calls. Used by train.c and `elm bench`'s train part.
#ifndef ELM_TRAIN_DEVICE_H
#define ELM_TRAIN_DEVICE_H

#include "engine/config/config.h"
#include "engine/base/error.h"
#include "engine/model/gpt2.h"

#include <stddef.h>

struct ElmGpt2Cuda;

typedef struct ElmTrainDevice {
    ElmGpt2 *m;              // the host model: trained on the CPU, or mirrored from the GPU
    struct ElmGpt2Cuda *gpu; // NULL: the CPU
    int host_stale;          // the GPU holds newer weights than *m
    float clip_coef;         // CPU: the factor clip found, applied by the next update (1: none)
} ElmTrainDevice;

// The device [train] device/precision ask for (*use_cuda = 1: the GPU). Fails with one line
// naming the key when the GPU is asked for and cannot be had, or bf16 would fall to a CPU
// without AVX512-BF16. On the CPU, elm_train_device_open sets the model's precision.
int elm_train_device_choose(const ElmConfig *cfg, int *use_cuda, ElmError *err);
// Binds the device to host model m; for the GPU, creates the device model from it (weights,
// AdamW moments, step) with room for (B, T) batches ([model] matmul, [train] recompute).
int elm_train_device_open(ElmTrainDevice *d, ElmGpt2 *m, const ElmConfig *cfg, int use_cuda, int B,
                          int T, ElmError *err);
void elm_train_device_close(ElmTrainDevice *d);

int elm_train_device_zero_grad(ElmTrainDevice *d, ElmError *err);
// Forward and backward of scale * mean loss, accumulated into the gradients.
int elm_train_device_forward_backward(ElmTrainDevice *d, const int *in, const int *tg, int B, int T,
                                      float scale, float *loss, ElmError *err);
// Forward only (evaluation).
int elm_train_device_forward(ElmTrainDevice *d, const int *in, const int *tg, int B, int T,
                             float *loss, ElmError *err);
// The global gradient norm before clipping, clipping to max_norm when above it (> 0). On the
// CPU the clip's factor is applied by the update's pass (elm_gpt2_adamw_step_scaled).
int elm_train_device_clip(ElmTrainDevice *d, float max_norm, float *norm, ElmError *err);
// One AdamW step.
int elm_train_device_update(ElmTrainDevice *d, const ElmAdamW *opt, ElmError *err);
// Brings *m up to date (weights, moments, adam_t) before a checkpoint or a sample.
int elm_train_device_to_host(ElmTrainDevice *d, ElmError *err);
// Waits for the device to finish; the GPU's peak memory in use so far (0 on the CPU).
int elm_train_device_sync(ElmTrainDevice *d, ElmError *err);
size_t elm_train_device_peak_mem(ElmTrainDevice *d);

#endif
