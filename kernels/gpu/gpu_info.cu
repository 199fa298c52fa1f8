// gpu_info.cu — device discovery through the CUDA runtime; every call checked.
// A machine with the toolkit but no GPU (CI) reports zero devices, not an error.
#include "kernels/gpu/gpu.h"

#include <cuda_runtime.h>
#include <stdio.h>

extern "C" int elm_gpu_compiled(void) {
    return 1;
}

extern "C" const char *elm_gpu_library(void) {
    return "linked in";
}

extern "C" int elm_gpu_query(ElmGpuInfo *out, int cap, ElmError *err) {
    int n = 0;
    cudaError_t rc = cudaGetDeviceCount(&n);
    if (rc == cudaErrorNoDevice || rc == cudaErrorInsufficientDriver || n == 0) {
        elm_err(err, "%s", rc == cudaSuccess ? "no CUDA device" : cudaGetErrorString(rc));
        return 0;
    }
    if (rc != cudaSuccess) {
        // No driver at all (CI): not an error for `elm info`.
        elm_err(err, "%s", cudaGetErrorString(rc));
        return 0;
    }
    int k = 0;
    for (int i = 0; i < n && k < cap; i++, k++) {
        cudaDeviceProp p;
        rc = cudaGetDeviceProperties(&p, i);
        if (rc != cudaSuccess)
            return elm_err(err, "cudaGetDeviceProperties(%d): %s", i, cudaGetErrorString(rc));
        snprintf(out[k].name, sizeof out[k].name, "%s", p.name);
        out[k].total_mem = p.totalGlobalMem;
        out[k].cc_major = p.major;
        out[k].cc_minor = p.minor;
        out[k].sm_count = p.multiProcessorCount;
    }
    return k;
}
