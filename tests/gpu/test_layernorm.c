// test_layernorm.c — harness for kernels/layernorm: forward (plain and fused with the residual
// add) and backward against layers.h elm_layernorm_* and elm_residual_forward on fresh random
// inputs at odd C; timing at the GPT-2 shape in --bench mode.
#include "gpucheck.h"

#include "engine/model/layers.h"
#include "kernels/layernorm.h"

static void check_shape(GpuCheck *gc, int N, int C) {
    ElmError err = {{0}};
    printf("N=%d C=%d\n", N, C);
    size_t n = (size_t)N * C;
    ElmBf16 *d_a, *d_b, *d_w, *d_bias, *d_dout, *d_dinp0;
    float *a = gc_rand_bf16(gc, n, 2.0f, &d_a), *b = gc_rand_bf16(gc, n, 1.0f, &d_b);
    float *w = gc_rand_bf16(gc, C, 1.0f, &d_w), *bias = gc_rand_bf16(gc, C, 1.0f, &d_bias);
    float *dout = gc_rand_bf16(gc, n, 1.0f, &d_dout), *dinp0 = gc_rand_bf16(gc, n, 1.0f, &d_dinp0);
    float *d_dw, *d_db;
    float *dw0 = gc_rand_f32(gc, C, 1.0f, &d_dw), *db0 = gc_rand_f32(gc, C, 1.0f, &d_db);

    // CPU: residual = a + b rounded to bf16 (what the GPU stores), then layer norm of it.
    float *resid = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * n);
    float *mean = malloc(sizeof(float) * N), *rstd = malloc(sizeof(float) * N);
    elm_residual_forward(resid, a, b, (int)n);
    for (size_t i = 0; i < n; i++) resid[i] = elm_bf16_to_f32(elm_bf16_from_f32(resid[i]));
    elm_layernorm_forward(out, mean, rstd, resid, w, bias, 1, N, C);
    float *out_a = malloc(sizeof(float) * n), *mean_a = malloc(sizeof(float) * N),
          *rstd_a = malloc(sizeof(float) * N);
    elm_layernorm_forward(out_a, mean_a, rstd_a, a, w, bias, 1, N, C);
    float *dinp = malloc(sizeof(float) * n), *dw = malloc(sizeof(float) * C),
          *db = malloc(sizeof(float) * C);
    memcpy(dinp, dinp0, sizeof(float) * n), memcpy(dw, dw0, sizeof(float) * C),
        memcpy(db, db0, sizeof(float) * C);
    elm_layernorm_backward(dinp, dw, db, dout, a, w, mean_a, rstd_a, 1, N, C);

    ElmBf16 *d_out = gc_alloc(gc, sizeof(ElmBf16) * n), *d_res = gc_alloc(gc, sizeof(ElmBf16) * n);
    float *d_mean = gc_alloc(gc, sizeof(float) * N), *d_rstd = gc_alloc(gc, sizeof(float) * N);
    gc_poison(gc, d_out, sizeof(ElmBf16) * n), gc_poison(gc, d_mean, sizeof(float) * N);
    gc_poison(gc, d_rstd, sizeof(float) * N);
    GC_OK(elm_cu_layernorm_forward(gc->ctx, d_out, d_mean, d_rstd, d_a, d_w, d_bias, N, C, &err));
    float *g = gc_get_bf16(gc, d_out, n), *gm = gc_get_f32(gc, d_mean, N),
          *gr = gc_get_f32(gc, d_rstd, N);
    gc_compare(gc, "forward out", g, out_a, n, 1e-2);
    gc_compare(gc, "forward mean (fp32)", gm, mean_a, N, 1e-4);
    gc_compare(gc, "forward rstd (fp32)", gr, rstd_a, N, 1e-4);
    free(g), free(gm), free(gr);

    gc_poison(gc, d_out, sizeof(ElmBf16) * n), gc_poison(gc, d_res, sizeof(ElmBf16) * n);
    gc_poison(gc, d_mean, sizeof(float) * N), gc_poison(gc, d_rstd, sizeof(float) * N);
    GC_OK(elm_cu_residual_layernorm_forward(gc->ctx, d_res, d_out, d_mean, d_rstd, d_a, d_b, d_w,
                                            d_bias, N, C, &err));
    float *gres = gc_get_bf16(gc, d_res, n);
    g = gc_get_bf16(gc, d_out, n), gm = gc_get_f32(gc, d_mean, N), gr = gc_get_f32(gc, d_rstd, N);
    gc_compare(gc, "fused residual", gres, resid, n, 1e-2);
    gc_compare(gc, "fused residual + layernorm out", g, out, n, 1e-2);
    gc_compare(gc, "fused mean (fp32)", gm, mean, N, 1e-4);
    gc_compare(gc, "fused rstd (fp32)", gr, rstd, N, 1e-4);
    free(g), free(gm), free(gr), free(gres);

    // backward accumulates into dinp (bf16) and dweight/dbias (fp32); saved stats from the GPU
    GC_OK(elm_cu_layernorm_forward(gc->ctx, d_out, d_mean, d_rstd, d_a, d_w, d_bias, N, C, &err));
    GC_OK(elm_cu_layernorm_backward(gc->ctx, d_dinp0, d_dw, d_db, d_dout, d_a, d_w, d_mean, d_rstd,
                                    N, C, &err));
    g = gc_get_bf16(gc, d_dinp0, n);
    float *gw = gc_get_f32(gc, d_dw, C), *gb = gc_get_f32(gc, d_db, C);
    gc_compare(gc, "backward dinp (+=)", g, dinp, n, 1e-2);
    gc_compare(gc, "backward dweight (fp32 +=)", gw, dw, C, 1e-4);
    gc_compare(gc, "backward dbias (fp32 +=)", gb, db, C, 1e-4);
    free(g), free(gw), free(gb);

    elm_cuda_free(d_a), elm_cuda_free(d_b), elm_cuda_free(d_w), elm_cuda_free(d_bias);
    elm_cuda_free(d_dout), elm_cuda_free(d_dinp0), elm_cuda_free(d_dw), elm_cuda_free(d_db);
    elm_cuda_free(d_out), elm_cuda_free(d_res), elm_cuda_free(d_mean), elm_cuda_free(d_rstd);
    free(a), free(b), free(w), free(bias), free(dout), free(dinp0), free(dw0), free(db0);
    free(resid), free(out), free(mean), free(rstd), free(out_a), free(mean_a), free(rstd_a);
    free(dinp), free(dw), free(db);
}

typedef struct TimeArg {
    GpuCheck *gc;
    ElmBf16 *out, *inp, *w, *b, *dout, *dinp;
    float *mean, *rstd, *dw, *db;
    int N, C, backward;
} TimeArg;

static int time_one(void *arg, ElmError *err) {
    TimeArg *t = arg;
    if (t->backward)
        return elm_cu_layernorm_backward(t->gc->ctx, t->dinp, t->dw, t->db, t->dout, t->inp, t->w,
                                         t->mean, t->rstd, t->N, t->C, err);
    return elm_cu_layernorm_forward(t->gc->ctx, t->out, t->mean, t->rstd, t->inp, t->w, t->b, t->N,
                                    t->C, err);
}

int main(int argc, char **argv) {
    GpuCheck gc;
    gc_init(&gc, argc, argv, "test_layernorm");
    int shapes[][2] = {{37, 67}, {64, 768}, {129, 1024}, {5, 1}, {33, 1600}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        check_shape(&gc, shapes[i][0], shapes[i][1]);

    if (!gc.timing) return gc_finish(&gc, "test_layernorm");
    int N = gc.bench ? 32 * 1024 : 4096, C = 768;
    size_t n = (size_t)N * C;
    TimeArg t;
    memset(&t, 0, sizeof t);
    t.gc = &gc;
    t.N = N, t.C = C;
    float *h[5];
    h[0] = gc_rand_bf16(&gc, n, 1.0f, &t.inp), h[1] = gc_rand_bf16(&gc, C, 1.0f, &t.w);
    h[2] = gc_rand_bf16(&gc, C, 1.0f, &t.b), h[3] = gc_rand_bf16(&gc, n, 1.0f, &t.dout);
    h[4] = gc_rand_bf16(&gc, n, 1.0f, &t.dinp);
    t.out = gc_alloc(&gc, sizeof(ElmBf16) * n);
    t.mean = gc_alloc(&gc, sizeof(float) * N), t.rstd = gc_alloc(&gc, sizeof(float) * N);
    t.dw = gc_alloc(&gc, sizeof(float) * C), t.db = gc_alloc(&gc, sizeof(float) * C);
    float f = gc_time(&gc, time_one, &t);
    t.backward = 1;
    float b = gc_time(&gc, time_one, &t);
    // bytes: forward reads inp, writes out (+ stats); backward reads dout, inp, dinp, writes dinp
    printf(
        "  TIMING layernorm N=%d C=%d forward %.3f ms (%.0f GB/s) backward %.3f ms (%.0f GB/s)\n",
        N, C, f, 4.0 * n / f / 1e6, b, 8.0 * n / b / 1e6);
    for (int i = 0; i < 5; i++) free(h[i]);
    return gc_finish(&gc, "test_layernorm");
}
