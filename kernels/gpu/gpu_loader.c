// gpu_loader.c — gpu.h, gpt2_cuda.h and batcher_cuda.h for the `elm` binary of a CUDA build:
// each call opens libelm-cuda.so on first use (dlopen) and forwards to its table (see
// cuda_plugin.h). So `elm --help`, `elm clean` or a CPU `elm train` never map the CUDA
// libraries. The library is looked for at $ELM_CUDA_LIB, then beside the binary, then in
// ../lib/ from it. If it is missing or from another build, there is no GPU: elm_gpu_query
// reports why, every other call fails with that reason.
//
// The loaded library is process-wide state set once (pthread_once) and never changed after.
#include "kernels/gpu/cuda_plugin.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const char elm_git_commit[];

static pthread_once_t plugin_once = PTHREAD_ONCE_INIT;
static const ElmCudaPluginApi *plugin;
static char plugin_why[600];
static char plugin_path[PATH_MAX + 64];

static void *try_open(const char *path, char *tried, size_t cap) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h) snprintf(plugin_path, sizeof plugin_path, "%s", path);
    if (!h) {
        size_t n = strlen(tried);
        snprintf(tried + n, cap - n, "%s%s", n ? "; " : "", dlerror());
    }
    return h;
}

static void plugin_load(void) {
    char tried[4096] = "", exe[PATH_MAX], path[PATH_MAX + 64];
    void *h = NULL;
    const char *env = getenv("ELM_CUDA_LIB");
    if (env && *env) {
        h = try_open(env, tried, sizeof tried);
    } else {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = 0;
            char *slash = strrchr(exe, '/');
            if (slash) *slash = 0;
            snprintf(path, sizeof path, "%s/" ELM_CUDA_PLUGIN_FILE, exe);
            h = try_open(path, tried, sizeof tried);
            if (!h) {
                snprintf(path, sizeof path, "%s/../lib/" ELM_CUDA_PLUGIN_FILE, exe);
                h = try_open(path, tried, sizeof tried);
            }
        }
    }
    if (!h) {
        snprintf(plugin_why, sizeof plugin_why, "the CUDA side of elm did not load (%.500s)",
                 tried[0] ? tried : "no path to try");
        return;
    }
    const ElmCudaPluginApi *(*get)(void) =
        (const ElmCudaPluginApi *(*)(void))dlsym(h, ELM_CUDA_PLUGIN_SYMBOL);
    const ElmCudaPluginApi *a = get ? get() : NULL;
    size_t want[5] = ELM_CUDA_PLUGIN_SIZES;
    if (!a || a->version != ELM_CUDA_PLUGIN_VERSION || memcmp(a->sizes, want, sizeof want) != 0 ||
        strcmp(a->commit, elm_git_commit) != 0) {
        snprintf(plugin_why, sizeof plugin_why,
                 "%s does not belong to this elm (commit %.40s, elm's %.40s): rebuild both",
                 ELM_CUDA_PLUGIN_FILE, a ? a->commit : "unknown", elm_git_commit);
        dlclose(h);
        return;
    }
    plugin = a; // the handle stays open for the life of the process
}

// The table, or NULL with the reason in err.
static const ElmCudaPluginApi *api(ElmError *err) {
    pthread_once(&plugin_once, plugin_load);
    if (!plugin && err) elm_err(err, "%s", plugin_why);
    return plugin;
}

int elm_gpu_compiled(void) {
    return 1;
}

const char *elm_gpu_library(void) {
    return plugin ? plugin_path : NULL;
}

int elm_gpu_query(ElmGpuInfo *out, int cap, ElmError *err) {
    const ElmCudaPluginApi *a = api(err);
    return a ? a->gpu_query(out, cap, err) : 0; // no library: no GPU, not a failure
}

ElmGpt2Cuda *elm_gpt2_cuda_create(const ElmGpt2 *host, const ElmGpt2CudaOptions *opt,
                                  ElmError *err) {
    const ElmCudaPluginApi *a = api(err);
    return a ? a->gpt2_create(host, opt, err) : NULL;
}

void elm_gpt2_cuda_free(ElmGpt2Cuda *g) {
    if (g) api(NULL)->gpt2_free(g); // a model exists only if the library loaded
}

// The calls on an existing model: the library is loaded, since the model came from it.
#define FORWARD(call) return api(NULL)->call

int elm_gpt2_cuda_upload(ElmGpt2Cuda *g, const ElmGpt2 *host, ElmError *err) {
    FORWARD(gpt2_upload(g, host, err));
}

int elm_gpt2_cuda_download(ElmGpt2Cuda *g, ElmGpt2 *host, ElmError *err) {
    FORWARD(gpt2_download(g, host, err));
}

int elm_gpt2_cuda_forward(ElmGpt2Cuda *g, const int *inputs, const int *targets, int B, int T,
                          float *mean_loss, ElmError *err) {
    FORWARD(gpt2_forward(g, inputs, targets, B, T, mean_loss, err));
}

int elm_gpt2_cuda_logits(ElmGpt2Cuda *g, float *out, ElmError *err) {
    FORWARD(gpt2_logits(g, out, err));
}

int elm_gpt2_cuda_zero_grad(ElmGpt2Cuda *g, ElmError *err) {
    FORWARD(gpt2_zero_grad(g, err));
}

int elm_gpt2_cuda_forward_backward(ElmGpt2Cuda *g, const int *inputs, const int *targets, int B,
                                   int T, float scale, float *mean_loss, ElmError *err) {
    FORWARD(gpt2_forward_backward(g, inputs, targets, B, T, scale, mean_loss, err));
}

int elm_gpt2_cuda_clip(ElmGpt2Cuda *g, float max_norm, float *grad_norm, ElmError *err) {
    FORWARD(gpt2_clip(g, max_norm, grad_norm, err));
}

int elm_gpt2_cuda_update(ElmGpt2Cuda *g, const ElmAdamW *opt, ElmError *err) {
    FORWARD(gpt2_update(g, opt, err));
}

int elm_gpt2_cuda_step(ElmGpt2Cuda *g, const ElmAdamW *opt, float max_norm, float *grad_norm,
                       ElmError *err) {
    FORWARD(gpt2_step(g, opt, max_norm, grad_norm, err));
}

int elm_gpt2_cuda_grads(ElmGpt2Cuda *g, float *out, ElmError *err) {
    FORWARD(gpt2_grads(g, out, err));
}

int elm_gpt2_cuda_sync(ElmGpt2Cuda *g, ElmError *err) {
    FORWARD(gpt2_sync(g, err));
}

size_t elm_gpt2_cuda_peak_mem(ElmGpt2Cuda *g) {
    FORWARD(gpt2_peak_mem(g));
}

ElmBatchBackend *elm_batch_cuda_create(ElmCudaCtx *ctx, const ElmGpt2 *m, const ElmGenParams *p,
                                       int eot, int slots, int cap, int use_graph, ElmError *err) {
    const ElmCudaPluginApi *a = api(err);
    return a ? a->batch_create(ctx, m, p, eot, slots, cap, use_graph, err) : NULL;
}

void elm_batch_cuda_stats(const ElmBatchBackend *be, ElmBatchCudaStats *st) {
    if (!be) {
        memset(st, 0, sizeof *st);
        return;
    }
    api(NULL)->batch_stats(be, st);
}

void elm_batch_cuda_free(ElmBatchBackend *be) {
    if (be) api(NULL)->batch_free(be);
}
