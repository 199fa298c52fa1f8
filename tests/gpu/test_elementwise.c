// test_elementwise.c — harness for kernels/elementwise: GELU forward/backward and the residual
// add against layers.h on fresh random inputs of odd length.
#include "gpucheck.h"

#include "engine/model/layers.h"
#include "kernels/elementwise.h"

static void check_n(GpuCheck *gc, int n) {
    ElmError err = {{0}};
    printf("n=%d\n", n);
    ElmBf16 *d_x, *d_y, *d_dout, *d_out = gc_alloc(gc, sizeof(ElmBf16) * n);
    float *x = gc_rand_bf16(gc, n, 4.0f, &d_x), *y = gc_rand_bf16(gc, n, 1.0f, &d_y);
    float *dout = gc_rand_bf16(gc, n, 1.0f, &d_dout);
    float *ref = malloc(sizeof(float) * n);

    elm_gelu_forward(ref, x, n);
    gc_poison(gc, d_out, sizeof(ElmBf16) * n);
    GC_OK(elm_cu_gelu_forward(gc->ctx, d_out, d_x, n, &err));
    float *g = gc_get_bf16(gc, d_out, n);
    gc_compare(gc, "gelu forward", g, ref, n, 1e-2);
    free(g);

    memset(ref, 0, sizeof(float) * n); // CPU accumulates; GPU writes
    elm_gelu_backward(ref, x, dout, n);
    gc_poison(gc, d_out, sizeof(ElmBf16) * n);
    GC_OK(elm_cu_gelu_backward(gc->ctx, d_out, d_x, d_dout, n, &err));
    g = gc_get_bf16(gc, d_out, n);
    gc_compare(gc, "gelu backward", g, ref, n, 1e-2);
    free(g);
    // in place, as the model uses it (dinp aliases dout)
    GC_OK(elm_cu_gelu_backward(gc->ctx, d_dout, d_x, d_dout, n, &err));
    g = gc_get_bf16(gc, d_dout, n);
    gc_compare(gc, "gelu backward in place", g, ref, n, 1e-2);
    free(g);

    elm_residual_forward(ref, x, y, n);
    gc_poison(gc, d_out, sizeof(ElmBf16) * n);
    GC_OK(elm_cu_residual_forward(gc->ctx, d_out, d_x, d_y, n, &err));
    g = gc_get_bf16(gc, d_out, n);
    gc_compare(gc, "residual forward", g, ref, n, 1e-2);
    free(g);
    elm_cuda_free(d_x), elm_cuda_free(d_y), elm_cuda_free(d_dout), elm_cuda_free(d_out);
    free(x), free(y), free(dout), free(ref);
}

int main(int argc, char **argv) {
    GpuCheck gc;
    gc_init(&gc, argc, argv, "test_elementwise");
    check_n(&gc, 1);
    check_n(&gc, 1001);
    check_n(&gc, 3 * 1024 * 1024 + 7);
    return gc_finish(&gc, "test_elementwise");
}
