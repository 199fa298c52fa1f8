// test_classifier.c — harness for kernels/classifier: the fused softmax + cross-entropy +
// dlogits against layers.h elm_crossentropy_forward/backward on fresh random logits, with
// ignored targets (< 0), an odd vocabulary and a padded row stride.
#include "gpucheck.h"

#include "engine/model/layers.h"
#include "kernels/classifier.h"

static void check_shape(GpuCheck *gc, int BT, int V, int ld) {
    ElmError err = {{0}};
    printf("BT=%d V=%d ld=%d\n", BT, V, ld);
    size_t n = (size_t)BT * ld;
    ElmBf16 *d_logits;
    float *logits_ld = gc_rand_bf16(gc, n, 8.0f, &d_logits); // (BT, ld); columns >= V padding
    float *logits = malloc(sizeof(float) * BT * V);
    for (int r = 0; r < BT; r++)
        memcpy(logits + (size_t)r * V, logits_ld + (size_t)r * ld, sizeof(float) * V);
    int *tgt = malloc(sizeof(int) * BT), count = 0;
    for (int r = 0; r < BT; r++) {
        tgt[r] = (r % 7 == 3) ? -1 : (int)((gc_uniform(gc) * 0.5f + 0.5f) * (V - 1));
        count += tgt[r] >= 0;
    }
    int *d_tgt = gc_alloc(gc, sizeof(int) * BT);
    GC_OK(elm_cuda_h2d(gc->ctx, d_tgt, tgt, sizeof(int) * BT, &err));
    float dloss = 1.0f / (float)(count ? count : 1);

    float *probs = malloc(sizeof(float) * BT * V), *losses = malloc(sizeof(float) * BT);
    float *dlosses = malloc(sizeof(float) * BT), *dlogits = malloc(sizeof(float) * BT * ld);
    elm_crossentropy_forward(losses, probs, logits, tgt, BT, V);
    for (int r = 0; r < BT; r++) dlosses[r] = dloss;
    float *dl = malloc(sizeof(float) * BT * V);
    elm_crossentropy_backward(dl, probs, tgt, dlosses, BT, V);
    memset(dlogits, 0, sizeof(float) * BT * ld); // padding columns must come back as 0
    for (int r = 0; r < BT; r++)
        memcpy(dlogits + (size_t)r * ld, dl + (size_t)r * V, sizeof(float) * V);

    float *d_losses = gc_alloc(gc, sizeof(float) * BT);
    gc_poison(gc, d_losses, sizeof(float) * BT);
    GC_OK(elm_cu_classifier(gc->ctx, d_losses, d_logits, d_tgt, BT, V, ld, dloss, 1, &err));
    float *gl = gc_get_f32(gc, d_losses, BT), *gd = gc_get_bf16(gc, d_logits, n);
    gc_compare(gc, "losses (fp32)", gl, losses, BT, 1e-4);
    gc_compare(gc, "dlogits (in place, padding zeroed)", gd, dlogits, n, 1e-2);
    free(gl), free(gd);
    elm_cuda_free(d_logits), elm_cuda_free(d_tgt), elm_cuda_free(d_losses);
    free(logits_ld), free(logits), free(tgt), free(probs), free(losses), free(dlosses);
    free(dlogits), free(dl);
}

int main(int argc, char **argv) {
    GpuCheck gc;
    gc_init(&gc, argc, argv, "test_classifier");
    check_shape(&gc, 37, 101, 101);
    check_shape(&gc, 64, 50257, 50304);
    check_shape(&gc, 3, 5, 8);
    return gc_finish(&gc, "test_classifier");
}
