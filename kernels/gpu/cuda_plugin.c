// cuda_plugin.c — libelm-cuda.so's export: the table of the CUDA side's entry points (see
// cuda_plugin.h), filled with the real functions of gpt2_cuda.c, batcher_cuda.c and gpu_info.cu.
#include "kernels/gpu/cuda_plugin.h"

extern const char elm_git_commit[];

static const ElmCudaPluginApi api = {
    .version = ELM_CUDA_PLUGIN_VERSION,
    .commit = elm_git_commit,
    .sizes = ELM_CUDA_PLUGIN_SIZES,
    .gpu_query = elm_gpu_query,
    .gpt2_create = elm_gpt2_cuda_create,
    .gpt2_free = elm_gpt2_cuda_free,
    .gpt2_upload = elm_gpt2_cuda_upload,
    .gpt2_download = elm_gpt2_cuda_download,
    .gpt2_forward = elm_gpt2_cuda_forward,
    .gpt2_logits = elm_gpt2_cuda_logits,
    .gpt2_zero_grad = elm_gpt2_cuda_zero_grad,
    .gpt2_forward_backward = elm_gpt2_cuda_forward_backward,
    .gpt2_clip = elm_gpt2_cuda_clip,
    .gpt2_update = elm_gpt2_cuda_update,
    .gpt2_step = elm_gpt2_cuda_step,
    .gpt2_grads = elm_gpt2_cuda_grads,
    .gpt2_sync = elm_gpt2_cuda_sync,
    .gpt2_peak_mem = elm_gpt2_cuda_peak_mem,
    .batch_create = elm_batch_cuda_create,
    .batch_stats = elm_batch_cuda_stats,
    .batch_free = elm_batch_cuda_free,
};

const ElmCudaPluginApi *elm_cuda_plugin_api(void) {
    return &api;
}
