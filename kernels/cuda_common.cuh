// cuda_common.cuh — what every kernels/*.cu shares: bf16 type, error checks, small math helpers.
// Internal to kernels/ (never included from C); the C face of each kernel is its own .h.
#ifndef ELM_CUDA_COMMON_CUH
#define ELM_CUDA_COMMON_CUH

#include "engine/base/error.h"

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdint.h>

typedef __nv_bfloat16 bf16;

// Every CUDA runtime call goes through ELM_CU(err, call): on failure it fills the ElmError err
// and returns -1 from the enclosing function, naming the call and the source line.
#define ELM_CU(e, call)                                                                            \
    do {                                                                                           \
        cudaError_t elm_cu_rc_ = (call);                                                           \
        if (elm_cu_rc_ != cudaSuccess)                                                             \
            return elm_err(e, "%s:%d: %s: %s", __FILE__, __LINE__, #call,                          \
                           cudaGetErrorString(elm_cu_rc_));                                        \
    } while (0)

// After each launch: catches bad configurations (too much shared memory, too many threads).
#define ELM_CU_LAUNCH(what)                                                                        \
    do {                                                                                           \
        cudaError_t elm_cu_rc_ = cudaGetLastError();                                               \
        if (elm_cu_rc_ != cudaSuccess)                                                             \
            return elm_err(err, "%s:%d: launch %s: %s", __FILE__, __LINE__, what,                  \
                           cudaGetErrorString(elm_cu_rc_));                                        \
    } while (0)

static inline int elm_ceil_div(long a, long b) {
    return (int)((a + b - 1) / b);
}

__device__ __forceinline__ float elm_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float elm_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over a whole block (blockDim.x a multiple of 32, at most 1024); every thread gets the sum.
// `shared` holds 32 floats; the call ends with a barrier so `shared` can be reused at once.
__device__ __forceinline__ float elm_block_sum(float v, float *shared) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = elm_warp_sum(v);
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    float s = lane < nwarps ? shared[lane] : 0.0f;
    s = elm_warp_sum(s);
    __syncthreads();
    return s;
}

// GELU, tanh approximation (GPT-2's "gelu_new").
#define ELM_GELU_SCALE 0.7978845608028654f // sqrt(2/pi)
__device__ __forceinline__ float elm_gelu(float x) {
    float cube = 0.044715f * x * x * x;
    return 0.5f * x * (1.0f + tanhf(ELM_GELU_SCALE * (x + cube)));
}

__device__ __forceinline__ float elm_gelu_grad(float x) {
    float cube = 0.044715f * x * x * x;
    float arg = ELM_GELU_SCALE * (x + cube);
    float th = tanhf(arg);
    float sech2 = 1.0f - th * th;
    return 0.5f * (1.0f + th) +
           0.5f * x * sech2 * ELM_GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
}

#endif
