// Continuous batching on the GPU (CUDA backend) vs the CPU backend, and the generation
// benchmark.
//   check (ctest): gpt2-tiny + the GPT-2 vocabulary; 96 requests, 5 prompts. Greedy texts from
//     the GPU with 1, 7 and 32 slots vs the CPU (>= 99% equal); sampled texts (defaults) from
//     the GPU with 7 and 32 slots vs the CPU: the count of equal texts is reported (bf16
//     logits move a draw only when its uniform lies near a boundary, and one moved token
//     changes the rest of a text), every request emitted once in order, slot utilisation.
//   --bench SHAPE COUNT SLOTS NEW [CAP_S] (e.g. --bench gpt2-medium 100000 512 64 120): a random
//   model of
//     the preset, COUNT unconditional texts of exactly NEW tokens (story mode bans
//     <|endoftext|>, like HF's min_new_tokens) at temperature 0.8, top-k/top-p/penalties off;
//     then batch-1 latency (1 slot, 4 texts). Prints one JSON line per measurement. With CAP_S
//     the run stops after that many seconds and reports the rate so far ("capped": true, "s"
//     then projects COUNT texts at that rate).
#include "decodecheck.h"

#ifndef ELM_HAVE_CUDA
int main(void) {
    DC_SKIP_WITHOUT_CUDA("test_batcher_gpu");
}
#else

#include "elmtest.h"
#include "kernels/gpu/batcher_cuda.h"
#include "engine/base/fsutil.h"
#include "engine/model/hf.h"

#define NREQ 96

typedef struct Got {
    char *text[NREQ];
    int times[NREQ];
    long long order_errors;
    uint64_t expect;
} Got;

static int collect(void *user, uint64_t index, const char *prompt, const ElmGenText *t,
                   ElmError *err) {
    Got *g = user;
    (void)prompt, (void)err;
    if (index != g->expect) g->order_errors++;
    g->expect = index + 1;
    if (index < NREQ) {
        g->times[index]++;
        free(g->text[index]);
        g->text[index] = strdup(t->text);
    }
    return 0;
}

// Counts texts; stops the run (an error the bench expects) once `cap_s` seconds have passed,
// so a slow build still reports a rate inside the device call's time.
typedef struct Counter {
    long long emitted;
    double t0, cap_s;
    int capped;
} Counter;

static int count_only(void *user, uint64_t index, const char *prompt, const ElmGenText *t,
                      ElmError *err) {
    Counter *k = user;
    (void)prompt, (void)t, (void)index;
    k->emitted++;
    if (k->cap_s > 0 && elm_now() - k->t0 > k->cap_s) {
        k->capped = 1;
        return elm_err(err, "time cap");
    }
    return 0;
}

static const char *prompts[] = {"", "Hello world", "The meaning of life is", "a",
                                "Tweets about cats and dogs"};

static void run_one(ElmBatchBackend *be, ElmGpt2 *m, const ElmBpe *bpe, const ElmGenParams *p,
                    Got *g, ElmBatchStats *st) {
    ElmError err = {{0}};
    memset(g, 0, sizeof *g);
    ElmBatchJob job = {.params = p,
                       .bpe = bpe,
                       .prompts = prompts,
                       .n_prompts = 5,
                       .count = NREQ,
                       .n_ctx = m->config.n_ctx,
                       .emit = collect,
                       .user = g};
    DC_OK(elm_batch_run(&job, be, st, &err));
}

static void compare(ElmCudaCtx *ctx, ElmGpt2 *m, const ElmBpe *bpe, const ElmGenParams *p,
                    const char *what, double need) {
    ElmError err = {{0}};
    ElmBatchJob probe = {.params = p,
                         .bpe = bpe,
                         .prompts = prompts,
                         .n_prompts = 5,
                         .count = NREQ,
                         .n_ctx = m->config.n_ctx};
    int cap;
    DC_OK(elm_batch_capacity(&probe, &cap, &err));
    Got ref, got;
    ElmBatchStats st;
    ElmBatchBackend *cpu = elm_batch_cpu_create(m, p, elm_bpe_eot(bpe), 8, cap, &err);
    DC_OK(!cpu);
    run_one(cpu, m, bpe, p, &ref, &st);
    elm_batch_cpu_free(cpu);
    static const int slot_counts[] = {1, 7, 32};
    for (int k = need > 0 ? 0 : 1; k < 3; k++) {
        ElmBatchBackend *gpu =
            elm_batch_cuda_create(ctx, m, p, elm_bpe_eot(bpe), slot_counts[k], cap, 1, &err);
        DC_OK(!gpu);
        run_one(gpu, m, bpe, p, &got, &st);
        elm_batch_cuda_free(gpu);
        int same = 0, once = 0;
        for (int i = 0; i < NREQ; i++) {
            once += got.times[i] == 1;
            same += got.text[i] && ref.text[i] && strcmp(got.text[i], ref.text[i]) == 0;
            free(got.text[i]);
        }
        printf("batcher %s, %d GPU slots: %d/%d texts equal to the CPU's, slots %.1f%% busy\n",
               what, slot_counts[k], same, NREQ, 100.0 * st.busy / (st.total ? st.total : 1));
        CHECK(once == NREQ && got.order_errors == 0, "%s: %d emitted once, %lld out of order", what,
              once, got.order_errors);
        CHECK(same >= need * NREQ, "%s, %d slots: %d of %d texts equal", what, slot_counts[k], same,
              NREQ);
    }
    for (int i = 0; i < NREQ; i++) free(ref.text[i]);
}

static int bench(ElmCudaCtx *ctx, const ElmBpe *bpe, const char *shape, long long count, int slots,
                 int n_new, double cap_s) {
    ElmError err = {{0}};
    ElmGpt2Config cfg;
    ElmGpt2 m;
    DC_OK(elm_gpt2_preset(shape, &cfg, &err) || elm_gpt2_init(&m, &cfg, &err));
    elm_gpt2_init_random(&m, 1);
    ElmGenParams p = {.sample = {0.8f, 0, 1.0f, 1.0f, 0},
                      .mode = ELM_GEN_STORY,
                      .max_new_tokens = n_new,
                      .max_chars = 100000000,
                      .seed = 5};
    for (int pass = 0; pass < 2; pass++) {
        int S = pass == 0 ? slots : 1;
        long long n = pass == 0 ? count : 4;
        Counter k = {0, 0, pass == 0 ? cap_s : 0, 0};
        ElmBatchJob job = {.params = &p,
                           .bpe = bpe,
                           .count = n,
                           .n_ctx = cfg.n_ctx,
                           .emit = count_only,
                           .user = &k};
        int cap;
        DC_OK(elm_batch_capacity(&job, &cap, &err));
        ElmBatchBackend *be = elm_batch_cuda_create(ctx, &m, &p, elm_bpe_eot(bpe), S, cap, 1, &err);
        DC_OK(!be);
        // Warm-up: a few texts through the same backend (graph capture, library set-up).
        ElmBatchJob warm = job;
        Counter w = {0, 0, 0, 0};
        warm.count = S < 64 ? S : 64, warm.user = &w;
        ElmBatchStats st;
        DC_OK(elm_batch_run(&warm, be, &st, &err));
        double t0 = k.t0 = elm_now();
        int rc = elm_batch_run(&job, be, &st, &err);
        double dt = elm_now() - t0;
        if (rc && !k.capped) DC_OK(rc);
        ElmBatchCudaStats cs;
        elm_batch_cuda_stats(be, &cs);
        elm_batch_cuda_free(be);
        CHECK(k.capped || k.emitted == n, "bench: %lld of %lld texts", k.emitted, n);
        // Capped: the rate so far, and the time `count` texts would take at it.
        double tok_s = st.new_tokens / dt;
        if (pass == 0)
            printf("{\"peer\": \"elm\", \"what\": \"sample\", \"shape\": \"%s\", \"slots\": %d, "
                   "\"texts\": %lld, \"done\": %lld, \"capped\": %s, \"new_tokens\": %d, "
                   "\"s\": %.3f, \"tok_per_s\": %.0f, "
                   "\"tweets_per_s\": %.1f, \"slot_busy\": %.4f, \"steps\": %lld, "
                   "\"ms_per_step\": %.4f, \"prefill_rows\": %lld}\n",
                   shape, S, n, k.emitted, k.capped ? "true" : "false", n_new,
                   k.capped ? (double)n * n_new / tok_s : dt, tok_s, k.emitted / dt,
                   (double)st.busy / (st.total ? st.total : 1), st.steps,
                   st.steps ? 1e3 * dt / st.steps : 0.0, cs.prefill_rows);
        else
            printf("{\"peer\": \"elm\", \"what\": \"latency\", \"shape\": \"%s\", \"slots\": 1, "
                   "\"ms_per_token\": %.4f, \"tok_per_s\": %.1f}\n",
                   shape, 1e3 * dt / (double)st.new_tokens, st.new_tokens / dt);
        fflush(stdout);
    }
    elm_gpt2_free(&m);
    return 0;
}

int main(int argc, char **argv) {
    ElmCudaCtx *ctx = dc_open("test_batcher_gpu");
    ElmError err = {{0}};
    const char *shared = getenv("ELM_SHARED");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data/gpt2-vocab", shared ? shared : "../shared");
    ElmBpe *bpe = elm_bpe_load_dir(dir, &err);
    DC_OK(!bpe);
    if (argc >= 6 && strcmp(argv[1], "--bench") == 0) {
        bench(ctx, bpe, argv[2], atoll(argv[3]), atoi(argv[4]), atoi(argv[5]),
              argc > 6 ? atof(argv[6]) : 0);
    } else {
        ElmGpt2 m;
        snprintf(dir, sizeof dir, "%s/fixtures/gpt2-tiny", shared ? shared : "../shared");
        DC_OK(elm_hf_load(dir, &m, &err));
        ElmGenParams p = {.sample = {0.0f, 0, 1.0f, 1.0f, 0},
                          .mode = ELM_GEN_TWEET,
                          .max_new_tokens = 32,
                          .max_chars = 200,
                          .seed = 31};
        compare(ctx, &m, bpe, &p, "greedy", 0.99);
        p.sample = (ElmSampleParams){0.9f, 40, 0.95f, 1.1f, 3};
        compare(ctx, &m, bpe, &p, "sampled (defaults)", 0.0);
        elm_gpt2_free(&m);
    }
    elm_bpe_free(bpe);
    elm_cuda_ctx_free(ctx);
    ELM_TEST_DONE();
}
#endif
