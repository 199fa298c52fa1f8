// The batcher's CUDA backend (kernels/gpu/batcher_cuda.c) over mock_decoder_api.c vs the CPU
// backend: with the same model arithmetic underneath, every text of the gpt2-tiny fixture must be
// equal for 1, 3 and 8 slots — tweets with prompts of several lengths (prefix forward + step-folded
// last id), unconditional tweets (context <|endoftext|> only), greedy, stories. Built and run by
// test_batcher_cuda_on_host.sh.
#include "generate/batcher_fixture.h"

#include "kernels/gpu/batcher_cuda.h"
#include "engine/model/hf.h"

#include <math.h>
#include <string.h>

#define NREQ 20

typedef struct Got {
    ElmGenText t[NREQ];
    int times[NREQ];
} Got;

static int collect(void *user, uint64_t index, const char *prompt, const ElmGenText *t,
                   ElmError *err) {
    Got *g = user;
    (void)prompt, (void)err;
    if (index >= NREQ) return 0;
    g->times[index]++;
    g->t[index] = *t;
    g->t[index].text = strdup(t->text);
    return 0;
}

static const char *prompts[] = {"Hello world", "", "The meaning of life is", "a",
                                "Tweets about cats and dogs, and birds"};

static void run(ElmBatchBackend *be, ElmGpt2 *m, const ElmBpe *bpe, const ElmGenParams *p,
                int n_prompts, Got *g, ElmBatchStats *st) {
    ElmError err = {{0}};
    memset(g, 0, sizeof *g);
    ElmBatchJob job = {.params = p,
                       .bpe = bpe,
                       .prompts = prompts,
                       .n_prompts = n_prompts,
                       .count = NREQ,
                       .n_ctx = m->config.n_ctx,
                       .emit = collect,
                       .user = g};
    CHECK(elm_batch_run(&job, be, st, &err) == 0, "%s", err.msg);
}

static void compare(ElmGpt2 *m, const ElmBpe *bpe, const ElmGenParams *p, int n_prompts,
                    const char *what) {
    ElmError err = {{0}};
    ElmBatchJob probe = {.params = p,
                         .bpe = bpe,
                         .prompts = prompts,
                         .n_prompts = n_prompts,
                         .count = NREQ,
                         .n_ctx = m->config.n_ctx};
    int cap;
    CHECK(elm_batch_capacity(&probe, &cap, &err) == 0, "%s", err.msg);
    Got ref, got;
    ElmBatchStats st;
    ElmBatchBackend *cpu = elm_batch_cpu_create(m, p, elm_bpe_eot(bpe), 4, cap, &err);
    run(cpu, m, bpe, p, n_prompts, &ref, &st);
    elm_batch_cpu_free(cpu);
    static const int slot_counts[] = {1, 3, 8};
    for (int k = 0; k < 3; k++) {
        ElmBatchBackend *gpu =
            elm_batch_cuda_create(NULL, m, p, elm_bpe_eot(bpe), slot_counts[k], cap, 1, &err);
        CHECK(gpu != NULL, "%s", err.msg);
        if (!gpu) return;
        run(gpu, m, bpe, p, n_prompts, &got, &st);
        ElmBatchCudaStats cs;
        elm_batch_cuda_stats(gpu, &cs);
        elm_batch_cuda_free(gpu);
        int same = 0, once = 0;
        for (int i = 0; i < NREQ; i++) {
            once += got.times[i] == 1;
            int eq = got.t[i].text && ref.t[i].text && strcmp(got.t[i].text, ref.t[i].text) == 0 &&
                     got.t[i].n_tokens == ref.t[i].n_tokens &&
                     strcmp(got.t[i].stop, ref.t[i].stop) == 0 &&
                     fabs(got.t[i].mean_logprob - ref.t[i].mean_logprob) <= 1e-5;
            if (!eq)
                fprintf(stderr,
                        "%s, %d slots, request %d:\n  mock-GPU: [%s] %s\n  CPU:      [%s] %s\n",
                        what, slot_counts[k], i, got.t[i].stop ? got.t[i].stop : "-",
                        got.t[i].text ? got.t[i].text : "(none)", ref.t[i].stop, ref.t[i].text);
            same += eq;
            free(got.t[i].text);
        }
        printf("%s, %d slots: %d/%d texts equal, %lld steps, %lld prefill calls (%lld rows)\n",
               what, slot_counts[k], same, NREQ, cs.steps, cs.prefill_calls, cs.prefill_rows);
        CHECK(same == NREQ && once == NREQ, "%s, %d slots: %d equal, %d emitted once", what,
              slot_counts[k], same, once);
    }
    for (int i = 0; i < NREQ; i++) free(ref.t[i].text);
}

int main(void) {
    ElmGpt2 m;
    ElmBpe *bpe;
    if (bf_load_tiny(&m, &bpe)) return 1;
    ElmGenParams p = {.sample = {0.9f, 40, 0.95f, 1.1f, 3},
                      .mode = ELM_GEN_TWEET,
                      .max_new_tokens = 12,
                      .max_chars = 60,
                      .seed = 77};
    compare(&m, bpe, &p, 5, "tweets, prompts");
    compare(&m, bpe, &p, 0, "tweets, unconditional");
    p.sample = (ElmSampleParams){0.0f, 0, 1.0f, 1.0f, 0};
    compare(&m, bpe, &p, 5, "greedy");
    p.sample = (ElmSampleParams){0.8f, 0, 0.9f, 1.3f, 2};
    p.mode = ELM_GEN_STORY;
    compare(&m, bpe, &p, 5, "stories");
    elm_bpe_free(bpe);
    elm_gpt2_free(&m);
    ELM_TEST_DONE();
}
