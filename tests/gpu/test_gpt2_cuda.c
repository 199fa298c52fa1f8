// test_gpt2_cuda.c — the whole GPU model (kernels/gpu/gpt2_cuda) against PyTorch + transformers on
// ../shared/fixtures/gpt2-tiny (logits, loss, every gradient, ten AdamW steps) and against the
// CPU model (30 steps of the same training, step by step; download -> CPU forward for resuming),
// with both matmul implementations (elm's kernels, cuBLASLt).
#include "gpucheck.h"

#include "engine/model/gpt2.h"
#include "engine/model/hf.h"
#include "engine/model/safetensors.h"
#include "kernels/gpu/gpt2_cuda.h"

static char fixture[4096];

static float *read_f32(const ElmSafetensors *st, const char *name, size_t *n) {
    ElmError err = {{0}};
    const ElmStTensor *t = elm_safetensors_find(st, name);
    if (!t) {
        fprintf(stderr, "%s: no tensor %s\n", st->path, name);
        exit(1);
    }
    float *x = malloc(t->numel * sizeof(float));
    if (elm_safetensors_read_f32(st, t, x, t->numel, &err)) GC_DIE(err);
    if (n) *n = t->numel;
    return x;
}

static int *read_i32(const ElmSafetensors *st, const char *name) {
    ElmError err = {{0}};
    const ElmStTensor *t = elm_safetensors_find(st, name);
    if (!t) {
        fprintf(stderr, "%s: no tensor %s\n", st->path, name);
        exit(1);
    }
    int *x = malloc(t->numel * sizeof(int));
    if (elm_safetensors_read_i32(st, t, x, t->numel, &err)) GC_DIE(err);
    return x;
}

static void check_scalar(GpuCheck *gc, const char *what, float got, float ref, double tol) {
    gc_compare(gc, what, &got, &ref, 1, tol);
}

static void run(GpuCheck *gc, const ElmSafetensors *ref, const ElmSafetensors *grads, int matmul) {
    ElmError err = {{0}};
    printf("matmul = %s\n", matmul == 1 ? "elm" : "cublas");
    ElmGpt2 host;
    if (elm_hf_load(fixture, &host, &err)) GC_DIE(err);
    host.threads = 2;
    const ElmStTensor *ti = elm_safetensors_find(ref, "input_ids");
    int B = (int)ti->shape[0], T = (int)ti->shape[1], V = host.config.vocab_size;
    int *inputs = read_i32(ref, "input_ids"), *targets = read_i32(ref, "targets");
    size_t nl;
    float *logits_ref = read_f32(ref, "logits", &nl), *loss_ref = read_f32(ref, "loss", NULL);
    float *adam_losses = read_f32(ref, "adamw_losses", NULL);

    ElmGpt2CudaOptions opt = {0, matmul, 0, 0, B, T};
    ElmGpt2Cuda *g = elm_gpt2_cuda_create(&host, &opt, &err);
    if (!g) GC_DIE(err);
    float loss;
    GC_OK(elm_gpt2_cuda_forward(g, inputs, targets, B, T, &loss, &err));
    float *logits = malloc(sizeof(float) * B * T * V);
    GC_OK(elm_gpt2_cuda_logits(g, logits, &err));
    gc_compare(gc, "logits vs PyTorch", logits, logits_ref, nl, 2e-2);
    check_scalar(gc, "loss vs PyTorch", loss, loss_ref[0], 1e-2);

    GC_OK(elm_gpt2_cuda_zero_grad(g, &err));
    GC_OK(elm_gpt2_cuda_forward_backward(g, inputs, targets, B, T, 1.0f, &loss, &err));
    check_scalar(gc, "training-step loss vs PyTorch", loss, loss_ref[0], 1e-2);
    float *gall = malloc(sizeof(float) * host.num_parameters);
    GC_OK(elm_gpt2_cuda_grads(g, gall, &err));
    int count = elm_hf_param_count(&host.config);
    for (int k = 0; k < count; k++) {
        ElmHfParam p;
        elm_hf_param(&host.config, k, &p);
        char name[160];
        snprintf(name, sizeof name, "grad.%s", p.name);
        size_t n;
        float *rg = read_f32(grads, name, &n), *mine = malloc(n * sizeof(float));
        elm_hf_to_hf(&p, gall, mine);
        gc_compare(gc, name, mine, rg, n, 2e-2);
        free(rg), free(mine);
    }

    // Ten AdamW steps from the fixture's weights vs PyTorch's losses (reference.json settings).
    GC_OK(elm_gpt2_cuda_upload(g, &host, &err));
    ElmAdamW aw = {1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f};
    for (int s = 0; s < 10; s++) {
        GC_OK(elm_gpt2_cuda_zero_grad(g, &err));
        GC_OK(elm_gpt2_cuda_forward_backward(g, inputs, targets, B, T, 1.0f, &loss, &err));
        char what[64];
        snprintf(what, sizeof what, "AdamW step %d loss vs PyTorch", s);
        check_scalar(gc, what, loss, adam_losses[s], 1e-2);
        GC_OK(elm_gpt2_cuda_step(g, &aw, 0.0f, NULL, &err));
    }

    // 30 clipped steps side by side with the CPU model: the loss curves agree within 2%.
    ElmGpt2 cpu;
    if (elm_hf_load(fixture, &cpu, &err)) GC_DIE(err);
    cpu.threads = 2;
    GC_OK(elm_gpt2_cuda_upload(g, &cpu, &err));
    double worst = 0.0;
    for (int s = 0; s < 30; s++) {
        GC_OK(elm_gpt2_cuda_zero_grad(g, &err));
        GC_OK(elm_gpt2_cuda_forward_backward(g, inputs, targets, B, T, 1.0f, &loss, &err));
        float gnorm;
        GC_OK(elm_gpt2_cuda_step(g, &aw, 1.0f, &gnorm, &err));
        GC_OK(elm_gpt2_forward(&cpu, inputs, targets, B, T, &err));
        GC_OK(elm_gpt2_zero_grad(&cpu, &err));
        GC_OK(elm_gpt2_backward(&cpu, 1.0f, &err));
        float cnorm = elm_gpt2_clip_grad(&cpu, 1.0f);
        GC_OK(elm_gpt2_adamw_step(&cpu, &aw, &err));
        double rel = fabs(loss - cpu.mean_loss) / fabs(cpu.mean_loss);
        if (rel > worst) worst = rel;
        if (s % 10 == 9)
            printf("  step %2d: GPU loss %.5f, CPU loss %.5f; grad norm GPU %.4f CPU %.4f\n", s,
                   loss, cpu.mean_loss, gnorm, cnorm);
    }
    printf("  30-step loss curve: worst relative gap to the CPU %.3e (tol 2e-2)%s\n", worst,
           worst <= 2e-2 ? "  ok" : "  FAIL");
    if (worst > 2e-2) gc->failures++;

    // Resume: GPU state -> host model -> CPU forward gives the GPU's loss; adam_t travels.
    GC_OK(elm_gpt2_cuda_forward(g, inputs, targets, B, T, &loss, &err));
    ElmGpt2 back;
    if (elm_hf_load(fixture, &back, &err)) GC_DIE(err);
    back.threads = 2;
    GC_OK(elm_gpt2_cuda_download(g, &back, &err));
    GC_OK(elm_gpt2_forward(&back, inputs, targets, B, T, &err));
    check_scalar(gc, "downloaded weights: CPU loss vs GPU loss", back.mean_loss, loss, 1e-2);
    printf("  adam_t after download: %lld (want 30) %s\n", back.adam_t,
           back.adam_t == 30 ? "ok" : "FAIL");
    if (back.adam_t != 30) gc->failures++;

    elm_gpt2_cuda_free(g);
    elm_gpt2_free(&host), elm_gpt2_free(&cpu), elm_gpt2_free(&back);
    free(inputs), free(targets), free(logits_ref), free(loss_ref), free(adam_losses);
    free(logits), free(gall);
}

int main(int argc, char **argv) {
    GpuCheck gc;
    gc_init(&gc, argc, argv, "test_gpt2_cuda");
    const char *shared = getenv("ELM_SHARED");
    snprintf(fixture, sizeof fixture, "%s/fixtures/gpt2-tiny", shared ? shared : "../shared");
    char path[4200];
    ElmError err = {{0}};
    ElmSafetensors ref, grads;
    snprintf(path, sizeof path, "%s/reference.safetensors", fixture);
    if (elm_safetensors_open(&ref, path, &err)) GC_DIE(err);
    snprintf(path, sizeof path, "%s/grads.safetensors", fixture);
    if (elm_safetensors_open(&grads, path, &err)) GC_DIE(err);
    run(&gc, &ref, &grads, 1);
    run(&gc, &ref, &grads, 2);
    elm_safetensors_close(&ref), elm_safetensors_close(&grads);
    return gc_finish(&gc, "test_gpt2_cuda");
}
