// test_train_step.c — the GPU training step end to end on random tokens. Check mode (ctest):
// a small GPT-2 overfits one batch (loss must fall), and the matmul implementations (elm,
// cuBLASLt) and activation recompute give the same loss curve. Bench mode (bench/train_gpu):
//   test_train_step --bench PRESET B T STEPS [elm|cublas|auto] [recompute]
// prints tok/s, ms/step, MFU and peak device memory for GPT-2 PRESET (gpt2, gpt2-medium).
#include "gpucheck.h"

#include "engine/model/gpt2.h"
#include "kernels/gpu/gpt2_cuda.h"

#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void random_tokens(GpuCheck *gc, int *x, size_t n, int V) {
    for (size_t i = 0; i < n; i++) x[i] = (int)((gc_uniform(gc) * 0.5f + 0.5f) * (V - 1));
}

// Loss after each of `steps` steps on one fixed batch.
static void curve(const ElmGpt2 *host, int matmul, int recompute, int B, int T, const int *inp,
                  const int *tgt, int steps, float *losses) {
    ElmError err = {{0}};
    ElmGpt2CudaOptions opt = {0, matmul, 0, recompute, B, T};
    ElmGpt2Cuda *g = elm_gpt2_cuda_create(host, &opt, &err);
    if (!g) GC_DIE(err);
    ElmAdamW aw = {1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f};
    for (int s = 0; s < steps; s++) {
        GC_OK(elm_gpt2_cuda_zero_grad(g, &err));
        GC_OK(elm_gpt2_cuda_forward_backward(g, inp, tgt, B, T, 1.0f, &losses[s], &err));
        GC_OK(elm_gpt2_cuda_step(g, &aw, 1.0f, NULL, &err));
    }
    elm_gpt2_cuda_free(g);
}

static int check(GpuCheck *gc) {
    ElmError err = {{0}};
    ElmGpt2Config cfg = {2, 2, 128, 128, 1021}; // odd vocabulary: padded logits rows
    ElmGpt2 host;
    GC_OK(elm_gpt2_init(&host, &cfg, &err));
    elm_gpt2_init_random(&host, 42);
    int B = 4, T = 67; // odd T
    int *inp = malloc(sizeof(int) * B * T), *tgt = malloc(sizeof(int) * B * T);
    random_tokens(gc, inp, (size_t)B * T, cfg.vocab_size);
    random_tokens(gc, tgt, (size_t)B * T, cfg.vocab_size);
    enum { STEPS = 20 };
    float a[STEPS], b[STEPS], c[STEPS];
    curve(&host, 1, 0, B, T, inp, tgt, STEPS, a);
    curve(&host, 2, 0, B, T, inp, tgt, STEPS, b);
    curve(&host, 1, 1, B, T, inp, tgt, STEPS, c);
    printf("  loss: first %.4f last %.4f (elm), %.4f -> %.4f (cuBLASLt), %.4f -> %.4f "
           "(recompute)\n",
           a[0], a[STEPS - 1], b[0], b[STEPS - 1], c[0], c[STEPS - 1]);
    int ok = a[STEPS - 1] < a[0] - 1.0f;
    printf("  loss falls by more than 1 nat when overfitting one batch: %s\n", ok ? "ok" : "FAIL");
    gc->failures += !ok;
    gc_compare(gc, "loss curve: cuBLASLt vs elm matmul", b, a, STEPS, 1e-2);
    gc_compare(gc, "loss curve: recompute vs stored GELU", c, a, STEPS, 1e-2);
    free(inp), free(tgt);
    elm_gpt2_free(&host);
    return 0;
}

static int bench(GpuCheck *gc, int argc, char **argv) {
    ElmError err = {{0}};
    if (argc < 6) {
        fprintf(stderr, "usage: test_train_step --bench PRESET B T STEPS [elm|cublas|auto] "
                        "[recompute]\n");
        return 2;
    }
    ElmGpt2Config cfg;
    GC_OK(elm_gpt2_preset(argv[2], &cfg, &err));
    int B = atoi(argv[3]), T = atoi(argv[4]), steps = atoi(argv[5]);
    int matmul = elm_gpt2_cuda_matmul_from_name(argc > 6 ? argv[6] : "auto");
    int recompute = argc > 7 && strcmp(argv[7], "recompute") == 0;
    ElmGpt2 host;
    GC_OK(elm_gpt2_init(&host, &cfg, &err));
    elm_gpt2_init_random(&host, 1337);
    ElmGpt2CudaOptions opt = {0, matmul, 0, recompute, B, T};
    ElmGpt2Cuda *g = elm_gpt2_cuda_create(&host, &opt, &err);
    if (!g) GC_DIE(err);
    size_t BT = (size_t)B * T;
    int *inp = malloc(sizeof(int) * BT), *tgt = malloc(sizeof(int) * BT);
    ElmAdamW aw = {3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f};
    float loss = 0.0f, first = 0.0f;
    double t0 = 0.0;
    for (int s = 0; s < steps + 3; s++) { // 3 warm-up steps
        if (s == 3) {
            GC_OK(elm_gpt2_cuda_sync(g, &err));
            t0 = now_s();
        }
        random_tokens(gc, inp, BT, cfg.vocab_size);
        random_tokens(gc, tgt, BT, cfg.vocab_size);
        GC_OK(elm_gpt2_cuda_zero_grad(g, &err));
        int want_loss = s == 0 || s == steps + 2;
        GC_OK(elm_gpt2_cuda_forward_backward(g, inp, tgt, B, T, 1.0f, want_loss ? &loss : NULL,
                                             &err));
        if (s == 0) first = loss;
        GC_OK(elm_gpt2_cuda_step(g, &aw, 1.0f, NULL, &err));
    }
    GC_OK(elm_gpt2_cuda_sync(g, &err));
    double dt = (now_s() - t0) / steps;
    double tok_s = BT / dt;
    // Model FLOPs per token (PaLM appendix B): 6 N + 12 L C T, the attention term included.
    double flops_tok = 6.0 * host.num_parameters + 12.0 * cfg.n_layer * cfg.n_embd * T;
    double mfu = flops_tok * tok_s / 989.5e12; // H100 SXM dense bf16 peak
    printf("RESULT {\"impl\": \"elm-cuda\", \"preset\": \"%s\", \"B\": %d, \"T\": %d, \"matmul\": "
           "\"%s\", \"recompute\": %d, \"steps\": %d, \"ms_per_step\": %.2f, \"tok_per_s\": %.0f, "
           "\"mfu_h100\": %.4f, \"peak_mem_GiB\": %.2f, \"loss_first\": %.4f, \"loss_last\": "
           "%.4f}\n",
           argv[2], B, T, argc > 6 ? argv[6] : "auto", recompute, steps, dt * 1e3, tok_s, mfu,
           elm_gpt2_cuda_peak_mem(g) / 1073741824.0, first, loss);
    elm_gpt2_cuda_free(g);
    elm_gpt2_free(&host);
    free(inp), free(tgt);
    return 0;
}

int main(int argc, char **argv) {
    GpuCheck gc;
    gc_init(&gc, argc, argv, "test_train_step");
    if (gc.bench && argc > 1 && strcmp(argv[1], "--bench") == 0) {
        int rc = bench(&gc, argc, argv);
        elm_cuda_ctx_free(gc.ctx);
        return rc;
    }
    check(&gc);
    return gc_finish(&gc, "test_train_step");
}
