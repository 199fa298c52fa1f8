// test_adamw.c — harness for kernels/adamw: global grad norm + clipping and AdamW (fp32 master,
// bf16 working copy) against gpt2.h elm_gpt2_clip_grad / elm_gpt2_adamw_step on a small
// random GPT-2 (every tensor, with and without weight decay), over several steps.
#include "gpucheck.h"

#include "engine/model/gpt2.h"
#include "kernels/adamw.h"

int main(int argc, char **argv) {
    GpuCheck gc;
    gc_init(&gc, argc, argv, "test_adamw");
    ElmError err = {{0}};
    ElmGpt2Config cfg = {2, 4, 68, 37, 501}; // odd sizes on purpose
    ElmGpt2 m;
    memset(&m, 0, sizeof m);
    GC_OK(elm_gpt2_init(&m, &cfg, &err));
    elm_gpt2_init_random(&m, 7);
    GC_OK(elm_gpt2_zero_grad(&m, &err));
    size_t n = m.num_parameters;
    printf("parameters: %zu\n", n);

    float *d_p = gc_alloc(&gc, sizeof(float) * n), *d_g = gc_alloc(&gc, sizeof(float) * n);
    float *d_m = gc_alloc(&gc, sizeof(float) * n), *d_v = gc_alloc(&gc, sizeof(float) * n);
    ElmBf16 *d_work = gc_alloc(&gc, sizeof(ElmBf16) * n);
    float *d_norm = gc_alloc(&gc, 2 * sizeof(float));
    float *d_scratch = gc_alloc(&gc, ELM_CU_NORM_SCRATCH * sizeof(float));
    GC_OK(elm_cuda_h2d(gc.ctx, d_p, m.params_memory, sizeof(float) * n, &err));
    GC_OK(elm_cuda_memset(gc.ctx, d_m, 0, sizeof(float) * n, &err));
    GC_OK(elm_cuda_memset(gc.ctx, d_v, 0, sizeof(float) * n, &err));

    ElmAdamW opt = {1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f};
    for (int step = 1; step <= 3; step++) {
        float gscale = step == 2 ? 10.0f : 1e-4f; // step 2 is clipped (norm ~ 10^3), the others not
        for (size_t i = 0; i < n; i++) m.grads_memory[i] = gc_uniform(&gc) * gscale;
        GC_OK(elm_cuda_h2d(gc.ctx, d_g, m.grads_memory, sizeof(float) * n, &err));
        float max_norm = 1.0f;
        float norm_ref = elm_gpt2_grad_norm(&m);
        elm_gpt2_clip_grad(&m, max_norm);
        GC_OK(elm_gpt2_adamw_step(&m, &opt, &err));

        gc_poison(&gc, d_norm, 2 * sizeof(float));
        GC_OK(elm_cu_grad_norm(gc.ctx, d_norm, d_scratch, d_g, n, max_norm, &err));
        gc_poison(&gc, d_work, sizeof(ElmBf16) * n);
        for (int t = 0; t < ELM_GPT2_NUM_TENSORS; t++) {
            ElmGpt2TensorInfo ti;
            elm_gpt2_tensor_info(&cfg, t, &ti);
            GC_OK(elm_cu_adamw(gc.ctx, d_p + ti.offset, d_work + ti.offset, d_g + ti.offset,
                               d_m + ti.offset, d_v + ti.offset, ti.size, opt.lr, opt.beta1,
                               opt.beta2, opt.eps, ti.decay ? opt.weight_decay : 0.0f, step,
                               d_norm + 1, &err));
        }
        float *gn = gc_get_f32(&gc, d_norm, 2);
        float scale_ref = norm_ref > max_norm ? max_norm / (norm_ref + 1e-6f) : 1.0f;
        char what[64];
        printf("step %d\n", step);
        snprintf(what, sizeof what, "grad norm (fp32)");
        gc_compare(&gc, what, gn, &norm_ref, 1, 1e-4);
        gc_compare(&gc, "clip factor (fp32)", gn + 1, &scale_ref, 1, 1e-4);
        float *gp = gc_get_f32(&gc, d_p, n), *gm = gc_get_f32(&gc, d_m, n);
        float *gv = gc_get_f32(&gc, d_v, n), *gw = gc_get_bf16(&gc, d_work, n);
        gc_compare(&gc, "master weights (fp32)", gp, m.params_memory, n, 1e-4);
        gc_compare(&gc, "adam m (fp32)", gm, m.adam_m, n, 1e-4);
        gc_compare(&gc, "adam v (fp32)", gv, m.adam_v, n, 1e-4);
        gc_compare(&gc, "bf16 working weights", gw, m.params_memory, n, 1e-2);
        free(gn), free(gp), free(gm), free(gv), free(gw);
    }
    elm_cuda_free(d_p), elm_cuda_free(d_g), elm_cuda_free(d_m), elm_cuda_free(d_v);
    elm_cuda_free(d_work), elm_cuda_free(d_norm), elm_cuda_free(d_scratch);
    elm_gpt2_free(&m);
    return gc_finish(&gc, "test_adamw");
}
