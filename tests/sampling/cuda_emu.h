// cuda_emu.h — just enough of CUDA to run kernels/sampling_kernel.cuh on the CPU: one OS thread
// per GPU thread of a block, __syncthreads as a barrier over the block, warp shuffles and
// ballots through a per-warp exchange buffer and barrier, shared-memory atomics as compiler
// atomics. One block runs at a time (so `__shared__` variables can be statics). For
// tests/sampling/sampling_emu.cpp only: slow, but it runs the kernel's own source.
#ifndef ELM_CUDA_EMU_H
#define ELM_CUDA_EMU_H

#define ELM_CUDA_EMU 1

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct EmuDim {
    unsigned x, y, z;
};
static thread_local EmuDim threadIdx;
static EmuDim blockIdx, blockDim;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)

static pthread_barrier_t emu_block_barrier;
static pthread_barrier_t emu_warp_barrier[32];
static uint64_t emu_xchg[32][32];
static pthread_mutex_t emu_atomic_lock = PTHREAD_MUTEX_INITIALIZER;

static inline void __syncthreads() {
    pthread_barrier_wait(&emu_block_barrier);
}

template <typename T> static inline T emu_exchange(T v, int src_lane) {
    int w = threadIdx.x >> 5, l = threadIdx.x & 31;
    static_assert(sizeof(T) <= 8, "8-byte exchange slots");
    memcpy(&emu_xchg[w][l], &v, sizeof v);
    pthread_barrier_wait(&emu_warp_barrier[w]);
    T r;
    memcpy(&r, &emu_xchg[w][src_lane], sizeof r);
    pthread_barrier_wait(&emu_warp_barrier[w]);
    return r;
}

template <typename T> static inline T __shfl_xor_sync(unsigned, T v, int o) {
    return emu_exchange(v, (int)(threadIdx.x & 31) ^ o);
}

template <typename T> static inline T __shfl_up_sync(unsigned, T v, int o) {
    int l = threadIdx.x & 31;
    T r = emu_exchange(v, l >= o ? l - o : l);
    return r;
}

static inline unsigned __ballot_sync(unsigned, int pred) {
    int w = threadIdx.x >> 5;
    emu_xchg[w][threadIdx.x & 31] = pred ? 1 : 0;
    pthread_barrier_wait(&emu_warp_barrier[w]);
    unsigned b = 0;
    for (int i = 0; i < 32; i++) b |= (emu_xchg[w][i] ? 1u : 0u) << i;
    pthread_barrier_wait(&emu_warp_barrier[w]);
    return b;
}

static inline float atomicAdd(float *p, float v) {
    pthread_mutex_lock(&emu_atomic_lock);
    float old = *p;
    *p = old + v;
    pthread_mutex_unlock(&emu_atomic_lock);
    return old;
}
static inline int atomicMax(int *p, int v) {
    pthread_mutex_lock(&emu_atomic_lock);
    int old = *p;
    if (v > old) *p = v;
    pthread_mutex_unlock(&emu_atomic_lock);
    return old;
}
static inline int atomicMin(int *p, int v) {
    pthread_mutex_lock(&emu_atomic_lock);
    int old = *p;
    if (v < old) *p = v;
    pthread_mutex_unlock(&emu_atomic_lock);
    return old;
}
#define __expf expf // (glibc declares __expf but does not export it)
static inline uint32_t __float_as_uint(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float __uint_as_float(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline int __ffs(unsigned x) {
    return __builtin_ffs((int)x);
}
static inline int __clz(unsigned x) {
    return x ? __builtin_clz(x) : 32;
}

// cuda_common.cuh's warp reductions, over the emulated shuffles.
static inline float elm_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
static inline float elm_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Runs block `block` of a kernel with `threads` threads: fn() on each. The threads are started
// once and kept (a start and an end barrier around each block).
#include <functional>

static std::function<void()> emu_fn;
static pthread_barrier_t emu_start, emu_end;
static unsigned emu_threads;
static int emu_quit;

static void *emu_worker(void *arg) {
    threadIdx.x = (unsigned)(uintptr_t)arg, threadIdx.y = threadIdx.z = 0;
    for (;;) {
        pthread_barrier_wait(&emu_start);
        if (emu_quit) return NULL;
        emu_fn();
        pthread_barrier_wait(&emu_end);
    }
}

static void emu_run_block(unsigned block, unsigned threads, std::function<void()> fn) {
    if (emu_threads == 0) {
        emu_threads = threads;
        pthread_barrier_init(&emu_block_barrier, NULL, threads);
        for (int w = 0; w < 32; w++) pthread_barrier_init(&emu_warp_barrier[w], NULL, 32);
        pthread_barrier_init(&emu_start, NULL, threads + 1);
        pthread_barrier_init(&emu_end, NULL, threads + 1);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        for (unsigned i = 0; i < threads; i++) {
            pthread_t t;
            if (pthread_create(&t, &attr, emu_worker, (void *)(uintptr_t)i) != 0) {
                fprintf(stderr, "cuda_emu: cannot start thread %u\n", i);
                exit(1);
            }
            pthread_detach(t);
        }
        pthread_attr_destroy(&attr);
    }
    if (threads != emu_threads) {
        fprintf(stderr, "cuda_emu: one block size per program\n");
        exit(1);
    }
    blockIdx.x = block, blockIdx.y = blockIdx.z = 0;
    blockDim.x = threads, blockDim.y = blockDim.z = 1;
    emu_fn = fn;
    pthread_barrier_wait(&emu_start);
    pthread_barrier_wait(&emu_end);
}

#endif
