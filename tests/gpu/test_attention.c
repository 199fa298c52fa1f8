// test_attention.c — harness for kernels/attention: each version's forward (out, lse) and
// backward (dqkv) against layers.h elm_attention_forward/backward (CPU, fp32) on fresh random
// inputs, odd T and head sizes 16..128; timings of the GPT-2 124M shape in --bench mode.
#include "gpucheck.h"

#include "engine/model/layers.h"
#include "kernels/attention.h"

typedef struct Shape {
    int B, T, C, NH;
} Shape;

static int v2_ok(int hs) {
    return hs == 16 || hs == 32 || hs == 64 || hs == 128;
}

// lse of each query's scaled causal scores, in double: the statistic the backward relies on.
static void lse_ref(float *lse, const float *qkv, int B, int T, int C, int NH) {
    int hs = C / NH;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const float *q = qkv + ((size_t)b * T + t) * 3 * C + h * hs;
                double mx = -1e300, s = 0.0;
                double *sc = malloc(sizeof(double) * (t + 1));
                for (int k = 0; k <= t; k++) {
                    const float *kk = qkv + ((size_t)b * T + k) * 3 * C + C + h * hs;
                    double d = 0.0;
                    for (int i = 0; i < hs; i++) d += (double)q[i] * kk[i];
                    sc[k] = d / sqrt((double)hs);
                    if (sc[k] > mx) mx = sc[k];
                }
                for (int k = 0; k <= t; k++) s += exp(sc[k] - mx);
                lse[((size_t)b * NH + h) * T + t] = (float)(mx + log(s));
                free(sc);
            }
}

static void check_shape(GpuCheck *gc, Shape s) {
    ElmError err = {{0}};
    int B = s.B, T = s.T, C = s.C, NH = s.NH;
    printf("B=%d T=%d C=%d NH=%d (head size %d)\n", B, T, C, NH, C / NH);
    size_t nqkv = (size_t)B * T * 3 * C, nout = (size_t)B * T * C, nl = (size_t)B * NH * T;
    ElmBf16 *d_qkv, *d_dout;
    float *qkv = gc_rand_bf16(gc, nqkv, 1.0f, &d_qkv);
    float *dout = gc_rand_bf16(gc, nout, 1.0f, &d_dout);
    float *out_ref = malloc(sizeof(float) * nout);
    float *att = malloc(sizeof(float) * B * NH * T * T),
          *datt = malloc(sizeof(float) * B * NH * T * T);
    float *dqkv_ref = calloc(nqkv, sizeof(float)), *lse = malloc(sizeof(float) * nl);
    elm_attention_forward(out_ref, att, qkv, B, T, C, NH);
    elm_attention_backward(dqkv_ref, datt, dout, qkv, att, B, T, C, NH);
    lse_ref(lse, qkv, B, T, C, NH);

    ElmBf16 *d_out = gc_alloc(gc, sizeof(ElmBf16) * nout),
            *d_dqkv = gc_alloc(gc, sizeof(ElmBf16) * nqkv);
    float *d_lse = gc_alloc(gc, sizeof(float) * nl);
    float *d_scratch = gc_alloc(gc, sizeof(float) * elm_cu_attention_scratch(B, T, C, NH));
    for (int v = 1; v <= ELM_CU_ATTENTION_VERSIONS; v++) {
        if (v == 2 && !v2_ok(C / NH)) {
            // v2 must refuse other head sizes with an error, not compute garbage
            int rc = elm_cu_attention_forward(gc->ctx, d_out, d_lse, d_qkv, B, T, C, NH, 2, &err);
            printf("  v2 refuses head size %d: %s\n", C / NH, rc ? "ok" : "FAIL");
            if (!rc) gc->failures++;
            continue;
        }
        char what[96];
        gc_poison(gc, d_out, sizeof(ElmBf16) * nout);
        gc_poison(gc, d_lse, sizeof(float) * nl);
        GC_OK(elm_cu_attention_forward(gc->ctx, d_out, d_lse, d_qkv, B, T, C, NH, v, &err));
        float *got = gc_get_bf16(gc, d_out, nout), *gl = gc_get_f32(gc, d_lse, nl);
        snprintf(what, sizeof what, "v%d forward out", v);
        gc_compare(gc, what, got, out_ref, nout, 1e-2);
        snprintf(what, sizeof what, "v%d forward lse (fp32)", v);
        gc_compare(gc, what, gl, lse, nl, 1e-4);
        free(got), free(gl);
        gc_poison(gc, d_dqkv, sizeof(ElmBf16) * nqkv);
        GC_OK(elm_cu_attention_backward(gc->ctx, d_dqkv, d_scratch, d_dout, d_qkv, d_out, d_lse, B,
                                        T, C, NH, v, &err));
        got = gc_get_bf16(gc, d_dqkv, nqkv);
        snprintf(what, sizeof what, "v%d backward dqkv", v);
        gc_compare(gc, what, got, dqkv_ref, nqkv, 1e-2);
        free(got);
    }
    elm_cuda_free(d_qkv), elm_cuda_free(d_dout), elm_cuda_free(d_out), elm_cuda_free(d_dqkv);
    elm_cuda_free(d_lse), elm_cuda_free(d_scratch);
    free(qkv), free(dout), free(out_ref), free(att), free(datt), free(dqkv_ref), free(lse);
}

typedef struct TimeArg {
    GpuCheck *gc;
    ElmBf16 *out, *qkv, *dout, *dqkv;
    float *lse, *scratch;
    int B, T, C, NH, version, backward;
} TimeArg;

static int time_one(void *arg, ElmError *err) {
    TimeArg *a = arg;
    if (a->backward)
        return elm_cu_attention_backward(a->gc->ctx, a->dqkv, a->scratch, a->dout, a->qkv, a->out,
                                         a->lse, a->B, a->T, a->C, a->NH, a->version, err);
    return elm_cu_attention_forward(a->gc->ctx, a->out, a->lse, a->qkv, a->B, a->T, a->C, a->NH,
                                    a->version, err);
}

static void time_shape(GpuCheck *gc, int B, int T, int C, int NH) {
    size_t nqkv = (size_t)B * T * 3 * C, nout = (size_t)B * T * C;
    TimeArg a = {gc, NULL, NULL, NULL, NULL, NULL, NULL, B, T, C, NH, 2, 0};
    float *h1 = gc_rand_bf16(gc, nqkv, 1.0f, &a.qkv), *h2 = gc_rand_bf16(gc, nout, 1.0f, &a.dout);
    a.out = gc_alloc(gc, sizeof(ElmBf16) * nout);
    a.dqkv = gc_alloc(gc, sizeof(ElmBf16) * nqkv);
    a.lse = gc_alloc(gc, sizeof(float) * B * NH * T);
    a.scratch = gc_alloc(gc, sizeof(float) * elm_cu_attention_scratch(B, T, C, NH));
    // causal: half of the T x T scores; forward 2 products, backward 5 (incl. the recompute)
    double fwd_flops = 2.0 * 2.0 * B * NH * (double)T * T * (C / NH) / 2.0;
    for (int v = 1; v <= ELM_CU_ATTENTION_VERSIONS; v++) {
        if (v == 1 && gc->bench) continue; // the scalar version takes seconds at this size
        a.version = v, a.backward = 0;
        float f = gc_time(gc, time_one, &a);
        a.backward = 1;
        float bw = gc_time(gc, time_one, &a);
        printf("  TIMING attention v%d B=%d T=%d C=%d NH=%d forward %.3f ms (%.1f TFLOP/s) "
               "backward %.3f ms (%.1f TFLOP/s)\n",
               v, B, T, C, NH, f, fwd_flops / f / 1e9, bw, 2.5 * fwd_flops / bw / 1e9);
    }
    elm_cuda_free(a.qkv), elm_cuda_free(a.dout), elm_cuda_free(a.out), elm_cuda_free(a.dqkv);
    elm_cuda_free(a.lse), elm_cuda_free(a.scratch);
    free(h1), free(h2);
}

int main(int argc, char **argv) {
    GpuCheck gc;
    gc_init(&gc, argc, argv, "test_attention");
    Shape shapes[] = {
        {2, 37, 64, 4},   // gpt2-tiny's head size 16, odd T
        {1, 64, 128, 2},  // one tile exactly, head size 64
        {2, 100, 192, 3}, // head size 64, T not a tile multiple
        {1, 130, 256, 2}, // head size 128, three query tiles
        {2, 67, 96, 3},   // head size 32
        {1, 45, 80, 2},   // head size 40: v1 only
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) check_shape(&gc, shapes[i]);
    if (!gc.timing) {
        // checks only
    } else if (gc.bench) {
        time_shape(&gc, 32, 1024, 768, 12);  // GPT-2 124M, B=32
        time_shape(&gc, 16, 1024, 1024, 16); // GPT-2 355M, B=16
    } else {
        time_shape(&gc, 2, 256, 768, 12);
    }
    return gc_finish(&gc, "test_attention");
}
