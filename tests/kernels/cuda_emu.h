// cuda_emu.h — just enough of CUDA to run kernels/sampling_kernel.cuh on the CPU: one OS thread
// per GPU thread of a block, __syncthreads as a barrier over the block, warp shuffles and
// ballots through a per-warp exchange buffer and barrier, shared-memory atomics as compiler
// atomics. One block runs at a time (so `__shared__` variables can be statics). For
// tests/kernels/sampling_emu.cpp only: slow, but it runs the kernel's own source.
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

// bf16 as its 16 bits; conversions round to nearest even like the CUDA intrinsics.
struct EmuBf16 {
    uint16_t x;
};
typedef EmuBf16 bf16;
static inline float __bfloat162float(EmuBf16 b) {
    uint32_t u = (uint32_t)b.x << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline EmuBf16 __float2bfloat16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    EmuBf16 b;
    if ((u & 0x7fffffffu) > 0x7f800000u)
        b.x = (uint16_t)((u >> 16) | 0x40); // NaN stays NaN
    else
        b.x = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    return b;
}

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

static inline int min(int a, int b) {
    return a < b ? a : b;
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

static volatile unsigned emu_gen; // a pool's threads leave once the generation moves on

static void *emu_worker(void *arg) {
    uintptr_t a = (uintptr_t)arg;
    unsigned gen = (unsigned)(a >> 32);
    threadIdx.x = (unsigned)(a & 0xffffffffu), threadIdx.y = threadIdx.z = 0;
    for (;;) {
        pthread_barrier_wait(&emu_start);
        if (__atomic_load_n(&emu_gen, __ATOMIC_SEQ_CST) != gen) return NULL;
        emu_fn();
        pthread_barrier_wait(&emu_end);
    }
}

// Stops the kept threads (before a block of another size).
static void emu_stop_pool() {
    if (!emu_threads) return;
    __atomic_add_fetch(&emu_gen, 1, __ATOMIC_SEQ_CST);
    pthread_barrier_wait(&emu_start);
    pthread_barrier_destroy(&emu_start);
    pthread_barrier_destroy(&emu_end);
    pthread_barrier_destroy(&emu_block_barrier);
    for (unsigned w = 0; w < (emu_threads + 31) / 32; w++)
        pthread_barrier_destroy(&emu_warp_barrier[w]);
    emu_threads = 0;
}

// Runs block (bx, by, bz) of a kernel with `threads` (a multiple of 32, <= 1024) threads.
static void emu_run_block3(unsigned bx, unsigned by, unsigned bz, unsigned threads,
                           std::function<void()> fn) {
    if (threads != emu_threads) {
        emu_stop_pool();
        emu_threads = threads;
        pthread_barrier_init(&emu_block_barrier, NULL, threads);
        for (unsigned w = 0; w < (threads + 31) / 32; w++)
            pthread_barrier_init(&emu_warp_barrier[w], NULL, 32);
        pthread_barrier_init(&emu_start, NULL, threads + 1);
        pthread_barrier_init(&emu_end, NULL, threads + 1);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        for (unsigned i = 0; i < threads; i++) {
            pthread_t t;
            if (pthread_create(&t, &attr, emu_worker, (void *)(((uintptr_t)emu_gen << 32) | i)) !=
                0) {
                fprintf(stderr, "cuda_emu: cannot start thread %u\n", i);
                exit(1);
            }
            pthread_detach(t);
        }
        pthread_attr_destroy(&attr);
    }
    blockIdx.x = bx, blockIdx.y = by, blockIdx.z = bz;
    blockDim.x = threads, blockDim.y = blockDim.z = 1;
    emu_fn = fn;
    pthread_barrier_wait(&emu_start);
    pthread_barrier_wait(&emu_end);
}

static void emu_run_block(unsigned block, unsigned threads, std::function<void()> fn) {
    emu_run_block3(block, 0, 0, threads, fn);
}

#endif
