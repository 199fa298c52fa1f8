// bf16.h — bfloat16 rounding and the CPUID check for AVX512-BF16 (`vdpbf16ps`), in one place.
// Serves the bf16 weights of qmatmul.c and the bf16 matrix products of gemm_bf16.c.
#ifndef ELM_BF16_H
#define ELM_BF16_H

#include <stdint.h>
#include <string.h>

// fp32 -> bf16 bits, round to nearest even (NaN stays NaN).
static inline uint16_t elm_bf16_from_float(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

// bf16 bits -> fp32 (exact).
static inline float elm_bf16_to_float(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

// 1 when this CPU (and build) has AVX-512F, AVX-512BW and AVX512-BF16.
static inline int elm_bf16_cpu_has(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

#endif
