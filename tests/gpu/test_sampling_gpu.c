// The GPU sampler vs engine/generate/sample.h on the same fp32 logits, contexts and uniforms:
//  1. token agreement per row over random rows for each processor setting (>= 99.5% equal;
//     a token may differ only where a value is within fp32 rounding of a boundary), greedy
//     exactly, and log-probabilities within 1e-3;
//  2. sampled-token histograms over 10,000 draws of one row against the CPU distribution
//     (elm_sampler_distribution): Pearson chi-square, p > 0.01.
#include "decodecheck.h"

#ifndef ELM_HAVE_CUDA
int main(void) {
    DC_SKIP_WITHOUT_CUDA("test_sampling_gpu");
}
#else

#include "elmtest.h"
#include "engine/generate/sample.h"
#include "kernels/sampling.h"
#include "generate/chisq.h"

#include <math.h>

static uint64_t rng = 0xabcdef987654321ull;

typedef struct Case {
    const char *name;
    ElmSampleParams p;
    int ban;
} Case;

static const Case cases[] = {
    {"greedy", {0.0f, 0, 1.0f, 1.0f, 0}, -1},
    {"greedy + penalty + 3-gram", {0.0f, 0, 1.0f, 1.3f, 3}, -1},
    {"temperature 0.8", {0.8f, 0, 1.0f, 1.0f, 0}, -1},
    {"top-k 40", {1.0f, 40, 1.0f, 1.0f, 0}, -1},
    {"top-p 0.9", {0.9f, 0, 0.9f, 1.0f, 0}, -1},
    {"defaults (0.9, 40, 0.95, 1.1, 3)", {0.9f, 40, 0.95f, 1.1f, 3}, -1},
    {"story ban + 2-gram + top-p 0.5", {1.2f, 0, 0.5f, 1.5f, 2}, 7},
    {"top-k 1", {1.0f, 1, 1.0f, 1.0f, 0}, -1},
};

// GPU buffers for R rows of V logits and contexts of up to L tokens.
typedef struct Bufs {
    float *logits, *scratch, *lp;
    int32_t *ctx, *tok;
    int *ctx_len, *pos;
    uint64_t *index;
    uint8_t *live;
} Bufs;

static void bufs_alloc(Bufs *b, int R, int V, int L) {
    ElmError err = {{0}};
    DC_OK(!(b->logits = elm_cuda_malloc((size_t)R * V * 4, &err)) ||
          !(b->scratch = elm_cuda_malloc((size_t)R * L * 4, &err)) ||
          !(b->lp = elm_cuda_malloc((size_t)R * 4, &err)) ||
          !(b->ctx = elm_cuda_malloc((size_t)R * L * 4, &err)) ||
          !(b->tok = elm_cuda_malloc((size_t)R * 4, &err)) ||
          !(b->ctx_len = elm_cuda_malloc((size_t)R * 4, &err)) ||
          !(b->pos = elm_cuda_malloc((size_t)R * 4, &err)) ||
          !(b->index = elm_cuda_malloc((size_t)R * 8, &err)) ||
          !(b->live = elm_cuda_malloc((size_t)R, &err)));
}

static void bufs_free(Bufs *b) {
    void *p[] = {b->logits,  b->scratch, b->lp,    b->ctx, b->tok,
                 b->ctx_len, b->pos,     b->index, b->live};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) elm_cuda_free(p[i]);
}

// Random logits with structure: a few large values, some exact ties, the rest N(0, sd).
static void fill_row(float *x, int V, float sd) {
    for (int t = 0; t < V; t++) x[t] = dc_normal(&rng) * sd;
    for (int k = 0; k < 8; k++) x[dc_next(&rng) % V] = 3.0f * sd + dc_unif(&rng);
    float tie = 2.5f * sd;
    for (int k = 0; k < 4; k++) x[dc_next(&rng) % V] = tie;
}

// A context with repeats (so penalties and n-gram bans apply): a motif repeated plus noise.
static int fill_ctx(int32_t *c, int L, int V, const float *x) {
    int n = 8 + (int)(dc_next(&rng) % (uint64_t)(L - 8));
    int32_t motif[3];
    // Motif tokens among the likely ones so that bans matter.
    for (int k = 0; k < 3; k++) {
        int best = (int)(dc_next(&rng) % V);
        for (int tries = 0; tries < 64; tries++) {
            int t = (int)(dc_next(&rng) % V);
            if (x[t] > x[best]) best = t;
        }
        motif[k] = best;
    }
    for (int i = 0; i < n; i++) c[i] = i % 5 < 3 ? motif[i % 5] : (int32_t)(dc_next(&rng) % V);
    c[n - 2] = motif[0], c[n - 1] = motif[1]; // the tail starts the motif again
    return n;
}

static void check_agreement(ElmCudaCtx *ctx, const Case *cs) {
    ElmError err = {{0}};
    const int R = 512, V = 50257, L = 48;
    const uint64_t seed = 777;
    float *x = malloc(sizeof(float) * (size_t)R * V);
    int32_t *c = malloc(sizeof(int32_t) * R * L);
    int *len = malloc(sizeof(int) * R), *pos = malloc(sizeof(int) * R);
    uint64_t *index = malloc(sizeof(uint64_t) * R);
    uint8_t *live = malloc((size_t)R);
    int32_t *gtok = malloc(sizeof(int32_t) * R);
    float *glp = malloc(sizeof(float) * R);
    for (int r = 0; r < R; r++) {
        fill_row(x + (size_t)r * V, V, r % 2 ? 1.0f : 4.0f);
        len[r] = fill_ctx(c + r * L, L, V, x + (size_t)r * V);
        pos[r] = (int)(dc_next(&rng) % 100);
        index[r] = 1000 + (uint64_t)r * 7;
        live[r] = r % 17 != 5; // some rows skipped
    }
    Bufs b;
    bufs_alloc(&b, R, V, L);
    DC_OK(elm_cuda_h2d(ctx, b.logits, x, sizeof(float) * (size_t)R * V, &err) ||
          elm_cuda_h2d(ctx, b.ctx, c, sizeof(int32_t) * R * L, &err) ||
          elm_cuda_h2d(ctx, b.ctx_len, len, sizeof(int) * R, &err) ||
          elm_cuda_h2d(ctx, b.pos, pos, sizeof(int) * R, &err) ||
          elm_cuda_h2d(ctx, b.index, index, sizeof(uint64_t) * R, &err) ||
          elm_cuda_h2d(ctx, b.live, live, (size_t)R, &err) ||
          elm_cuda_memset(ctx, b.tok, 0x7f, sizeof(int32_t) * R, &err));
    ElmCuSampleParams gp = {
        cs->p.temperature,     cs->p.top_k, cs->p.top_p, cs->p.repetition_penalty,
        cs->p.no_repeat_ngram, cs->ban,     seed};
    DC_OK(elm_cu_sample(ctx, &gp, b.logits, V, V, R, b.ctx, L, b.ctx_len, b.index, b.pos, b.live,
                        b.scratch, b.tok, b.lp, &err));
    DC_OK(elm_cuda_d2h(ctx, gtok, b.tok, sizeof(int32_t) * R, &err) ||
          elm_cuda_d2h(ctx, glp, b.lp, sizeof(float) * R, &err) || elm_cuda_sync(ctx, &err));
    ElmSampler s;
    DC_OK(elm_sampler_init(&s, &cs->p, V, &err));
    int n = 0, same = 0, lp_bad = 0, untouched = 0;
    for (int r = 0; r < R; r++) {
        if (!live[r]) {
            untouched += gtok[r] == 0x7f7f7f7f;
            continue;
        }
        float *row = x + (size_t)r * V;
        double mx = -INFINITY, sum = 0;
        for (int t = 0; t < V; t++) mx = row[t] > mx ? row[t] : mx;
        for (int t = 0; t < V; t++) sum += exp(row[t] - mx);
        if (cs->ban >= 0) row[cs->ban] = -INFINITY;
        double u = elm_sample_uniform(seed, index[r], (uint64_t)pos[r]);
        int32_t t = elm_sampler_pick(&s, row, c + r * L, len[r], u, NULL);
        n++;
        same += t == gtok[r];
        if (t >= 0 && t == gtok[r]) {
            double raw = t == cs->ban ? 0 : x[(size_t)r * V + t];
            // The raw value: rows were modified only at banned tokens, never sampled.
            double lp = raw - mx - log(sum);
            if (fabs(lp - glp[r]) > 1e-3) lp_bad++;
        }
    }
    printf("sampler %-34s: %d/%d rows equal to the CPU, %d log-prob mismatches\n", cs->name, same,
           n, lp_bad);
    int need = cs->p.temperature == 0 ? n : (int)ceil(0.995 * n);
    CHECK(same >= need, "%s: %d of %d tokens equal", cs->name, same, n);
    CHECK(lp_bad == 0, "%s: %d log-probabilities off by more than 1e-3", cs->name, lp_bad);
    CHECK(untouched == R - n, "%s: %d skipped rows were written", cs->name, R - n - untouched);
    elm_sampler_free(&s);
    bufs_free(&b);
    free(x), free(c), free(len), free(pos), free(index), free(live), free(gtok), free(glp);
}

// 10,000 draws of one row (one sequence index each) against the CPU distribution.
static void check_histogram(ElmCudaCtx *ctx, const Case *cs) {
    ElmError err = {{0}};
    const int R = 10000, V = 4000, L = 16;
    float *row = malloc(sizeof(float) * V), *x = malloc(sizeof(float) * (size_t)R * V);
    fill_row(row, V, 1.5f);
    int32_t c[16];
    int len = fill_ctx(c, L, V, row);
    int32_t *cc = malloc(sizeof(int32_t) * R * L);
    int *lens = malloc(sizeof(int) * R), *pos = calloc(R, sizeof(int));
    uint64_t *index = malloc(sizeof(uint64_t) * R);
    uint8_t *live = malloc((size_t)R);
    for (int r = 0; r < R; r++) {
        memcpy(x + (size_t)r * V, row, sizeof(float) * V);
        memcpy(cc + r * L, c, sizeof c);
        lens[r] = len, index[r] = (uint64_t)r, live[r] = 1;
    }
    Bufs b;
    bufs_alloc(&b, R, V, L);
    DC_OK(elm_cuda_h2d(ctx, b.logits, x, sizeof(float) * (size_t)R * V, &err) ||
          elm_cuda_h2d(ctx, b.ctx, cc, sizeof(int32_t) * R * L, &err) ||
          elm_cuda_h2d(ctx, b.ctx_len, lens, sizeof(int) * R, &err) ||
          elm_cuda_h2d(ctx, b.pos, pos, sizeof(int) * R, &err) ||
          elm_cuda_h2d(ctx, b.index, index, sizeof(uint64_t) * R, &err) ||
          elm_cuda_h2d(ctx, b.live, live, (size_t)R, &err));
    ElmCuSampleParams gp = {
        cs->p.temperature,     cs->p.top_k, cs->p.top_p, cs->p.repetition_penalty,
        cs->p.no_repeat_ngram, cs->ban,     20261125};
    DC_OK(elm_cu_sample(ctx, &gp, b.logits, V, V, R, b.ctx, L, b.ctx_len, b.index, b.pos, b.live,
                        b.scratch, b.tok, b.lp, &err));
    int32_t *tok = malloc(sizeof(int32_t) * R);
    DC_OK(elm_cuda_d2h(ctx, tok, b.tok, sizeof(int32_t) * R, &err) || elm_cuda_sync(ctx, &err));
    ElmSampler s;
    DC_OK(elm_sampler_init(&s, &cs->p, V, &err));
    if (cs->ban >= 0) row[cs->ban] = -INFINITY;
    int kept = elm_sampler_distribution(&s, row, c, len);
    long *obs = calloc(V, sizeof(long));
    int bad = 0;
    for (int r = 0; r < R; r++) {
        if (tok[r] < 0 || tok[r] >= V)
            bad++;
        else
            obs[tok[r]]++;
    }
    double chi2;
    int dof;
    double p = chisq_test(obs, s.q, V, R, &chi2, &dof);
    printf("histogram %-34s: %d tokens kept, chi2 %.1f, dof %d, p %.3f\n", cs->name, kept, chi2,
           dof, p);
    CHECK(bad == 0, "%s: %d draws out of range", cs->name, bad);
    CHECK(p > 0.01, "%s: chi-square p %g (chi2 %g, dof %d)", cs->name, p, chi2, dof);
    elm_sampler_free(&s);
    bufs_free(&b);
    free(row), free(x), free(cc), free(lens), free(pos), free(index), free(live), free(tok),
        free(obs);
}

int main(void) {
    ElmCudaCtx *ctx = dc_open("test_sampling_gpu");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_agreement(ctx, &cases[i]);
    for (size_t i = 2; i < sizeof cases / sizeof cases[0] - 1; i++) check_histogram(ctx, &cases[i]);
    elm_cuda_ctx_free(ctx);
    ELM_TEST_DONE();
}
#endif
