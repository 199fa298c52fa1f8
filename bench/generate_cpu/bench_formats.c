// bench_formats.c — KV-cache decode tokens/s of a GPT-2 shape (random weights) for each weight
// format of [generate] weights, interleaved round by round in one process so the formats share
// the machine's load: fp32, bf16, int8 (int8 x int8, VNNI: the shipped variant) and int8-deq
// (int8 weights widened to fp32). Counts as `elm bench --only=decode` does: B * n_new new tokens
// over the whole call, the prompts' prefill included. Run by bench/generate_cpu/formats.sh.
#include "engine/base/stats.h"
#include "engine/model/gpt2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_VAR 6
static const struct {
    const char *name;
    int fmt, int8_mode, portable, kv_bf16;
} VARS[N_VAR] = {
    {"fp32", ELM_QMM_FP32, 0, 0, 0},
    {"bf16", ELM_QMM_BF16, 0, 0, 0},
    {"int8", ELM_QMM_INT8, ELM_QMM_INT8_ACT8, 0, 0},
    {"int8-deq", ELM_QMM_INT8, ELM_QMM_INT8_DEQ, 0, 0},
    {"bf16-portable", ELM_QMM_BF16, 0, 1, 0},
    {"int8-kvbf16", ELM_QMM_INT8, ELM_QMM_INT8_ACT8, 0, 1},
};

int main(int argc, char **argv) {
    const char *preset = "gpt2", *batches = "1,8,32", *which = "fp32,bf16,int8,int8-deq";
    int n_new = 64, prompt = 16, threads = 2, rounds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--preset"))
            preset = v;
        else if (!strcmp(k, "--B"))
            batches = v;
        else if (!strcmp(k, "--new"))
            n_new = atoi(v);
        else if (!strcmp(k, "--prompt"))
            prompt = atoi(v);
        else if (!strcmp(k, "--threads"))
            threads = atoi(v);
        else if (!strcmp(k, "--rounds"))
            rounds = atoi(v);
        else if (!strcmp(k, "--weights"))
            which = v;
        else {
            fprintf(stderr,
                    "usage: bench_formats [--preset gpt2] [--B 1,8,32] [--new 64] "
                    "[--prompt 16] [--threads 2] [--rounds 5] [--weights "
                    "fp32,bf16,int8,int8-deq,bf16-portable,int8-kvbf16 (in this order; the first "
                    "is the ratios' base)]\n");
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
    int var[N_VAR], n_var = 0; // the variants asked for, in order
    char names[256];
    snprintf(names, sizeof names, "%s", which);
    for (char *t = strtok(names, ","); t && n_var < N_VAR; t = strtok(NULL, ","))
        for (int v = 0; v < N_VAR; v++)
            if (!strcmp(t, VARS[v].name)) var[n_var++] = v;
    if (!n_var) return fprintf(stderr, "--weights %s: no known format\n", which), 2;
    char list[256];
    snprintf(list, sizeof list, "%s", batches);
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int B = atoi(tok);
        double rate[N_VAR][64];
        if (rounds > 64) rounds = 64;
        for (int r = 0; r <= rounds; r++) { // round 0 warms up
            for (int i = 0; i < n_var; i++) {
                int v = var[i];
                m.weights_int8 = VARS[v].int8_mode, m.weights_portable = VARS[v].portable;
                m.kv_bf16 = VARS[v].kv_bf16;
                double tps;
                if (elm_gpt2_set_weights(&m, VARS[v].fmt, &err) ||
                    elm_gpt2_decode_bench(&m, B, prompt, n_new, 1, 7 + (uint64_t)r, &tps, &err)) {
                    fprintf(stderr, "%s\n", err.msg);
                    return 1;
                }
                if (r) rate[i][r - 1] = tps;
            }
        }
        double med[N_VAR];
        for (int i = 0; i < n_var; i++) {
            int v = var[i];
            med[i] = elm_median(rate[i], rounds);
            printf("{\"preset\": \"%s\", \"batch\": %d, \"weights\": \"%s\", \"kernel\": \"%s\", "
                   "\"tok_per_s\": %.2f, \"vs_fp32\": %.3f, \"rounds\": %d, \"threads\": %d}\n",
                   preset, B, VARS[v].name,
                   VARS[v].fmt == ELM_QMM_FP32
                       ? "fp32"
                       : elm_qmatmul_isa_name(VARS[v].fmt, VARS[v].int8_mode,
                                              VARS[v].portable ? ELM_QMM_PORTABLE : ELM_QMM_BEST),
                   med[i], med[i] / med[0], rounds, threads);
        }
        fflush(stdout);
    }
    elm_gpt2_free(&m);
    return 0;
}
