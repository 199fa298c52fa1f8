// gpucheck.h — shared pieces of the GPU kernel harnesses (llm.c dev/cuda habit): device setup
// that skips with exit 77 when there is no GPU, fresh random inputs, poisoned outputs, error
// norms against the CPU reference (layers.h), and median timing with CUDA events.
#ifndef ELM_GPUCHECK_H
#define ELM_GPUCHECK_H

#include "kernels/cuda_ctx.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Harness mode: `--bench` (or ELM_GPU_BENCH=1) runs the GPT-2 sized shapes with many timed
// repeats; the default (ctest) runs small and odd shapes with a few.
typedef struct GpuCheck {
    ElmCudaCtx *ctx;
    int bench;
    int warmup, reps;
    int timing; // 0 with ELM_GPU_SKIP_TIMING=1 (kernels/dev/run_mock.sh: checks only)
    int failures;
    uint64_t rng;
} GpuCheck;

#define GC_DIE(gc_err)                                                                             \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, (gc_err).msg);                          \
        exit(1);                                                                                   \
    } while (0)
#define GC_OK(call)                                                                                \
    do {                                                                                           \
        if ((call) != 0) GC_DIE(err);                                                              \
    } while (0)

static inline void gc_init(GpuCheck *gc, int argc, char **argv, const char *name) {
    memset(gc, 0, sizeof *gc);
    ElmError err = {{0}};
    if (elm_cuda_device_count(&err) <= 0) {
        printf("%s: skipped: no GPU (%s)\n", name, err.msg);
        exit(77);
    }
    gc->ctx = elm_cuda_ctx_create(0, &err);
    if (!gc->ctx) GC_DIE(err);
    const char *e = getenv("ELM_GPU_BENCH");
    gc->bench = (e && atoi(e)) || (argc > 1 && strcmp(argv[1], "--bench") == 0);
    gc->warmup = gc->bench ? 5 : 1;
    gc->reps = gc->bench ? 50 : 3;
    const char *st = getenv("ELM_GPU_SKIP_TIMING");
    gc->timing = !(st && atoi(st));
    gc->rng = 0x9e3779b97f4a7c15ull;
    printf("%s: %s mode, compute capability %d, %d SMs\n", name, gc->bench ? "bench" : "check",
           elm_cuda_ctx_cc(gc->ctx), elm_cuda_ctx_sms(gc->ctx));
}

static inline int gc_finish(GpuCheck *gc, const char *name) {
    elm_cuda_ctx_free(gc->ctx);
    if (gc->failures) {
        printf("%s: %d check(s) FAILED\n", name, gc->failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

static inline float gc_uniform(GpuCheck *gc) { // [-1, 1)
    gc->rng ^= gc->rng << 13, gc->rng ^= gc->rng >> 7, gc->rng ^= gc->rng << 17;
    return (float)((gc->rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

// Fresh random values scaled by `scale`, rounded through bf16 so the CPU sees exactly the values
// the GPU gets. Returns a malloc'd fp32 array; *dev gets the bf16 device copy.
static inline float *gc_rand_bf16(GpuCheck *gc, size_t n, float scale, ElmBf16 **dev) {
    ElmError err = {{0}};
    float *h = malloc(n * sizeof *h);
    ElmBf16 *b = malloc(n * sizeof *b);
    if (!h || !b) exit(1);
    for (size_t i = 0; i < n; i++) {
        b[i] = elm_bf16_from_f32(gc_uniform(gc) * scale);
        h[i] = elm_bf16_to_f32(b[i]);
    }
    *dev = elm_cuda_malloc(n * sizeof(ElmBf16), &err);
    if (!*dev) GC_DIE(err);
    GC_OK(elm_cuda_h2d(gc->ctx, *dev, b, n * sizeof(ElmBf16), &err));
    free(b);
    return h;
}

static inline float *gc_rand_f32(GpuCheck *gc, size_t n, float scale, float **dev) {
    ElmError err = {{0}};
    float *h = malloc(n * sizeof *h);
    if (!h) exit(1);
    for (size_t i = 0; i < n; i++) h[i] = gc_uniform(gc) * scale;
    *dev = elm_cuda_malloc(n * sizeof(float), &err);
    if (!*dev) GC_DIE(err);
    GC_OK(elm_cuda_h2d(gc->ctx, *dev, h, n * sizeof(float), &err));
    return h;
}

static inline void *gc_alloc(GpuCheck *gc, size_t bytes) {
    (void)gc;
    ElmError err = {{0}};
    void *p = elm_cuda_malloc(bytes, &err);
    if (!p) GC_DIE(err);
    return p;
}

// Every byte 0xff: NaN in bf16 and fp32, so an element a kernel forgot to write fails the check.
static inline void gc_poison(GpuCheck *gc, void *dev, size_t bytes) {
    ElmError err = {{0}};
    GC_OK(elm_cuda_memset(gc->ctx, dev, 0xff, bytes, &err));
}

static inline float *gc_get_bf16(GpuCheck *gc, const ElmBf16 *dev, size_t n) {
    ElmError err = {{0}};
    ElmBf16 *b = malloc(n * sizeof *b);
    float *h = malloc(n * sizeof *h);
    if (!b || !h) exit(1);
    GC_OK(elm_cuda_d2h(gc->ctx, b, dev, n * sizeof *b, &err));
    elm_bf16_to_f32_n(h, b, n);
    free(b);
    return h;
}

static inline float *gc_get_f32(GpuCheck *gc, const float *dev, size_t n) {
    ElmError err = {{0}};
    float *h = malloc(n * sizeof *h);
    if (!h) exit(1);
    GC_OK(elm_cuda_d2h(gc->ctx, h, dev, n * sizeof *h, &err));
    return h;
}

// ||got - ref|| / ||ref|| over all n elements (with row stride: rows x cols inside ld), and
// every element must be finite (poison is NaN). tol: 1e-2 for bf16 outputs, 1e-4 for fp32.
static inline double gc_compare_strided(GpuCheck *gc, const char *what, const float *got,
                                        const float *ref, size_t rows, size_t cols, size_t ld,
                                        double tol) {
    double num = 0.0, den = 0.0, maxabs = 0.0;
    size_t bad = 0, first_bad = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            size_t i = r * ld + c;
            double g = got[i], f = ref[r * cols + c];
            if (!isfinite(g)) {
                if (!bad) first_bad = r * cols + c;
                bad++;
                continue;
            }
            num += (g - f) * (g - f);
            den += f * f;
            if (fabs(g - f) > maxabs) maxabs = fabs(g - f);
        }
    double rel = den > 0 ? sqrt(num / den) : sqrt(num);
    int ok = bad == 0 && rel <= tol;
    printf("  %-40s rel err %.3e (tol %.0e) max abs %.3e%s", what, rel, tol, maxabs,
           ok ? "  ok\n" : "  FAIL");
    if (bad) printf(" (%zu unwritten/non-finite, first at %zu)", bad, first_bad);
    if (!ok) {
        printf("\n");
        gc->failures++;
    }
    return rel;
}

static inline double gc_compare(GpuCheck *gc, const char *what, const float *got, const float *ref,
                                size_t n, double tol) {
    return gc_compare_strided(gc, what, got, ref, 1, n, n, tol);
}

static int gc_cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

// Median milliseconds of `fn(arg)` over gc->reps timed runs after gc->warmup untimed ones.
typedef int (*GcRun)(void *arg, ElmError *err);
static inline float gc_time(GpuCheck *gc, GcRun fn, void *arg) {
    ElmError err = {{0}};
    for (int i = 0; i < gc->warmup; i++) GC_OK(fn(arg, &err));
    GC_OK(elm_cuda_sync(gc->ctx, &err));
    float *ms = malloc((size_t)gc->reps * sizeof *ms);
    for (int i = 0; i < gc->reps; i++) {
        GC_OK(elm_cuda_timer_start(gc->ctx, &err));
        GC_OK(fn(arg, &err));
        GC_OK(elm_cuda_timer_stop(gc->ctx, &ms[i], &err));
    }
    qsort(ms, (size_t)gc->reps, sizeof *ms, gc_cmp_float);
    float med = ms[gc->reps / 2];
    free(ms);
    return med;
}

#endif
