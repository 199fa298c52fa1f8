// bench_train_cpu.c — times ElmGpt2 training steps and KV-cache decoding on the CPU.
// Run by bench/train_cpu/run.sh (not a test); prints one JSON line per measurement.
#include "engine/model/bf16.h"
#include "engine/model/gpt2.h"
#include "engine/model/layers.h"
#include "engine/base/fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Process CPU seconds (user + system, all threads): a load-independent view on a shared machine.
static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static long peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

int main(int argc, char **argv) {
    const char *mode = "train", *preset = "gpt2";
    int B = 4, T = 64, steps = 10, blas = elm_matmul_have_blas(), threads = 2;
    int prompt = 16, n_new = 32, cache = 1;
    const char *precision = "fp32";
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--mode"))
            mode = v;
        else if (!strcmp(k, "--preset"))
            preset = v;
        else if (!strcmp(k, "--B"))
            B = atoi(v);
        else if (!strcmp(k, "--T"))
            T = atoi(v);
        else if (!strcmp(k, "--steps"))
            steps = atoi(v);
        else if (!strcmp(k, "--blas"))
            blas = atoi(v);
        else if (!strcmp(k, "--precision"))
            precision = v;
        else if (!strcmp(k, "--threads"))
            threads = atoi(v);
        else if (!strcmp(k, "--prompt"))
            prompt = atoi(v);
        else if (!strcmp(k, "--new"))
            n_new = atoi(v);
        else if (!strcmp(k, "--cache"))
            cache = atoi(v);
        else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    ElmError err;
    ElmGpt2Config cfg;
    ElmGpt2 m;
    if (elm_gpt2_preset(preset, &cfg, &err) || elm_gpt2_init(&m, &cfg, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    elm_gpt2_init_random(&m, 1337);
    m.threads = threads;
    m.use_blas = blas && elm_matmul_have_blas();
    if (!strcmp(precision, "bf16")) {
        if (!elm_bf16_cpu_has()) {
            fprintf(stderr, "--precision bf16: this CPU lacks AVX512-BF16 (vdpbf16ps)\n");
            return 1;
        }
        m.precision = ELM_GPT2_BF16;
    } else if (strcmp(precision, "fp32")) {
        fprintf(stderr, "--precision %s: expected fp32 or bf16\n", precision);
        return 2;
    }
    if (!strcmp(mode, "decode")) {
        double tps;
        if (elm_gpt2_decode_bench(&m, B, prompt, n_new, cache, 7, &tps, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        printf(
            "{\"mode\":\"decode\",\"preset\":\"%s\",\"matmul\":\"%s\",\"threads\":%d,\"B\":%d,"
            "\"prompt\":%d,\"new\":%d,\"kv_cache\":%d,\"tok_per_s\":%.2f,\"peak_rss_mib\":%ld}\n",
            preset, m.use_blas ? "blas" : "loops", threads, B, prompt, n_new, cache, tps,
            peak_rss_mib());
        elm_gpt2_free(&m);
        return 0;
    }
    int *tok = malloc((size_t)B * (T + 1) * sizeof(int));
    uint64_t s = 42;
    for (int i = 0; i < B * (T + 1); i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        tok[i] = (int)((s >> 33) % (uint64_t)cfg.vocab_size);
    }
    int *inp = malloc((size_t)B * T * sizeof(int)), *tgt = malloc((size_t)B * T * sizeof(int));
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            inp[b * T + t] = tok[b * (T + 1) + t];
            tgt[b * T + t] = tok[b * (T + 1) + t + 1];
        }
    ElmAdamW opt = {.lr = 1e-4f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f};
    double *ms = malloc((size_t)steps * sizeof(double)),
           *cpu = malloc((size_t)steps * sizeof(double));
    double fwd = 0, bwd = 0;
    for (int i = 0; i < steps; i++) {
        double t0 = elm_now(), c0 = cpu_seconds();
        if (elm_gpt2_forward(&m, inp, tgt, B, T, &err)) break;
        double t1 = elm_now();
        if (elm_gpt2_zero_grad(&m, &err) || elm_gpt2_backward(&m, 1.0f, &err)) break;
        double t2 = elm_now();
        // As the trainer (train_device.c): the norm, then the clip's factor inside the update.
        float coef = elm_gpt2_clip_coef(elm_gpt2_grad_norm(&m), 1.0f);
        if (elm_gpt2_adamw_step_scaled(&m, &opt, coef, &err)) break;
        double t3 = elm_now();
        ms[i] = (t3 - t0) * 1e3;
        cpu[i] = (cpu_seconds() - c0) * 1e3;
        fwd += t1 - t0;
        bwd += t2 - t1;
        fprintf(stderr, "step %d: %.0f ms (fwd %.0f, bwd %.0f, opt %.0f) loss %.4f\n", i, ms[i],
                (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, m.mean_loss);
    }
    qsort(ms, steps, sizeof(double), cmp_double);
    qsort(cpu, steps, sizeof(double), cmp_double);
    printf("{\"mode\":\"train\",\"preset\":\"%s\",\"matmul\":\"%s\",\"precision\":\"%s\","
           "\"threads\":%d,\"B\":%d,"
           "\"T\":%d,\"steps\":%d,\"median_ms\":%.1f,\"min_ms\":%.1f,\"median_cpu_ms\":%.1f,"
           "\"peak_rss_mib\":%ld}\n",
           preset, m.use_blas ? "blas" : "loops", precision, threads, B, T, steps, ms[steps / 2],
           ms[0], cpu[steps / 2], peak_rss_mib());
    free(ms);
    free(cpu);
    free(tok);
    free(inp);
    free(tgt);
    elm_gpt2_free(&m);
    return 0;
}
