// The CPU batcher's batched prefill ([generate] prefill = batched: the requests started since
// the last sample in one elm_gpt2_prefill_batch) against one prompt at a time (prefill =
// serial): on the gpt2-tiny fixture, with fp32, bf16 and int8 weights (each where this CPU has
// the instructions) and 1, 3 and 8 slots, a seeded schedule of requests with ragged contexts
// (1 to 21 ids: an unconditional one is just <|endoftext|>) that end after 1 to 5 tokens, so
// slots refill mid-run, several at once (also in forwards of at most 40 rows, so in chunks).
// Every sampled token must be the same and every log-probability the same within 1e-5
// (absolute, or relative beyond 1). Then whole jobs through elm_batch_run, and batches of
// elm_generate_batch (the plain CPU path): the same texts, token counts, stops and mean
// log-probabilities.
#include "generate/batcher_fixture.h"
#include "engine/base/rng.h"
#include "engine/model/qmatmul.h"

#include <math.h>

enum { STEPS = 24, MAXCTX = 21, MAXLIFE = 5, MAXS = 8, EOT = 50256 };

// What one run sampled: tok/lp per step and slot (-2: the slot was not live).
typedef struct Trace {
    int32_t tok[STEPS][MAXS];
    double lp[STEPS][MAXS];
    int multi_refills; // steps where two or more slots took a new request together
} Trace;

// Request r's context and life, from the seed only (not from what was sampled), so both runs
// follow the same schedule.
static int request(uint64_t r, int V, int32_t *ids, int *life) {
    uint64_t h = elm_rng_mix(0x5eedu + r);
    int n = 1 + (int)(h % MAXCTX);
    *life = 1 + (int)((h >> 20) % MAXLIFE);
    ids[0] = EOT;
    for (int i = 1; i < n; i++) ids[i] = (int32_t)(elm_rng_mix(h + (uint64_t)i) % (uint64_t)V);
    return n;
}

static int trace_run(ElmGpt2 *m, const ElmGenParams *p, int S, Trace *tr, ElmError *err) {
    const int V = m->config.vocab_size;
    ElmBatchBackend *be = elm_batch_cpu_create(m, p, EOT, S, MAXCTX + MAXLIFE + 1, err);
    if (!be) return -1;
    int32_t ids[MAXCTX];
    int life[MAXS], pos[MAXS], rc = -1;
    uint8_t live[MAXS], cont[MAXS];
    uint64_t next = 0;
    memset(tr, 0, sizeof *tr);
    for (int s = 0; s < S; s++, next++) {
        int n = request(next, V, ids, &life[s]);
        if (be->start(be->self, s, next, ids, n, 1, err)) goto done;
        live[s] = 1, pos[s] = 0;
    }
    for (int t = 0; t < STEPS; t++) {
        int32_t tok[MAXS];
        double lp[MAXS];
        if (be->sample(be->self, live, pos, tok, lp, err)) goto done;
        int refills = 0;
        for (int s = 0; s < S; s++) {
            tr->tok[t][s] = tok[s], tr->lp[t][s] = lp[s];
            cont[s] = --life[s] > 0;
            pos[s]++;
            if (!cont[s]) { // the slot takes the next request; it does not advance
                int n = request(next, V, ids, &life[s]);
                if (be->start(be->self, s, next++, ids, n, 1, err)) goto done;
                pos[s] = 0, refills++;
            }
        }
        tr->multi_refills += refills >= 2;
        if (be->advance(be->self, cont, tok, err)) goto done;
    }
    rc = 0;
done:
    elm_batch_cpu_free(be);
    return rc;
}

static void check_trace(ElmGpt2 *m, const ElmGenParams *p0, int S, const char *what) {
    ElmError err = {{0}};
    ElmGenParams p = *p0;
    static Trace serial, batched;
    p.prefill = ELM_GEN_PREFILL_SERIAL;
    CHECK(trace_run(m, &p, S, &serial, &err) == 0, "%s, serial: %s", what, err.msg);
    p.prefill = ELM_GEN_PREFILL_BATCHED;
    CHECK(trace_run(m, &p, S, &batched, &err) == 0, "%s, batched: %s", what, err.msg);
    int same = 0;
    double worst = 0;
    for (int t = 0; t < STEPS; t++)
        for (int s = 0; s < S; s++) {
            double a = serial.lp[t][s], b = batched.lp[t][s];
            double d = fabs(a - b) / (fabs(a) > 1 ? fabs(a) : 1);
            if (d > worst) worst = d;
            same += serial.tok[t][s] == batched.tok[t][s] && d <= 1e-5;
        }
    printf("%s, %d slots: %d/%d tokens and log-probs equal, worst log-prob difference %.3g, "
           "%d steps refilled two or more slots\n",
           what, S, same, STEPS * S, worst, batched.multi_refills);
    CHECK(same == STEPS * S, "%s, %d slots: %d of %d tokens/log-probs differ (worst %g)", what, S,
          STEPS * S - same, STEPS * S, worst);
    CHECK(S < 3 || batched.multi_refills > 0, "%s, %d slots: no step refilled several slots", what,
          S);
}

// Whole jobs through the scheduler, serial against batched, compared text by text.
typedef struct Texts {
    ElmGenText t[12];
} Texts;

static int keep(void *user, uint64_t index, const char *prompt, const ElmGenText *t,
                ElmError *err) {
    Texts *x = user;
    (void)prompt, (void)err;
    x->t[index] = *t;
    x->t[index].text = strdup(t->text);
    return 0;
}

static void check_job(ElmGpt2 *m, const ElmBpe *bpe, const ElmGenParams *p0, int S,
                      const char *what) {
    static const char *prompts[] = {"", "Hello world, this is a longer prompt than most", "a",
                                    "The meaning of life is"};
    ElmError err = {{0}};
    ElmGenParams p = *p0;
    Texts x[2];
    memset(x, 0, sizeof x);
    for (int k = 0; k < 2; k++) {
        p.prefill = k ? ELM_GEN_PREFILL_BATCHED : ELM_GEN_PREFILL_SERIAL;
        ElmBatchJob job = {.params = &p,
                           .bpe = bpe,
                           .prompts = prompts,
                           .n_prompts = 4,
                           .count = 12,
                           .n_ctx = m->config.n_ctx,
                           .emit = keep,
                           .user = &x[k]};
        int cap = 0;
        CHECK(elm_batch_capacity(&job, &cap, &err) == 0, "%s", err.msg);
        ElmBatchBackend *be = elm_batch_cpu_create(m, &p, elm_bpe_eot(bpe), S, cap, &err);
        CHECK(be && elm_batch_run(&job, be, NULL, &err) == 0, "%s, %d slots: %s", what, S, err.msg);
        elm_batch_cpu_free(be);
    }
    int same = 0;
    for (int i = 0; i < 12; i++) {
        const ElmGenText *a = &x[0].t[i], *b = &x[1].t[i];
        same += a->text && b->text && strcmp(a->text, b->text) == 0 && a->n_tokens == b->n_tokens &&
                strcmp(a->stop, b->stop) == 0 && fabs(a->mean_logprob - b->mean_logprob) <= 1e-5;
        free(x[0].t[i].text), free(x[1].t[i].text);
    }
    CHECK(same == 12, "%s, %d slots: %d of 12 texts equal serial and batched", what, S, same);
}

// The plain CPU path (elm_generate_batch, the prompts of one batch prefilled together), serial
// against batched.
static void check_plain(ElmGpt2 *m, const ElmBpe *bpe, const ElmGenParams *p0, int S,
                        const char *what) {
    static const char *all[] = {"Hello world, this is a longer prompt than most",
                                "",
                                "a",
                                "The meaning of life is",
                                "x y",
                                "",
                                "Cats and dogs",
                                "ok"};
    ElmError err = {{0}};
    ElmGenParams p = *p0;
    ElmGenText t[2][MAXS];
    uint64_t idx[MAXS];
    for (int i = 0; i < S; i++) idx[i] = 500 + (uint64_t)i;
    for (int k = 0; k < 2; k++) {
        p.prefill = k ? ELM_GEN_PREFILL_BATCHED : ELM_GEN_PREFILL_SERIAL;
        CHECK(elm_generate_batch(m, bpe, &p, all, idx, S, t[k], &err) == 0, "%s: %s", what,
              err.msg);
    }
    int same = 0;
    for (int i = 0; i < S; i++) {
        same += strcmp(t[0][i].text, t[1][i].text) == 0 && t[0][i].n_tokens == t[1][i].n_tokens &&
                fabs(t[0][i].mean_logprob - t[1][i].mean_logprob) <= 1e-5;
        elm_gen_text_free(&t[0][i]), elm_gen_text_free(&t[1][i]);
    }
    CHECK(same == S, "%s, batch %d: %d of %d plain texts equal serial and batched", what, S, same,
          S);
}

int main(void) {
    ElmGpt2 m;
    ElmBpe *bpe;
    if (bf_load_tiny(&m, &bpe)) return 1;
    ElmGenParams p = {.sample = {.temperature = 0.9f,
                                 .top_k = 40,
                                 .top_p = 0.95f,
                                 .repetition_penalty = 1.1f,
                                 .no_repeat_ngram = 3},
                      .mode = ELM_GEN_TWEET,
                      .max_new_tokens = 9,
                      .max_chars = 200,
                      .seed = 77};
    static const struct {
        const char *name;
        int fmt;
    } fmts[] = {{"fp32", ELM_QMM_FP32}, {"bf16", ELM_QMM_BF16}, {"int8", ELM_QMM_INT8}};
    static const int slot_counts[] = {1, 3, 8};
    for (int f = 0; f < 3; f++) {
        ElmError err = {{0}};
        if (fmts[f].fmt != ELM_QMM_FP32 &&
            elm_qmatmul_isa(fmts[f].fmt, m.weights_int8, ELM_QMM_AVX512) != ELM_QMM_AVX512) {
            printf("skipped: %s weights: this CPU lacks the instructions\n", fmts[f].name);
            continue;
        }
        CHECK(elm_gpt2_set_weights(&m, fmts[f].fmt, &err) == 0, "%s", err.msg);
        for (int k = 0; k < 3; k++) {
            check_trace(&m, &p, slot_counts[k], fmts[f].name);
            check_job(&m, bpe, &p, slot_counts[k], fmts[f].name);
            check_plain(&m, bpe, &p, slot_counts[k], fmts[f].name);
        }
        // forwards of at most 40 rows: a refill's prompts go in several chunks
        char what[64];
        snprintf(what, sizeof what, "%s, 40-row forwards", fmts[f].name);
        m.prefill_rows = 40;
        check_trace(&m, &p, 8, what);
        m.prefill_rows = 0;
    }
    elm_bpe_free(bpe);
    elm_gpt2_free(&m);
    ELM_TEST_DONE();
}
