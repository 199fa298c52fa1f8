// test_sample.c — the sampler and the text cuts. Run alone it checks the properties the
// semantics promise (uniforms, greedy ties, batch independence of draws); test_sample.py runs
// it as a worker ("dist", "draw", "cut") to compare every case with a numpy reimplementation.
#include "elmtest.h"
#include "engine/generate/text.h"
#include <stdio.h>
#include <stdlib.h>
#include "engine/generate/sample.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

// Case file (little-endian), written by test_sample.py:
//   i32 n_cases; per case: i32 V, f32 temperature, i32 top_k, f32 top_p, f32 penalty,
//   i32 ngram, i32 n_ctx, i32 ctx[n_ctx], f32 logits[V].
typedef struct Case {
    ElmSampleParams p;
    int V, n_ctx;
    int32_t *ctx;
    float *logits;
} Case;

static int read_case(FILE *f, Case *c) {
    int ok = fread(&c->V, 4, 1, f) == 1 && fread(&c->p.temperature, 4, 1, f) == 1 &&
             fread(&c->p.top_k, 4, 1, f) == 1 && fread(&c->p.top_p, 4, 1, f) == 1 &&
             fread(&c->p.repetition_penalty, 4, 1, f) == 1 &&
             fread(&c->p.no_repeat_ngram, 4, 1, f) == 1 && fread(&c->n_ctx, 4, 1, f) == 1;
    if (!ok) return -1;
    c->ctx = malloc(sizeof(int32_t) * (size_t)(c->n_ctx + 1));
    c->logits = malloc(sizeof(float) * (size_t)c->V);
    if (fread(c->ctx, 4, (size_t)c->n_ctx, f) != (size_t)c->n_ctx ||
        fread(c->logits, 4, (size_t)c->V, f) != (size_t)c->V)
        return -1;
    return 0;
}

// dist: per case i32 kept, f64 q[V]. draw: per case i64 counts[V] over n draws with
// u = elm_sample_uniform(1000 + case, 7, j).
static int worker(const char *mode, const char *in, const char *out, long long n_draws) {
    FILE *f = fopen(in, "rb"), *g = fopen(out, "wb");
    if (!f || !g) return 2;
    int n_cases;
    if (fread(&n_cases, 4, 1, f) != 1) return 2;
    for (int k = 0; k < n_cases; k++) {
        Case c;
        ElmSampler s;
        ElmError e;
        if (read_case(f, &c) || elm_sampler_init(&s, &c.p, c.V, &e)) return 2;
        if (strcmp(mode, "dist") == 0) {
            int kept = elm_sampler_distribution(&s, c.logits, c.ctx, c.n_ctx);
            fwrite(&kept, 4, 1, g);
            fwrite(s.q, 8, (size_t)c.V, g);
        } else {
            int64_t *counts = calloc((size_t)c.V + 1, sizeof(int64_t));
            for (long long j = 0; j < n_draws; j++) {
                double u = elm_sample_uniform(1000 + (uint64_t)k, 7, (uint64_t)j);
                int32_t t = elm_sampler_pick(&s, c.logits, c.ctx, c.n_ctx, u, NULL);
                counts[t < 0 ? c.V : t]++;
            }
            fwrite(counts, 8, (size_t)c.V, g);
            free(counts);
        }
        elm_sampler_free(&s);
        free(c.ctx);
        free(c.logits);
    }
    fclose(f);
    return fclose(g) == 0 ? 0 : 2;
}

// cut: cases of i32 mode (0 words, 1 sentence), i32 whole, i32 keep_min, i32 max_chars,
// i32 n, u8 text[n]; writes i64 cut per case.
static int cut_worker(const char *in, const char *out) {
    FILE *f = fopen(in, "rb"), *g = fopen(out, "wb");
    if (!f || !g) return 2;
    int n_cases;
    if (fread(&n_cases, 4, 1, f) != 1) return 2;
    for (int k = 0; k < n_cases; k++) {
        int h[5];
        if (fread(h, 4, 5, f) != 5) return 2;
        char *s = malloc((size_t)h[4] + 1);
        if (fread(s, 1, (size_t)h[4], f) != (size_t)h[4]) return 2;
        int64_t cut = h[0] == 0
                          ? (int64_t)elm_text_cut_words(s, (size_t)h[4], (size_t)h[2], h[3], h[1])
                          : (int64_t)elm_text_cut_sentence(s, (size_t)h[4], (size_t)h[2], h[3]);
        fwrite(&cut, 8, 1, g);
        free(s);
    }
    fclose(f);
    return fclose(g) == 0 ? 0 : 2;
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "cut") == 0) return cut_worker(argv[2], argv[3]);
    if (argc >= 4) return worker(argv[1], argv[2], argv[3], argc > 4 ? atoll(argv[4]) : 0);

    // Uniforms: in [0, 1), a pure function of (seed, index, position), roughly uniform.
    double sum = 0;
    int in_range = 1;
    for (int j = 0; j < 100000; j++) {
        double u = elm_sample_uniform(42, 3, (uint64_t)j);
        in_range &= u >= 0 && u < 1;
        sum += u;
    }
    CHECK(in_range, "uniform out of [0, 1)");
    CHECK(fabs(sum / 100000 - 0.5) < 0.005, "uniform mean %g", sum / 100000);
    CHECK(elm_sample_uniform(1, 2, 3) == elm_sample_uniform(1, 2, 3), "not deterministic");
    CHECK(elm_sample_uniform(1, 2, 3) != elm_sample_uniform(1, 3, 3), "index ignored");
    CHECK(elm_sample_uniform(1, 2, 3) != elm_sample_uniform(2, 2, 3), "seed ignored");

    // Greedy: the first maximum; penalties still apply before it.
    ElmSampleParams gp = {0.0f, 0, 1.0f, 1.0f, 0};
    ElmSampler s;
    ElmError e;
    CHECK(elm_sampler_init(&s, &gp, 5, &e) == 0, "%s", e.msg);
    float lg[5] = {1.0f, 3.0f, 3.0f, -1.0f, 2.0f};
    CHECK(elm_sampler_pick(&s, lg, NULL, 0, 0.99, NULL) == 1, "greedy tie -> lowest id");
    elm_sampler_free(&s);
    gp.repetition_penalty = 2.0f; // 3 / 2 = 1.5 < 2: token 4 wins once 1 and 2 were seen
    CHECK(elm_sampler_init(&s, &gp, 5, &e) == 0, "%s", e.msg);
    int32_t ctx[2] = {1, 2};
    CHECK(elm_sampler_pick(&s, lg, ctx, 2, 0.5, NULL) == 4, "greedy after penalty");
    elm_sampler_free(&s);

    // Everything banned: no token (the sequence ends).
    ElmSampleParams bp = {1.0f, 0, 1.0f, 1.0f, 1};
    CHECK(elm_sampler_init(&s, &bp, 3, &e) == 0, "%s", e.msg);
    int32_t all[3] = {0, 1, 2};
    float l3[3] = {0, 0, 0};
    CHECK(elm_sampler_pick(&s, l3, all, 3, 0.3, NULL) == -1, "all banned -> -1");
    elm_sampler_free(&s);

    // The raw log-probability is reported whatever the filters did.
    ElmSampleParams kp = {0.5f, 1, 1.0f, 1.0f, 0};
    CHECK(elm_sampler_init(&s, &kp, 3, &e) == 0, "%s", e.msg);
    float l4[3] = {0.0f, 1.0f, 0.0f};
    double lp = 0;
    CHECK(elm_sampler_pick(&s, l4, NULL, 0, 0.7, &lp) == 1, "top-1");
    double want = 1.0 - log(exp(0.0) + exp(1.0) + exp(0.0));
    CHECK(fabs(lp - want) < 1e-12, "logprob %.17g vs %.17g", lp, want);
    elm_sampler_free(&s);

    // Invalid parameters are refused.
    ElmSampleParams bad = {-1.0f, 0, 1.0f, 1.0f, 0};
    CHECK(elm_sampler_init(&s, &bad, 3, &e) != 0, "negative temperature accepted");
    ELM_TEST_DONE();
}
