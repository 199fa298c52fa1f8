// test_encoder.c — harness for kernels/encoder: forward and backward against layers.h
// elm_encoder_forward/backward on fresh random tokens and embeddings, odd T and C.
#include "gpucheck.h"

#include "engine/model/layers.h"
#include "kernels/encoder.h"

static void check_shape(GpuCheck *gc, int B, int T, int C, int V, int maxT) {
    ElmError err = {{0}};
    printf("B=%d T=%d C=%d V=%d\n", B, T, C, V);
    size_t n = (size_t)B * T * C;
    int *tok = malloc(sizeof(int) * B * T);
    for (int i = 0; i < B * T; i++) tok[i] = (int)((gc_uniform(gc) * 0.5f + 0.5f) * (V - 1));
    tok[0] = tok[B * T - 1]; // repeated tokens exercise the scatter-add
    int *d_tok = gc_alloc(gc, sizeof(int) * B * T);
    GC_OK(elm_cuda_h2d(gc->ctx, d_tok, tok, sizeof(int) * B * T, &err));
    ElmBf16 *d_wte, *d_wpe, *d_dout;
    float *wte = gc_rand_bf16(gc, (size_t)V * C, 1.0f, &d_wte);
    float *wpe = gc_rand_bf16(gc, (size_t)maxT * C, 1.0f, &d_wpe);
    float *dout = gc_rand_bf16(gc, n, 1.0f, &d_dout);
    float *d_dwte, *d_dwpe;
    float *dwte = gc_rand_f32(gc, (size_t)V * C, 1.0f, &d_dwte);
    float *dwpe = gc_rand_f32(gc, (size_t)maxT * C, 1.0f, &d_dwpe);

    float *out = malloc(sizeof(float) * n);
    elm_encoder_forward(out, tok, wte, wpe, B, T, C);
    elm_encoder_backward(dwte, dwpe, dout, tok, B, T, C); // CPU accumulates into the same start

    ElmBf16 *d_out = gc_alloc(gc, sizeof(ElmBf16) * n);
    gc_poison(gc, d_out, sizeof(ElmBf16) * n);
    GC_OK(elm_cu_encoder_forward(gc->ctx, d_out, d_tok, d_wte, d_wpe, B, T, C, &err));
    float *g = gc_get_bf16(gc, d_out, n);
    gc_compare(gc, "forward", g, out, n, 1e-2);
    free(g);
    GC_OK(elm_cu_encoder_backward(gc->ctx, d_dwte, d_dwpe, d_dout, d_tok, B, T, C, &err));
    float *gw = gc_get_f32(gc, d_dwte, (size_t)V * C),
          *gp = gc_get_f32(gc, d_dwpe, (size_t)maxT * C);
    gc_compare(gc, "backward dwte (fp32 +=)", gw, dwte, (size_t)V * C, 1e-4);
    gc_compare(gc, "backward dwpe (fp32 +=)", gp, dwpe, (size_t)maxT * C, 1e-4);
    free(gw), free(gp);
    elm_cuda_free(d_tok), elm_cuda_free(d_wte), elm_cuda_free(d_wpe), elm_cuda_free(d_dout);
    elm_cuda_free(d_dwte), elm_cuda_free(d_dwpe), elm_cuda_free(d_out);
    free(tok), free(wte), free(wpe), free(dout), free(dwte), free(dwpe), free(out);
}

int main(int argc, char **argv) {
    GpuCheck gc;
    gc_init(&gc, argc, argv, "test_encoder");
    check_shape(&gc, 2, 37, 67, 101, 40);
    check_shape(&gc, 4, 64, 768, 1000, 64);
    check_shape(&gc, 1, 5, 1, 7, 9);
    return gc_finish(&gc, "test_encoder");
}
