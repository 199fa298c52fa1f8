// sample.c — the sampler described in sample.h. All probability arithmetic is in double.
#include "engine/generate/sample.h"
#include "engine/base/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct ElmSampleItem {
    double v;
    int32_t id;
} ElmSampleItem;

double elm_sample_uniform(uint64_t seed, uint64_t index, uint64_t position) {
    uint64_t h = elm_rng_mix(elm_rng_mix(elm_rng_mix(seed) + index) + position);
    return (double)(h >> 11) * 0x1.0p-53;
}

int elm_sampler_init(ElmSampler *s, const ElmSampleParams *p, int vocab, ElmError *err) {
    memset(s, 0, sizeof *s);
    if (vocab <= 0) return elm_err(err, "sampler: vocabulary size %d", vocab);
    if (!(p->temperature >= 0) || !(p->top_p > 0 && p->top_p <= 1) || p->top_k < 0 ||
        !(p->repetition_penalty > 0) || p->no_repeat_ngram < 0)
        return elm_err(err,
                       "sampler: invalid parameters (temperature %g, top_k %d, top_p %g, "
                       "repetition_penalty %g, no_repeat_ngram %d)",
                       p->temperature, p->top_k, p->top_p, p->repetition_penalty,
                       p->no_repeat_ngram);
    s->p = *p;
    s->vocab = vocab;
    s->z = malloc(sizeof(double) * (size_t)vocab);
    s->q = malloc(sizeof(double) * (size_t)vocab);
    s->items = malloc(sizeof(ElmSampleItem) * (size_t)vocab);
    s->seen = calloc((size_t)vocab, 1);
    if (!s->z || !s->q || !s->items || !s->seen) {
        elm_sampler_free(s);
        return elm_err(err, "sampler: out of memory");
    }
    return 0;
}

void elm_sampler_free(ElmSampler *s) {
    free(s->z);
    free(s->q);
    free(s->items);
    free(s->seen);
    memset(s, 0, sizeof *s);
}

// The total order used for ranking: larger value first, then lower id.
static int item_before(const ElmSampleItem *a, const ElmSampleItem *b) {
    return a->v > b->v || (a->v == b->v && a->id < b->id);
}

static int item_cmp(const void *pa, const void *pb) {
    const ElmSampleItem *a = pa, *b = pb;
    return item_before(a, b) ? -1 : item_before(b, a) ? 1 : 0;
}

static void item_swap(ElmSampleItem *a, ElmSampleItem *b) {
    ElmSampleItem t = *a;
    *a = *b;
    *b = t;
}

// Rearranges it[0..n) so that it[0..m) are the m first items of the total order (unsorted).
static void select_first(ElmSampleItem *it, int n, int m) {
    int lo = 0, hi = n - 1;
    uint64_t r = 0x5eedull;
    while (lo < hi) {
        r = elm_rng_mix(r);
        item_swap(&it[lo + (int)(r % (uint64_t)(hi - lo + 1))], &it[hi]);
        ElmSampleItem pivot = it[hi];
        int store = lo;
        for (int i = lo; i < hi; i++)
            if (item_before(&it[i], &pivot)) item_swap(&it[i], &it[store++]);
        item_swap(&it[store], &it[hi]);
        if (store == m - 1 || store == m) return;
        if (store < m)
            lo = store + 1;
        else
            hi = store - 1;
    }
}

// Step 1: repetition penalty over the distinct tokens of the context.
static void apply_repetition(ElmSampler *s, const int32_t *ctx, int n) {
    double r = s->p.repetition_penalty;
    for (int i = 0; i < n; i++) {
        int32_t t = ctx[i];
        if (t < 0 || t >= s->vocab || s->seen[t]) continue;
        s->seen[t] = 1;
        s->z[t] = s->z[t] > 0 ? s->z[t] / r : s->z[t] * r;
    }
    for (int i = 0; i < n; i++)
        if (ctx[i] >= 0 && ctx[i] < s->vocab) s->seen[ctx[i]] = 0;
}

// Step 2: bans every token that would complete an n-gram already in the context.
static void apply_no_repeat(ElmSampler *s, const int32_t *ctx, int L) {
    int n = s->p.no_repeat_ngram;
    if (L < n - 1 || L < 1) return;
    const int32_t *tail = ctx + L - (n - 1);
    for (int i = 0; i + n <= L; i++) {
        if (n > 1 && memcmp(ctx + i, tail, sizeof(int32_t) * (size_t)(n - 1)) != 0) continue;
        int32_t t = ctx[i + n - 1];
        if (t >= 0 && t < s->vocab) s->z[t] = -INFINITY;
    }
}

int elm_sampler_distribution(ElmSampler *s, const float *logits, const int32_t *ctx, int n_ctx) {
    const int V = s->vocab;
    const ElmSampleParams *p = &s->p;
    double *z = s->z, *q = s->q;
    for (int t = 0; t < V; t++) z[t] = logits[t];
    if (p->repetition_penalty != 1.0f) apply_repetition(s, ctx, n_ctx);
    if (p->no_repeat_ngram > 0) apply_no_repeat(s, ctx, n_ctx);

    // Step 3: greedy is a one-hot distribution at the first maximum.
    if (p->temperature == 0.0f) {
        int best = -1;
        for (int t = 0; t < V; t++)
            if (z[t] > -INFINITY && (best < 0 || z[t] > z[best])) best = t;
        memset(q, 0, sizeof(double) * (size_t)V);
        if (best < 0) return 0;
        q[best] = 1.0;
        return 1;
    }
    double inv_t = 1.0 / (double)p->temperature;
    int n = 0; // surviving tokens, as items
    ElmSampleItem *it = s->items;
    for (int t = 0; t < V; t++) {
        z[t] *= inv_t;
        if (z[t] > -INFINITY) it[n].v = z[t], it[n].id = t, n++;
    }
    if (n == 0) {
        memset(q, 0, sizeof(double) * (size_t)V);
        return 0;
    }

    // Step 4: top-k keeps every token at least as large as the k-th largest (ties included).
    if (p->top_k > 0 && p->top_k < n) {
        select_first(it, n, p->top_k);
        double kth = it[0].v;
        for (int i = 1; i < p->top_k; i++)
            if (it[i].v < kth) kth = it[i].v;
        int m = 0;
        for (int t = 0; t < V; t++)
            if (z[t] >= kth)
                it[m].v = z[t], it[m].id = t, m++;
            else
                z[t] = -INFINITY;
        n = m;
    }

    // Softmax over the survivors (z already excludes removed tokens as -inf).
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++)
        if (it[i].v > mx) mx = it[i].v;
    for (int t = 0; t < V; t++) {
        q[t] = z[t] > -INFINITY ? exp(z[t] - mx) : 0.0;
        sum += q[t];
    }
    for (int t = 0; t < V; t++) q[t] /= sum;

    // Step 5: top-p over the probabilities ranked high to low. Only the head needs sorting:
    // select the first m, sort them, and widen m until their mass reaches p.
    if (p->top_p < 1.0f && n > 1) {
        for (int i = 0; i < n; i++) it[i].v = q[it[i].id];
        double target = (double)p->top_p;
        int m = n < 64 ? n : 64, keep = -1;
        for (;;) {
            select_first(it, n, m);
            qsort(it, (size_t)m, sizeof *it, item_cmp);
            double cum = 0;
            for (int i = 0; i < m; i++) {
                if (cum >= target) {
                    keep = i;
                    break;
                }
                cum += it[i].v;
            }
            if (keep < 0 && (m == n || cum >= target)) keep = m;
            if (keep >= 0) break;
            m = m * 4 < n ? m * 4 : n;
        }
        if (keep < n) {
            // Remove the rest and renormalise over the kept head.
            memset(q, 0, sizeof(double) * (size_t)V);
            double s2 = 0;
            for (int i = 0; i < keep; i++) s2 += it[i].v;
            for (int i = 0; i < keep; i++) q[it[i].id] = it[i].v / s2;
            n = keep;
        }
    }
    return n;
}

int32_t elm_sample_draw(const double *q, int vocab, double u) {
    double total = 0;
    int32_t last = -1;
    for (int t = 0; t < vocab; t++)
        if (q[t] > 0) total += q[t], last = t;
    if (last < 0) return -1;
    double target = u * total, cum = 0;
    for (int t = 0; t < vocab; t++) {
        if (q[t] <= 0) continue;
        cum += q[t];
        if (cum > target) return t;
    }
    return last;
}

int32_t elm_sampler_pick(ElmSampler *s, const float *logits, const int32_t *ctx, int n_ctx,
                         double u, double *logprob) {
    if (elm_sampler_distribution(s, logits, ctx, n_ctx) == 0) return -1;
    int32_t tok = elm_sample_draw(s->q, s->vocab, u);
    if (logprob && tok >= 0) {
        double mx = -INFINITY, sum = 0;
        for (int t = 0; t < s->vocab; t++)
            if (logits[t] > mx) mx = logits[t];
        for (int t = 0; t < s->vocab; t++) sum += exp((double)logits[t] - mx);
        *logprob = (double)logits[tok] - mx - log(sum);
    }
    return tok;
}

double elm_log_sum_exp(const float *x, int n) {
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++)
        if (x[i] > mx) mx = x[i];
    for (int i = 0; i < n; i++) sum += exp((double)x[i] - mx);
    return mx + log(sum);
}
