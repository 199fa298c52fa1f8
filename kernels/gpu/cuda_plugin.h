// cuda_plugin.h — the table of functions libelm-cuda.so (the CUDA side, cuda_plugin.c) hands to
// the `elm` binary (gpu_loader.c), which opens it only when a command needs a GPU.
//
// Keeping CUDA out of the binary: linking cudart, cuBLAS and cuBLASLt made every `elm` start at
// ~220 MB and 0.1-0.3 s even for `elm --help`; the binary now maps them only on first GPU use.
// The library holds the kernels, their C drivers (gpt2_cuda.c, decode.c, batcher_cuda.c) and
// its own copy of the elmcore code they call; it exports nothing but elm_cuda_plugin_api.
#ifndef ELM_CUDA_PLUGIN_H
#define ELM_CUDA_PLUGIN_H

#include "kernels/gpu/gpt2_cuda.h"
#include "kernels/gpu/gpu.h"
#include "kernels/gpu/batcher_cuda.h"

#include <stddef.h>

#define ELM_CUDA_PLUGIN_VERSION 1
#define ELM_CUDA_PLUGIN_SYMBOL "elm_cuda_plugin_api"
#define ELM_CUDA_PLUGIN_FILE "libelm-cuda.so"
// The structs both sides pass: their sizes must agree between the binary and the library.
#define ELM_CUDA_PLUGIN_SIZES                                                                      \
    {                                                                                              \
        sizeof(ElmError), sizeof(ElmGpt2), sizeof(ElmGenParams), sizeof(ElmGpt2CudaOptions),       \
            sizeof(ElmGpuInfo)                                                                     \
    }

typedef struct ElmCudaPluginApi {
    int version;        // ELM_CUDA_PLUGIN_VERSION
    const char *commit; // the build's git commit: the binary and the library must agree
    size_t sizes[5];    // ELM_CUDA_PLUGIN_SIZES as the library was built

    int (*gpu_query)(ElmGpuInfo *out, int cap, ElmError *err);

    ElmGpt2Cuda *(*gpt2_create)(const ElmGpt2 *host, const ElmGpt2CudaOptions *opt, ElmError *err);
    void (*gpt2_free)(ElmGpt2Cuda *g);
    int (*gpt2_upload)(ElmGpt2Cuda *g, const ElmGpt2 *host, ElmError *err);
    int (*gpt2_download)(ElmGpt2Cuda *g, ElmGpt2 *host, ElmError *err);
    int (*gpt2_forward)(ElmGpt2Cuda *g, const int *inputs, const int *targets, int B, int T,
                        float *mean_loss, ElmError *err);
    int (*gpt2_logits)(ElmGpt2Cuda *g, float *out, ElmError *err);
    int (*gpt2_zero_grad)(ElmGpt2Cuda *g, ElmError *err);
    int (*gpt2_forward_backward)(ElmGpt2Cuda *g, const int *inputs, const int *targets, int B,
                                 int T, float scale, float *mean_loss, ElmError *err);
    int (*gpt2_clip)(ElmGpt2Cuda *g, float max_norm, float *grad_norm, ElmError *err);
    int (*gpt2_update)(ElmGpt2Cuda *g, const ElmAdamW *opt, ElmError *err);
    int (*gpt2_step)(ElmGpt2Cuda *g, const ElmAdamW *opt, float max_norm, float *grad_norm,
                     ElmError *err);
    int (*gpt2_grads)(ElmGpt2Cuda *g, float *out, ElmError *err);
    int (*gpt2_sync)(ElmGpt2Cuda *g, ElmError *err);
    size_t (*gpt2_peak_mem)(ElmGpt2Cuda *g);

    ElmBatchBackend *(*batch_create)(ElmCudaCtx *ctx, const ElmGpt2 *m, const ElmGenParams *p,
                                     int eot, int slots, int cap, int use_graph, ElmError *err);
    void (*batch_stats)(const ElmBatchBackend *be, ElmBatchCudaStats *st);
    void (*batch_free)(ElmBatchBackend *be);
} ElmCudaPluginApi;

#ifdef __cplusplus
extern "C" {
#endif
// The library's one export: its table (static storage, never freed).
const ElmCudaPluginApi *elm_cuda_plugin_api(void);
#ifdef __cplusplus
}
#endif

#endif
