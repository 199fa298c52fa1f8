// gpu_none.c — the GPU API when elm is built without CUDA: no devices, and a GPU model that
// refuses every call. Replaced by gpu_info.cu and the CUDA half of gpt2_cuda.c in CUDA builds.
#include "kernels/gpu/gpu.h"

int elm_gpu_compiled(void) {
    return 0;
}

const char *elm_gpu_library(void) {
    return NULL;
}

int elm_gpu_query(ElmGpuInfo *out, int cap, ElmError *err) {
    (void)out, (void)cap;
    elm_err(err, "built without CUDA");
    return 0;
}

// ---- the GPU model (gpt2_cuda.h) without CUDA: every call is an error ---------------------------
#include "kernels/gpu/gpt2_cuda.h"

#define NO_CUDA(err) elm_err(err, "GPU model: built without CUDA")

ElmGpt2Cuda *elm_gpt2_cuda_create(const ElmGpt2 *host, const ElmGpt2CudaOptions *opt,
                                  ElmError *err) {
    (void)host, (void)opt;
    NO_CUDA(err);
    return NULL;
}

void elm_gpt2_cuda_free(ElmGpt2Cuda *g) {
    (void)g;
}

int elm_gpt2_cuda_upload(ElmGpt2Cuda *g, const ElmGpt2 *host, ElmError *err) {
    (void)g, (void)host;
    return NO_CUDA(err);
}

int elm_gpt2_cuda_download(ElmGpt2Cuda *g, ElmGpt2 *host, ElmError *err) {
    (void)g, (void)host;
    return NO_CUDA(err);
}

int elm_gpt2_cuda_forward(ElmGpt2Cuda *g, const int *inputs, const int *targets, int B, int T,
                          float *mean_loss, ElmError *err) {
    (void)g, (void)inputs, (void)targets, (void)B, (void)T, (void)mean_loss;
    return NO_CUDA(err);
}

int elm_gpt2_cuda_logits(ElmGpt2Cuda *g, float *out, ElmError *err) {
    (void)g, (void)out;
    return NO_CUDA(err);
}

int elm_gpt2_cuda_zero_grad(ElmGpt2Cuda *g, ElmError *err) {
    (void)g;
    return NO_CUDA(err);
}

int elm_gpt2_cuda_forward_backward(ElmGpt2Cuda *g, const int *inputs, const int *targets, int B,
                                   int T, float scale, float *mean_loss, ElmError *err) {
    (void)g, (void)inputs, (void)targets, (void)B, (void)T, (void)scale, (void)mean_loss;
    return NO_CUDA(err);
}

int elm_gpt2_cuda_step(ElmGpt2Cuda *g, const ElmAdamW *opt, float max_norm, float *grad_norm,
                       ElmError *err) {
    (void)g, (void)opt, (void)max_norm, (void)grad_norm;
    return NO_CUDA(err);
}

int elm_gpt2_cuda_clip(ElmGpt2Cuda *g, float max_norm, float *grad_norm, ElmError *err) {
    (void)g, (void)max_norm, (void)grad_norm;
    return NO_CUDA(err);
}

int elm_gpt2_cuda_update(ElmGpt2Cuda *g, const ElmAdamW *opt, ElmError *err) {
    (void)g, (void)opt;
    return NO_CUDA(err);
}

int elm_gpt2_cuda_grads(ElmGpt2Cuda *g, float *out, ElmError *err) {
    (void)g, (void)out;
    return NO_CUDA(err);
}

int elm_gpt2_cuda_sync(ElmGpt2Cuda *g, ElmError *err) {
    (void)g;
    return NO_CUDA(err);
}

size_t elm_gpt2_cuda_peak_mem(ElmGpt2Cuda *g) {
    (void)g;
    return 0;
}
