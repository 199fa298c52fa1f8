// bench_generate_cpu.c — tokens/s of `elm generate`'s sampling loop on the CPU for a GPT-2
// shape with random weights and random prompts: with the KV cache (elm_generate_batch, the
// code `elm generate` runs) and without it (the same sampler, the full forward recomputed for
// every new token). Run by bench/generate_cpu/run.sh (not a test); one JSON line per run.
#include "engine/base/fsutil.h"
#include "engine/base/rng.h"
#include "engine/generate/generate.h"
#include "engine/model/gpt2.h"
#include "engine/generate/sample.h"
#include "tokenizer/bpe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *WORDS[] = {"the",   "people", "I",     "love", "think", "about", "world",
                              "today", "never",  "great", "work", "life",  "we",    "you",
                              "what",  "time",   "best",  "how",  "can",   "make"};

// B random prompts of `words` words each.
static char **random_prompts(int B, int words, uint64_t seed) {
    char **p = calloc((size_t)B, sizeof *p);
    for (int b = 0; b < B; b++) {
        p[b] = calloc((size_t)words * 8 + 1, 1);
        for (int w = 0; w < words; w++) {
            seed = elm_rng_mix(seed);
            if (w) strcat(p[b], " ");
            strcat(p[b], WORDS[seed % (sizeof WORDS / sizeof WORDS[0])]);
        }
    }
    return p;
}

// The no-cache reference loop: every step runs the whole (B, T) forward again and samples the
// last position of each row with the same sampler and uniforms as elm_generate_batch.
static int generate_nocache(ElmGpt2 *m, const ElmBpe *bpe, const ElmGenParams *p, char **prompts,
                            int B, long *n_tokens, ElmError *err) {
    const int V = m->config.vocab_size;
    int32_t **ids = calloc((size_t)B, sizeof *ids);
    size_t *n = calloc((size_t)B, sizeof *n), *cap = calloc((size_t)B, sizeof *cap), T = 0;
    for (int b = 0; b < B; b++) {
        cap[b] = 16;
        ids[b] = malloc(sizeof(int32_t) * 16);
        ids[b][n[b]++] = elm_bpe_eot(bpe);
        if (elm_bpe_encode(bpe, prompts[b], strlen(prompts[b]), 0, &ids[b], &n[b], &cap[b], err))
            return -1;
        if (n[b] > T) T = n[b];
    }
    // Rows must share T: left-pad shorter prompts by repeating <|endoftext|>.
    size_t maxT = T + (size_t)p->max_new_tokens;
    int *inp = malloc(sizeof(int) * (size_t)B * maxT);
    int32_t **ctx = calloc((size_t)B, sizeof *ctx);
    ElmSampler *s = calloc((size_t)B, sizeof *s);
    for (int b = 0; b < B; b++) {
        ctx[b] = malloc(sizeof(int32_t) * maxT);
        size_t pad = T - n[b];
        for (size_t t = 0; t < T; t++) ctx[b][t] = t < pad ? ids[b][0] : ids[b][t - pad];
        if (elm_sampler_init(&s[b], &p->sample, V, err)) return -1;
    }
    *n_tokens = 0;
    for (int pos = 0; pos < p->max_new_tokens; pos++, T++) {
        for (int b = 0; b < B; b++)
            for (size_t t = 0; t < T; t++) inp[(size_t)b * T + t] = ctx[b][t];
        if (elm_gpt2_forward(m, inp, NULL, B, (int)T, err)) return -1;
        for (int b = 0; b < B; b++) {
            const float *row = m->acts.logits + ((size_t)b * T + T - 1) * (size_t)V;
            double u = elm_sample_uniform(p->seed, (uint64_t)b, (uint64_t)pos);
            int32_t tok = elm_sampler_pick(&s[b], row, ctx[b] + 1, (int)T - 1, u, NULL);
            ctx[b][T] = tok < 0 ? 0 : tok;
            (*n_tokens)++;
        }
    }
    for (int b = 0; b < B; b++) {
        elm_sampler_free(&s[b]);
        free(ctx[b]);
        free(ids[b]);
    }
    free(s), free(ctx), free(ids), free(n), free(cap), free(inp);
    return 0;
}

int main(int argc, char **argv) {
    const char *preset = "gpt2", *vocab = NULL;
    int B = 4, words = 8, n_new = 32, threads = 2, nocache = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--preset"))
            preset = v;
        else if (!strcmp(k, "--vocab"))
            vocab = v;
        else if (!strcmp(k, "--B"))
            B = atoi(v);
        else if (!strcmp(k, "--words"))
            words = atoi(v);
        else if (!strcmp(k, "--new"))
            n_new = atoi(v);
        else if (!strcmp(k, "--threads"))
            threads = atoi(v);
        else if (!strcmp(k, "--nocache"))
            nocache = atoi(v);
        else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    if (!vocab) {
        fprintf(stderr, "usage: bench_generate_cpu --vocab DIR [--preset gpt2] [--B 4] "
                        "[--words 8] [--new 32] [--threads 2] [--nocache 1]\n");
        return 2;
    }
    ElmError err;
    ElmGpt2Config cfg;
    ElmGpt2 m;
    ElmBpe *bpe = elm_bpe_load_dir(vocab, &err);
    if (!bpe || elm_gpt2_preset(preset, &cfg, &err) || elm_gpt2_init(&m, &cfg, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    elm_gpt2_init_random(&m, 1337);
    m.threads = threads;
    char **prompts = random_prompts(B, words, 99);
    // Sampling as `elm generate`'s defaults, with no early stop so every row makes n_new tokens.
    ElmGenParams p = {.sample = {0.9f, 40, 0.95f, 1.1f, 3},
                      .mode = ELM_GEN_STORY,
                      .max_new_tokens = n_new,
                      .max_chars = 1 << 30,
                      .seed = 5};
    uint64_t *idx = calloc((size_t)B, sizeof *idx);
    for (int b = 0; b < B; b++) idx[b] = (uint64_t)b;
    ElmGenText *out = calloc((size_t)B, sizeof *out);
    double t0 = elm_now();
    if (elm_generate_batch(&m, bpe, &p, (const char *const *)prompts, idx, B, out, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double cached = (double)B * n_new / (elm_now() - t0);
    for (int b = 0; b < B; b++) elm_gen_text_free(&out[b]);
    printf("{\"preset\":\"%s\",\"threads\":%d,\"B\":%d,\"prompt_words\":%d,\"new\":%d,"
           "\"kv_cache\":1,\"tok_per_s\":%.2f}\n",
           preset, threads, B, words, n_new, cached);
    fflush(stdout);
    if (nocache) {
        long n_tok = 0;
        t0 = elm_now();
        if (generate_nocache(&m, bpe, &p, prompts, B, &n_tok, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double plain = (double)n_tok / (elm_now() - t0);
        printf("{\"preset\":\"%s\",\"threads\":%d,\"B\":%d,\"prompt_words\":%d,\"new\":%d,"
               "\"kv_cache\":0,\"tok_per_s\":%.2f}\n",
               preset, threads, B, words, n_new, plain);
        printf("{\"kv_cache_speedup\":%.2f}\n", cached / plain);
    }
    for (int b = 0; b < B; b++) free(prompts[b]);
    free(prompts), free(idx), free(out);
    elm_bpe_free(bpe);
    elm_gpt2_free(&m);
    return 0;
}
