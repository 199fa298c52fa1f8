// test_matmul.c — harness for kernels/matmul: every version of elm's matmul and the cuBLASLt
// path against layers.h elm_matmul_forward/backward (CPU, fp32) on fresh random inputs at odd
// and tile-sized shapes, all three operand layouts the model uses, bias and GELU epilogues,
// fp32 accumulation of weight gradients; then timings (ratios vs cuBLAS) in --bench mode.
#include "gpucheck.h"

#include "engine/model/layers.h"
#include "kernels/matmul.h"

typedef struct Shape {
    int M, K, N; // rows (B*T), input channels C, output channels OC
} Shape;

// impl: 1..ELM_CU_MATMUL_VERSIONS = our versions, 0 = cuBLASLt
static int run_mm(GpuCheck *gc, const ElmCuMatmul *mm, int impl, ElmError *err) {
    return impl ? elm_cu_matmul_version(gc->ctx, mm, impl, err)
                : elm_cu_matmul_cublaslt(gc->ctx, mm, err);
}

static const char *impl_name(int impl) {
    static const char *names[] = {"cublasLt", "v1", "v2", "v3"};
    return names[impl];
}

static void check_shape(GpuCheck *gc, Shape s) {
    ElmError err = {{0}};
    int M = s.M, K = s.K, N = s.N;
    printf("M=%d K=%d N=%d\n", M, K, N);
    ElmBf16 *d_inp, *d_w, *d_b, *d_dout;
    float *inp = gc_rand_bf16(gc, (size_t)M * K, 1.0f, &d_inp);
    float *w = gc_rand_bf16(gc, (size_t)N * K, 0.5f, &d_w);
    float *bias = gc_rand_bf16(gc, (size_t)N, 1.0f, &d_b);
    float *dout = gc_rand_bf16(gc, (size_t)M * N, 1.0f, &d_dout);
    float *d_dw_init;
    float *dw_init = gc_rand_f32(gc, (size_t)N * K, 1.0f, &d_dw_init);

    // CPU references on the same bf16-rounded values.
    float *out_ref = malloc(sizeof(float) * M * N), *gelu_ref = malloc(sizeof(float) * M * N);
    float *dinp_ref = calloc((size_t)M * K, sizeof(float));
    float *dw_ref = malloc(sizeof(float) * N * K), *db_ref = calloc((size_t)N, sizeof(float));
    memcpy(dw_ref, dw_init, sizeof(float) * N * K);
    elm_matmul_forward(out_ref, inp, w, bias, 1, M, K, N);
    elm_gelu_forward(gelu_ref, out_ref, M * N);
    elm_matmul_backward(dinp_ref, dw_ref, db_ref, dout, inp, w, 1, M, K, N);
    ElmBf16 *d_gpre;
    float *gpre = gc_rand_bf16(gc, (size_t)M * K, 3.0f, &d_gpre);
    float *dgelu_ref = calloc((size_t)M * K, sizeof(float));
    elm_gelu_backward(dgelu_ref, gpre, dinp_ref, M * K); // (dout @ W) * gelu'(pre), from zero
    float *out_nb_ref = malloc(sizeof(float) * M * N);
    elm_matmul_forward(out_nb_ref, inp, w, NULL, 1, M, K, N);

    ElmBf16 *d_out = gc_alloc(gc, sizeof(ElmBf16) * M * N);
    ElmBf16 *d_pre = gc_alloc(gc, sizeof(ElmBf16) * M * N);
    ElmBf16 *d_dinp = gc_alloc(gc, sizeof(ElmBf16) * M * K);
    float *d_dw = gc_alloc(gc, sizeof(float) * N * K), *d_db = gc_alloc(gc, sizeof(float) * N);

    for (int impl = 0; impl <= ELM_CU_MATMUL_VERSIONS; impl++) {
        char what[96];
        // forward: out = inp @ W^T + bias (W stored (N, K): trans_b)
        ElmCuMatmul f = {M, N, K, 0, 1, d_inp, K, d_w, K, d_out, N, 0, 0, d_b, NULL, NULL};
        gc_poison(gc, d_out, sizeof(ElmBf16) * M * N);
        GC_OK(run_mm(gc, &f, impl, &err));
        float *got = gc_get_bf16(gc, d_out, (size_t)M * N);
        snprintf(what, sizeof what, "%s forward + bias", impl_name(impl));
        gc_compare(gc, what, got, out_ref, (size_t)M * N, 1e-2);
        free(got);
        // no bias
        f.bias = NULL;
        gc_poison(gc, d_out, sizeof(ElmBf16) * M * N);
        GC_OK(run_mm(gc, &f, impl, &err));
        got = gc_get_bf16(gc, d_out, (size_t)M * N);
        snprintf(what, sizeof what, "%s forward", impl_name(impl));
        gc_compare(gc, what, got, out_nb_ref, (size_t)M * N, 1e-2);
        free(got);
        // bias + GELU epilogue, keeping the pre-activation
        f.bias = d_b, f.pre_gelu = d_pre;
        gc_poison(gc, d_out, sizeof(ElmBf16) * M * N);
        gc_poison(gc, d_pre, sizeof(ElmBf16) * M * N);
        GC_OK(run_mm(gc, &f, impl, &err));
        got = gc_get_bf16(gc, d_out, (size_t)M * N);
        float *pre = gc_get_bf16(gc, d_pre, (size_t)M * N);
        snprintf(what, sizeof what, "%s forward + bias + GELU", impl_name(impl));
        gc_compare(gc, what, got, gelu_ref, (size_t)M * N, 1e-2);
        snprintf(what, sizeof what, "%s   pre-GELU", impl_name(impl));
        gc_compare(gc, what, pre, out_ref, (size_t)M * N, 1e-2);
        free(got), free(pre);
        // dinp = dout @ W (W stored (N, K) = (k, n) of this product: no transpose)
        ElmCuMatmul bi = {M, K, N, 0, 0, d_dout, N, d_w, K, d_dinp, K, 0, 0, NULL, NULL, NULL};
        gc_poison(gc, d_dinp, sizeof(ElmBf16) * M * K);
        GC_OK(run_mm(gc, &bi, impl, &err));
        got = gc_get_bf16(gc, d_dinp, (size_t)M * K);
        snprintf(what, sizeof what, "%s backward dinp", impl_name(impl));
        gc_compare(gc, what, got, dinp_ref, (size_t)M * K, 1e-2);
        free(got);
        // dinp * gelu'(pre): the GELU backward fused into the product
        bi.dgelu_pre = d_gpre;
        gc_poison(gc, d_dinp, sizeof(ElmBf16) * M * K);
        GC_OK(run_mm(gc, &bi, impl, &err));
        got = gc_get_bf16(gc, d_dinp, (size_t)M * K);
        snprintf(what, sizeof what, "%s backward dinp * gelu'(pre)", impl_name(impl));
        gc_compare(gc, what, got, dgelu_ref, (size_t)M * K, 1e-2);
        free(got);
        // dW += dout^T @ inp in fp32 (dout stored (M, N) = (k, m): trans_a)
        ElmCuMatmul bw = {N, K, M, 1, 0, d_dout, N, d_inp, K, d_dw, K, 1, 1, NULL, NULL, NULL};
        ElmError e2 = {{0}};
        GC_OK(elm_cuda_h2d(gc->ctx, d_dw, dw_init, sizeof(float) * N * K, &e2));
        GC_OK(run_mm(gc, &bw, impl, &err));
        float *gw = gc_get_f32(gc, d_dw, (size_t)N * K);
        snprintf(what, sizeof what, "%s backward dweight (fp32 +=)", impl_name(impl));
        gc_compare(gc, what, gw, dw_ref, (size_t)N * K, 1e-4);
        free(gw);
    }
    GC_OK(elm_cuda_memset(gc->ctx, d_db, 0, sizeof(float) * N, &err));
    GC_OK(elm_cu_bias_backward(gc->ctx, d_db, d_dout, M, N, N, &err));
    float *gb = gc_get_f32(gc, d_db, (size_t)N);
    gc_compare(gc, "bias backward (fp32 +=)", gb, db_ref, (size_t)N, 1e-4);
    free(gb);

    elm_cuda_free(d_inp), elm_cuda_free(d_w), elm_cuda_free(d_b), elm_cuda_free(d_dout);
    elm_cuda_free(d_dw_init), elm_cuda_free(d_out), elm_cuda_free(d_pre), elm_cuda_free(d_dinp);
    elm_cuda_free(d_dw), elm_cuda_free(d_db);
    free(inp), free(w), free(bias), free(dout), free(dw_init), free(out_ref), free(gelu_ref);
    free(dinp_ref), free(dw_ref), free(db_ref), free(out_nb_ref), free(gpre), free(dgelu_ref);
    elm_cuda_free(d_gpre);
}

// ---- timing -------------------------------------------------------------------------------------
typedef struct TimeArg {
    GpuCheck *gc;
    ElmCuMatmul mm;
    int impl;
} TimeArg;

static int time_one(void *arg, ElmError *err) {
    TimeArg *t = arg;
    return run_mm(t->gc, &t->mm, t->impl, err);
}

// One product of the GPT-2 step at (M, K, N): versions 2 and 3 vs cuBLASLt, cross-checked.
// (Version 3 runs version 2 where it does not apply: other layouts, GPUs other than sm_90.)
static void time_shape(GpuCheck *gc, const char *name, int M, int K, int N, int ta, int tb,
                       int fp32_out) {
    ElmBf16 *a, *b;
    float *ha = gc_rand_bf16(gc, (size_t)M * K, 1.0f, &a);
    float *hb = gc_rand_bf16(gc, (size_t)K * N, 0.5f, &b);
    size_t esz = fp32_out ? sizeof(float) : sizeof(ElmBf16);
    void *c[3] = {gc_alloc(gc, esz * M * N), gc_alloc(gc, esz * M * N), gc_alloc(gc, esz * M * N)};
    long lda = ta ? M : K, ldb = tb ? K : N;
    int impls[3] = {0, 2, 3};
    float ms[3];
    double flops = 2.0 * M * N * K;
    for (int i = 0; i < 3; i++) {
        TimeArg t = {gc,
                     {M, N, K, ta, tb, a, lda, b, ldb, c[i], N, fp32_out, 0, NULL, NULL, NULL},
                     impls[i]};
        ms[i] = gc_time(gc, time_one, &t);
    }
    float *ref =
        fp32_out ? gc_get_f32(gc, c[0], (size_t)M * N) : gc_get_bf16(gc, c[0], (size_t)M * N);
    for (int i = 1; i < 3; i++) {
        float *x =
            fp32_out ? gc_get_f32(gc, c[i], (size_t)M * N) : gc_get_bf16(gc, c[i], (size_t)M * N);
        char what[96];
        snprintf(what, sizeof what, "%s: v%d vs cuBLASLt", name, impls[i]);
        gc_compare(gc, what, x, ref, (size_t)M * N, 1e-2);
        free(x);
    }
    float best = ms[1] < ms[2] ? ms[1] : ms[2];
    printf("  TIMING %-10s M=%-6d K=%-5d N=%-6d v2 %8.3f ms %6.1f TFLOP/s | v3 %8.3f ms %6.1f "
           "TFLOP/s | cuBLASLt %8.3f ms %6.1f TFLOP/s | best/cuBLAS speed %.2f\n",
           name, M, K, N, ms[1], flops / ms[1] / 1e9, ms[2], flops / ms[2] / 1e9, ms[0],
           flops / ms[0] / 1e9, ms[0] / best);
    free(ref), free(ha), free(hb);
    elm_cuda_free(a), elm_cuda_free(b);
    for (int i = 0; i < 3; i++) elm_cuda_free(c[i]);
}

int main(int argc, char **argv) {
    GpuCheck gc;
    gc_init(&gc, argc, argv, "test_matmul");
    Shape shapes[] = {
        {37, 67, 45},    // odd everything, unaligned rows: the element-wise load path
        {128, 128, 128}, // exactly one tile
        {257, 96, 200},  // aligned rows, edges inside tiles
        {300, 64, 2304}, // GPT-2 qkv width, small batch
        {64, 3072, 768}, // long K (fc projection)
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) check_shape(&gc, shapes[i]);

    if (!gc.timing) return gc_finish(&gc, "test_matmul");
    int BT = gc.bench ? 32 * 1024 : 512;
    int C = 768;
    time_shape(&gc, "qkv", BT, C, 3 * C, 0, 1, 0);
    time_shape(&gc, "fc", BT, C, 4 * C, 0, 1, 0);
    time_shape(&gc, "fcproj", BT, 4 * C, C, 0, 1, 0);
    time_shape(&gc, "lm_head", BT, C, 50257, 0, 1, 0);
    time_shape(&gc, "dinp(fc)", BT, 4 * C, C, 0, 0, 0);
    time_shape(&gc, "dW(fc)", 4 * C, BT, C, 1, 0, 1);
    return gc_finish(&gc, "test_matmul");
}
