// train_device.c — each call is the CPU model's elm_gpt2_* function or its gpt2_cuda.h
// counterpart. precision = bf16 is mixed precision with fp32 master weights and moments on
// either: bf16 activations and products on the GPU, bf16 matrix products on the CPU.
#include "engine/train/train_device.h"
#include "engine/model/bf16.h"
#include "kernels/gpu/gpt2_cuda.h"
#include "kernels/gpu/gpu.h"

#include <stdio.h>
#include <string.h>

int elm_train_device_choose(const ElmConfig *cfg, int *use_cuda, ElmError *err) {
    if (elm_gpt2_cuda_select(elm_cfg_str(cfg, "train.device"), elm_cfg_str(cfg, "train.precision"),
                             use_cuda, err))
        return -1;
    if (*use_cuda || elm_cfg_enum(cfg, "train.precision") != 1 || elm_bf16_cpu_has()) return 0;
    // bf16 on the CPU, which lacks the instruction.
    if (strcmp(elm_cfg_str(cfg, "train.device"), "auto") != 0)
        return elm_err(err, "[train] precision = bf16 with device = cpu needs AVX512-BF16 "
                            "(vdpbf16ps), which this CPU lacks; set train.precision = fp32");
    ElmGpuInfo info;
    ElmError why = {{0}};
    if (!elm_gpu_compiled())
        snprintf(why.msg, sizeof why.msg, "built without CUDA");
    else
        elm_gpu_query(&info, 1, &why);
    return elm_err(err,
                   "[train] precision = bf16: device = auto found no CUDA GPU (%s) and this CPU "
                   "lacks AVX512-BF16 (vdpbf16ps); set train.precision = fp32",
                   why.msg);
}

int elm_train_device_open(ElmTrainDevice *d, ElmGpt2 *m, const ElmConfig *cfg, int use_cuda, int B,
                          int T, ElmError *err) {
    memset(d, 0, sizeof *d);
    d->m = m;
    d->clip_coef = 1.0f;
    if (!use_cuda) {
        m->precision = elm_cfg_enum(cfg, "train.precision") == 1 ? ELM_GPT2_BF16 : ELM_GPT2_FP32;
        return 0;
    }
    ElmGpt2CudaOptions o = {0};
    o.matmul = elm_gpt2_cuda_matmul_from_name(elm_cfg_str(cfg, "model.matmul"));
    o.recompute = elm_cfg_bool(cfg, "train.recompute");
    o.max_B = B, o.max_T = T;
    if (!(d->gpu = elm_gpt2_cuda_create(m, &o, err))) {
        elm_err_prefix(err, "[train] device = cuda");
        return -1;
    }
    return 0;
}

void elm_train_device_close(ElmTrainDevice *d) {
    elm_gpt2_cuda_free(d->gpu);
    d->gpu = NULL;
}

int elm_train_device_zero_grad(ElmTrainDevice *d, ElmError *err) {
    return d->gpu ? elm_gpt2_cuda_zero_grad(d->gpu, err) : elm_gpt2_zero_grad(d->m, err);
}

int elm_train_device_forward_backward(ElmTrainDevice *d, const int *in, const int *tg, int B, int T,
                                      float scale, float *loss, ElmError *err) {
    if (d->gpu) {
        d->host_stale = 1;
        return elm_gpt2_cuda_forward_backward(d->gpu, in, tg, B, T, scale, loss, err);
    }
    if (elm_gpt2_forward(d->m, in, tg, B, T, err)) return -1;
    *loss = d->m->mean_loss;
    return elm_gpt2_backward(d->m, scale, err);
}

int elm_train_device_forward(ElmTrainDevice *d, const int *in, const int *tg, int B, int T,
                             float *loss, ElmError *err) {
    if (d->gpu) return elm_gpt2_cuda_forward(d->gpu, in, tg, B, T, loss, err);
    if (elm_gpt2_forward(d->m, in, tg, B, T, err)) return -1;
    *loss = d->m->mean_loss;
    return 0;
}

int elm_train_device_clip(ElmTrainDevice *d, float max_norm, float *norm, ElmError *err) {
    if (d->gpu) return elm_gpt2_cuda_clip(d->gpu, max_norm, norm, err);
    *norm = elm_gpt2_grad_norm(d->m);
    d->clip_coef = elm_gpt2_clip_coef(*norm, max_norm);
    return 0;
}

int elm_train_device_update(ElmTrainDevice *d, const ElmAdamW *opt, ElmError *err) {
    if (d->gpu) return elm_gpt2_cuda_update(d->gpu, opt, err);
    float coef = d->clip_coef;
    d->clip_coef = 1.0f;
    return elm_gpt2_adamw_step_scaled(d->m, opt, coef, err);
}

int elm_train_device_to_host(ElmTrainDevice *d, ElmError *err) {
    if (!d->gpu || !d->host_stale) return 0;
    if (elm_gpt2_cuda_download(d->gpu, d->m, err)) return -1;
    d->host_stale = 0;
    return 0;
}

int elm_train_device_sync(ElmTrainDevice *d, ElmError *err) {
    return d->gpu ? elm_gpt2_cuda_sync(d->gpu, err) : 0;
}

size_t elm_train_device_peak_mem(ElmTrainDevice *d) {
    return d->gpu ? elm_gpt2_cuda_peak_mem(d->gpu) : 0;
}
