// decodecheck.h — what the sampling-engine GPU harnesses share: skip with exit 77 (and a
// visible "skipped: no GPU" line) without CUDA or a device, a seeded RNG, relative errors.
// Included by tests/gpu/test_decode_*.c, test_sampling_gpu.c, test_greedy_gpu.c.
#ifndef ELM_DECODECHECK_H
#define ELM_DECODECHECK_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ELM_HAVE_CUDA
#include "kernels/cuda_ctx.h"

// Opens device 0, or exits 77 saying why there is none.
static inline ElmCudaCtx *dc_open(const char *name) {
    ElmError err = {{0}};
    if (elm_cuda_device_count(&err) <= 0) {
        printf("%s: skipped: no GPU (%s)\n", name, err.msg);
        exit(77);
    }
    ElmCudaCtx *ctx = elm_cuda_ctx_create(0, &err);
    if (!ctx) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        exit(1);
    }
    printf("%s: compute capability %d, %d SMs\n", name, elm_cuda_ctx_cc(ctx),
           elm_cuda_ctx_sms(ctx));
    return ctx;
}

#define DC_OK(call)                                                                                \
    do {                                                                                           \
        if ((call) != 0) {                                                                         \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, err.msg);                           \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)
#endif

#define DC_SKIP_WITHOUT_CUDA(name)                                                                 \
    do {                                                                                           \
        printf("%s: skipped: no GPU (built without CUDA)\n", name);                                \
        return 77;                                                                                 \
    } while (0)

static inline uint64_t dc_next(uint64_t *s) {
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}
// Uniform in [-1, 1).
static inline float dc_unif(uint64_t *s) {
    return (float)((dc_next(s) >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}
// Standard normal (Box-Muller).
static inline float dc_normal(uint64_t *s) {
    double u1 = ((dc_next(s) >> 11) + 1.0) * 0x1.0p-53, u2 = (dc_next(s) >> 11) * 0x1.0p-53;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

// ||a - b|| / ||b||; NaN in a counts as failure (returns INFINITY).
static inline double dc_relerr(const float *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i])) return INFINITY;
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

#endif
