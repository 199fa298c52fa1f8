// cuda_ctx.cu — device context, memory helpers, event timers and host bf16 conversion.
// Every CUDA and cuBLAS call is checked and reported through ElmError.
#include "kernels/cuda_ctx_impl.cuh"

#include <stdlib.h>
#include <string.h>

extern "C" int elm_cuda_device_count(ElmError *err) {
    int n = 0;
    cudaError_t rc = cudaGetDeviceCount(&n);
    if (rc != cudaSuccess) {
        elm_err(err, "%s", cudaGetErrorString(rc));
        (void)cudaGetLastError(); // clear the sticky "no device" error
        return 0;
    }
    if (n == 0) elm_err(err, "no CUDA device");
    return n;
}

static int ctx_init(ElmCudaCtx *c, int device, ElmError *err) {
    ELM_CU(err, cudaSetDevice(device));
    cudaDeviceProp p;
    ELM_CU(err, cudaGetDeviceProperties(&p, device));
    c->device = device;
    c->cc = p.major * 10 + p.minor;
    c->sms = p.multiProcessorCount;
    c->smem_optin = p.sharedMemPerBlockOptin;
    if (c->cc < 80)
        return elm_err(err,
                       "%s has compute capability %d.%d; elm's CUDA path needs 8.0+ (bf16 "
                       "tensor cores)",
                       p.name, p.major, p.minor);
    ELM_CU(err, cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    ELM_CUBLAS(cublasCreate(&c->blas));
    ELM_CUBLAS(cublasSetStream(c->blas, c->stream));
    ELM_CUBLAS(cublasLtCreate(&c->lt));
    c->lt_workspace_bytes = 32u << 20; // Hopper kernels want 32 MiB
    ELM_CU(err, cudaMalloc(&c->lt_workspace, c->lt_workspace_bytes));
    ELM_CUBLAS(cublasSetWorkspace(c->blas, c->lt_workspace, c->lt_workspace_bytes));
    // TMA descriptors are encoded by the driver API; fetched through the runtime so elm needs
    // no link against libcuda. Without it the Hopper matmul (version 3) falls back.
    cudaDriverEntryPointQueryResult q;
    void *fn = NULL;
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault,
                                         &q) == cudaSuccess &&
        q == cudaDriverEntryPointSuccess)
        c->tmap_encode = fn;
    else
        (void)cudaGetLastError();
    ELM_CU(err, cudaEventCreate(&c->t0));
    ELM_CU(err, cudaEventCreate(&c->t1));
    return 0;
}

extern "C" ElmCudaCtx *elm_cuda_ctx_create(int device, ElmError *err) {
    ElmCudaCtx *c = (ElmCudaCtx *)calloc(1, sizeof *c);
    if (!c) {
        elm_err(err, "out of memory");
        return NULL;
    }
    if (ctx_init(c, device, err) != 0) {
        elm_cuda_ctx_free(c);
        return NULL;
    }
    return c;
}

extern "C" void elm_cuda_ctx_free(ElmCudaCtx *c) {
    if (!c) return;
    if (c->stream) (void)cudaStreamSynchronize(c->stream);
    if (c->t0) (void)cudaEventDestroy(c->t0);
    if (c->t1) (void)cudaEventDestroy(c->t1);
    if (c->blas) (void)cublasDestroy(c->blas);
    if (c->lt) (void)cublasLtDestroy(c->lt);
    if (c->lt_workspace) (void)cudaFree(c->lt_workspace);
    if (c->stream) (void)cudaStreamDestroy(c->stream);
    free(c);
}

extern "C" int elm_cuda_ctx_cc(const ElmCudaCtx *c) {
    return c->cc;
}

extern "C" int elm_cuda_ctx_sms(const ElmCudaCtx *c) {
    return c->sms;
}

extern "C" int elm_cuda_ctx_mem_sample(ElmCudaCtx *c, ElmError *err) {
    size_t free_b = 0, total_b = 0;
    ELM_CU(err, cudaMemGetInfo(&free_b, &total_b));
    if (total_b - free_b > c->peak_mem) c->peak_mem = total_b - free_b;
    return 0;
}

extern "C" size_t elm_cuda_ctx_peak_mem(ElmCudaCtx *c) {
    return c->peak_mem;
}

extern "C" void *elm_cuda_malloc(size_t bytes, ElmError *err) {
    void *p = NULL;
    cudaError_t rc = cudaMalloc(&p, bytes ? bytes : 1);
    if (rc != cudaSuccess) {
        elm_err(err, "cudaMalloc(%zu bytes): %s", bytes, cudaGetErrorString(rc));
        return NULL;
    }
    return p;
}

extern "C" void elm_cuda_free(void *p) {
    if (p) (void)cudaFree(p);
}

extern "C" int elm_cuda_h2d(ElmCudaCtx *c, void *dst, const void *src, size_t bytes,
                            ElmError *err) {
    ELM_CU(err, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, c->stream));
    ELM_CU(err, cudaStreamSynchronize(c->stream)); // src may be freed by the caller right after
    return 0;
}

extern "C" int elm_cuda_d2h(ElmCudaCtx *c, void *dst, const void *src, size_t bytes,
                            ElmError *err) {
    ELM_CU(err, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, c->stream));
    ELM_CU(err, cudaStreamSynchronize(c->stream));
    return 0;
}

extern "C" int elm_cuda_memset(ElmCudaCtx *c, void *dst, int byte, size_t bytes, ElmError *err) {
    ELM_CU(err, cudaMemsetAsync(dst, byte, bytes, c->stream));
    return 0;
}

extern "C" int elm_cuda_sync(ElmCudaCtx *c, ElmError *err) {
    ELM_CU(err, cudaStreamSynchronize(c->stream));
    ELM_CU(err, cudaGetLastError());
    return 0;
}

extern "C" int elm_cuda_timer_start(ElmCudaCtx *c, ElmError *err) {
    ELM_CU(err, cudaEventRecord(c->t0, c->stream));
    return 0;
}

extern "C" int elm_cuda_timer_stop(ElmCudaCtx *c, float *ms, ElmError *err) {
    ELM_CU(err, cudaEventRecord(c->t1, c->stream));
    ELM_CU(err, cudaEventSynchronize(c->t1));
    ELM_CU(err, cudaEventElapsedTime(ms, c->t0, c->t1));
    return 0;
}

extern "C" ElmBf16 elm_bf16_from_f32(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (ElmBf16)((u >> 16) | 0x40); // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (ElmBf16)(u >> 16);
}

extern "C" float elm_bf16_to_f32(ElmBf16 h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

extern "C" void elm_bf16_from_f32_n(ElmBf16 *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = elm_bf16_from_f32(src[i]);
}

extern "C" void elm_bf16_to_f32_n(float *dst, const ElmBf16 *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = elm_bf16_to_f32(src[i]);
}
