// Continuous batching on the CPU: for the gpt2-tiny fixture, N requests through the batcher
// with 1, 3 and 8 slots give, request by request, the texts of the plain CPU generate path
// (elm_generate_batch, one request at a time): the same text, token count and stop reason, the
// mean log-probability within 1e-5 (elm's gemm blocks rows, so a row's last bits can depend on
// its place in the batch); every request is emitted once, in index order;
// the slots stay full while requests wait. Tweet and story modes, sampled and greedy.
#include "generate/batcher_fixture.h"
#include "engine/base/rng.h"

#include "engine/generate/batcher.h"
#include "engine/model/hf.h"

#include <math.h>
#include <string.h>

#define NREQ 16

typedef struct Got {
    ElmGenText t[NREQ];
    int times[NREQ];
    long long order_errors;
    uint64_t expect;
} Got;

static int collect(void *user, uint64_t index, const char *prompt, const ElmGenText *t,
                   ElmError *err) {
    Got *g = user;
    (void)prompt;
    (void)err;
    if (index != g->expect) g->order_errors++;
    g->expect = index + 1;
    if (index < 1000 || index >= 1000 + NREQ) return 0;
    int i = (int)(index - 1000);
    g->times[i]++;
    free(g->t[i].text);
    g->t[i] = *t;
    g->t[i].text = strdup(t->text);
    return 0;
}

static const char *prompts[] = {"", "Hello world", "The meaning of life is", "a",
                                "Tweets about cats and dogs"};

// Runs one configuration: reference texts one request at a time, then the batcher with 1, 3
// and 8 slots; every field of every text must agree.
static void run_case(ElmGpt2 *m, const ElmBpe *bpe, const ElmGenParams *p, int n_prompts,
                     const char *what) {
    ElmError err = {{0}};
    ElmGenText ref[NREQ];
    for (int i = 0; i < NREQ; i++) {
        const char *pr = n_prompts ? prompts[i % n_prompts] : "";
        uint64_t idx = 1000 + (uint64_t)i;
        int rc = elm_generate_batch(m, bpe, p, &pr, &idx, 1, &ref[i], &err);
        CHECK(rc == 0, "%s: reference %d: %s", what, i, err.msg);
        if (rc) return;
    }
    static const int slot_counts[] = {1, 3, 8};
    for (int k = 0; k < 3; k++) {
        int S = slot_counts[k];
        Got g;
        memset(&g, 0, sizeof g);
        g.expect = 1000;
        ElmBatchJob job = {.params = p,
                           .bpe = bpe,
                           .prompts = prompts,
                           .n_prompts = n_prompts,
                           .first_index = 1000,
                           .count = NREQ,
                           .n_ctx = m->config.n_ctx,
                           .emit = collect,
                           .user = &g};
        int cap = 0;
        CHECK(elm_batch_capacity(&job, &cap, &err) == 0, "%s", err.msg);
        ElmBatchBackend *be = elm_batch_cpu_create(m, p, elm_bpe_eot(bpe), S, cap, &err);
        CHECK(be != NULL, "%s", err.msg);
        if (!be) return;
        ElmBatchStats st;
        int rc = elm_batch_run(&job, be, &st, &err);
        CHECK(rc == 0, "%s: batcher with %d slots: %s", what, S, err.msg);
        elm_batch_cpu_free(be);
        int same = 0, once = 0;
        for (int i = 0; i < NREQ; i++) {
            once += g.times[i] == 1;
            if (!g.t[i].text) continue;
            int eq = strcmp(g.t[i].text, ref[i].text) == 0 && g.t[i].n_tokens == ref[i].n_tokens &&
                     strcmp(g.t[i].stop, ref[i].stop) == 0 &&
                     fabs(g.t[i].mean_logprob - ref[i].mean_logprob) <= 1e-5;
            if (!eq)
                fprintf(stderr,
                        "%s, %d slots, request %d:\n  batcher: [%s] %s\n  plain:   [%s] %s\n", what,
                        S, i, g.t[i].stop, g.t[i].text, ref[i].stop, ref[i].text);
            same += eq;
            free(g.t[i].text);
        }
        CHECK(same == NREQ, "%s, %d slots: %d of %d texts equal the plain path", what, S, same,
              NREQ);
        CHECK(once == NREQ && g.order_errors == 0 && st.requests == NREQ,
              "%s, %d slots: %d requests emitted once, %lld out of order", what, S, once,
              g.order_errors);
        // Idle slot-steps happen only in the tail, once no request waits: at most S-1 slots for
        // at most max_new_tokens steps.
        long long idle = st.total - st.busy;
        CHECK(idle <= (long long)(S - 1) * p->max_new_tokens, "%s, %d slots: %lld idle slot-steps",
              what, S, idle);
        printf("%s, %d slots: %d/%d texts equal, %lld steps, slot utilisation %.1f%%, %lld "
               "tokens, at most %lld held for ordering\n",
               what, S, same, NREQ, st.steps, 100.0 * st.busy / (st.total ? st.total : 1),
               st.new_tokens, st.max_held);
    }
    for (int i = 0; i < NREQ; i++) elm_gen_text_free(&ref[i]);
}

// A model-free backend for the scheduler alone: the token for (request, position) is a hash,
// <|endoftext|> about one time in 12, so lengths are uneven; no logits are computed.
typedef struct FakeBackend {
    ElmBatchBackend be;
    uint64_t index[64];
    int started[64];
    long long starts, advances;
} FakeBackend;

static int fake_start(void *self, int slot, uint64_t index, const int32_t *ids, int n, int skip,
                      ElmError *err) {
    FakeBackend *f = self;
    (void)ids, (void)n, (void)skip, (void)err;
    f->index[slot] = index;
    f->started[slot] = 1;
    f->starts++;
    return 0;
}

static int fake_sample(void *self, const uint8_t *live, const int *pos, int32_t *tok, double *lp,
                       ElmError *err) {
    FakeBackend *f = self;
    for (int s = 0; s < f->be.slots; s++) {
        if (!live[s]) continue;
        if (!f->started[s]) return elm_err(err, "slot %d sampled before it was started", s);
        uint64_t h = elm_rng_mix(f->index[s] * 1000003u + (uint64_t)pos[s]);
        tok[s] = h % 12 == 0 ? 50256 : (int32_t)(256 + h % 40000);
        lp[s] = -(double)(h % 1000) / 100.0;
    }
    return 0;
}

static int fake_advance(void *self, const uint8_t *live, const int32_t *tok, ElmError *err) {
    FakeBackend *f = self;
    (void)live, (void)tok, (void)err;
    f->advances++;
    return 0;
}

typedef struct Digest {
    uint64_t h[2000];
    int times[2000];
    long long order_errors;
    uint64_t expect;
} Digest;

static int digest(void *user, uint64_t index, const char *prompt, const ElmGenText *t,
                  ElmError *err) {
    Digest *d = user;
    (void)prompt, (void)err;
    if (index != d->expect) d->order_errors++;
    d->expect = index + 1;
    uint64_t h = 1469598103934665603ull;
    for (const char *c = t->text; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
    d->h[index] = h ^ (uint64_t)t->n_tokens;
    d->times[index]++;
    return 0;
}

// 2000 requests of uneven length through 8 and 64 slots: each emitted once and in order, the
// same text per request, and idle slot-steps only in the tail.
static void run_scheduler(const ElmBpe *bpe) {
    ElmError err = {{0}};
    ElmGenParams p = {.sample = {1.0f, 0, 1.0f, 1.0f, 0},
                      .mode = ELM_GEN_TWEET,
                      .max_new_tokens = 40,
                      .max_chars = 100000,
                      .seed = 3};
    static Digest d[2];
    static const int slot_counts[2] = {8, 64};
    for (int k = 0; k < 2; k++) {
        FakeBackend f;
        memset(&f, 0, sizeof f);
        f.be = (ElmBatchBackend){.self = &f,
                                 .slots = slot_counts[k],
                                 .vocab = 50257,
                                 .start = fake_start,
                                 .sample = fake_sample,
                                 .advance = fake_advance};
        memset(&d[k], 0, sizeof d[k]);
        ElmBatchJob job = {.params = &p,
                           .bpe = bpe,
                           .prompts = prompts,
                           .n_prompts = 5,
                           .count = 2000,
                           .n_ctx = 1024,
                           .emit = digest,
                           .user = &d[k]};
        ElmBatchStats st;
        CHECK(elm_batch_run(&job, &f.be, &st, &err) == 0, "scheduler: %s", err.msg);
        int once = 0;
        for (int i = 0; i < 2000; i++) once += d[k].times[i] == 1;
        long long idle = st.total - st.busy;
        printf("scheduler, %d slots, 2000 requests: %lld steps, slot utilisation %.2f%%, %lld "
               "idle slot-steps, %lld starts, at most %lld held for ordering\n",
               slot_counts[k], st.steps, 100.0 * st.busy / st.total, idle, f.starts, st.max_held);
        CHECK(once == 2000 && d[k].order_errors == 0 && f.starts == 2000,
              "scheduler, %d slots: %d emitted once, %lld out of order, %lld starts",
              slot_counts[k], once, d[k].order_errors, f.starts);
        CHECK(idle <= (long long)(slot_counts[k] - 1) * p.max_new_tokens,
              "scheduler, %d slots: %lld idle slot-steps", slot_counts[k], idle);
    }
    int same = 0;
    for (int i = 0; i < 2000; i++) same += d[0].h[i] == d[1].h[i];
    CHECK(same == 2000, "scheduler: %d of 2000 texts equal with 8 and 64 slots", same);
}

int main(void) {
    ElmGpt2 m;
    ElmBpe *bpe;
    if (bf_load_tiny(&m, &bpe)) return 1;
    run_scheduler(bpe);
    ElmGenParams p = {.sample = {.temperature = 0.9f,
                                 .top_k = 40,
                                 .top_p = 0.95f,
                                 .repetition_penalty = 1.1f,
                                 .no_repeat_ngram = 3},
                      .mode = ELM_GEN_TWEET,
                      .max_new_tokens = 14,
                      .max_chars = 70,
                      .seed = 1234};
    run_case(&m, bpe, &p, 5, "tweets, prompts");
    run_case(&m, bpe, &p, 0, "tweets, unconditional");
    // Greedy with every processor off; then stories (<|endoftext|> banned).
    p.sample = (ElmSampleParams){.temperature = 0.0f,
                                 .top_k = 0,
                                 .top_p = 1.0f,
                                 .repetition_penalty = 1.0f,
                                 .no_repeat_ngram = 0};
    p.max_new_tokens = 10;
    run_case(&m, bpe, &p, 5, "greedy");
    p.sample = (ElmSampleParams){.temperature = 0.8f,
                                 .top_k = 0,
                                 .top_p = 0.9f,
                                 .repetition_penalty = 1.3f,
                                 .no_repeat_ngram = 2};
    p.mode = ELM_GEN_STORY;
    p.max_new_tokens = 12;
    p.max_chars = 50;
    run_case(&m, bpe, &p, 5, "stories");
    elm_bpe_free(bpe);
    elm_gpt2_free(&m);
    ELM_TEST_DONE();
}
