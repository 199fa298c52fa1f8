// batcher_cpu.c — the CPU backend of the batcher: ElmGpt2's KV cache holds one row per slot,
// prefills are deferred to the next sample (the requests started since the last one all go in
// one elm_gpt2_prefill_batch, or one at a time with [generate] prefill = serial), and each slot
// samples with its own ElmSampler exactly as generate.c does (the reference the GPU backend is
// checked against).
#include "engine/generate/batcher.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct CpuBackend {
    ElmBatchBackend be;
    ElmGpt2 *m;
    ElmGenParams p;
    int eot, cap;
    ElmSampler *smp; // (slots)
    uint64_t *index; // (slots) request index of the slot's sequence (its uniforms)
    int32_t **ctx;   // (slots) sampler context: prompt ids then new tokens (cap each)
    int *n_ctx;      // (slots)
    int **pending;   // (slots) model ids of a request waiting for its prefill (cap each)
    int *n_pending;  // (slots)
    float *logits;   // (slots, V)
    int *feed;       // (slots)
    // one prefill's requests, in slot order: slot, ids, length, and the logits after them
    int *pf_seq, *pf_len;
    const int **pf_ids;
    float *pf_logits; // (slots, V)
} CpuBackend;

static int cpu_start(void *self, int slot, uint64_t index, const int32_t *ids, int n, int skip,
                     ElmError *err) {
    CpuBackend *c = self;
    if (n > c->cap)
        return elm_err(err, "batcher: a context of %d tokens exceeds the slot's %d", n, c->cap);
    for (int i = 0; i < n; i++) c->pending[slot][i] = ids[i];
    c->n_pending[slot] = n;
    memcpy(c->ctx[slot], ids + skip, sizeof(int32_t) * (size_t)(n - skip));
    c->n_ctx[slot] = n - skip;
    c->index[slot] = index;
    return 0;
}

// Prefills every request started since the last sample, together, into its slot's logits row
// (the other rows hold the last decode step's logits, so the prefill writes its own buffer).
static int cpu_prefill(CpuBackend *c, ElmError *err) {
    const size_t V = (size_t)c->be.vocab;
    int n = 0;
    for (int s = 0; s < c->be.slots; s++) {
        if (!c->n_pending[s]) continue;
        c->pf_seq[n] = s, c->pf_ids[n] = c->pending[s], c->pf_len[n] = c->n_pending[s];
        n++;
    }
    if (n == 0) return 0;
    if (elm_generate_prefill(c->m, c->p.prefill, n, c->pf_seq, c->pf_ids, c->pf_len, c->pf_logits,
                             err))
        return -1;
    for (int i = 0; i < n; i++) {
        memcpy(c->logits + (size_t)c->pf_seq[i] * V, c->pf_logits + (size_t)i * V,
               sizeof(float) * V);
        c->n_pending[c->pf_seq[i]] = 0;
    }
    return 0;
}

static int cpu_sample(void *self, const uint8_t *live, const int *pos, int32_t *tok,
                      double *logprob, ElmError *err) {
    CpuBackend *c = self;
    const int S = c->be.slots, V = c->be.vocab;
    if (cpu_prefill(c, err)) return -1;
#pragma omp parallel for schedule(static)
    for (int s = 0; s < S; s++) {
        if (!live[s]) continue;
        float *row = c->logits + (size_t)s * V;
        double lse = elm_log_sum_exp(row, V);
        if (c->p.mode == ELM_GEN_STORY && c->eot >= 0 && c->eot < V) row[c->eot] = -INFINITY;
        double u = elm_sample_uniform(c->p.seed, c->index[s], (uint64_t)pos[s]);
        tok[s] = elm_sampler_pick(&c->smp[s], row, c->ctx[s], c->n_ctx[s], u, NULL);
        logprob[s] = tok[s] >= 0 ? (double)row[tok[s]] - lse : 0.0;
    }
    return 0;
}

static int cpu_advance(void *self, const uint8_t *live, const int32_t *tok, ElmError *err) {
    CpuBackend *c = self;
    // Slots that do not advance get a dummy token in an emptied row: nothing they hold is
    // needed (a started request is prefilled from scratch at the next sample).
    for (int s = 0; s < c->be.slots; s++) {
        if (live[s]) {
            if (c->n_ctx[s] >= c->cap) return elm_err(err, "batcher: slot %d is full", s);
            c->feed[s] = tok[s];
            c->ctx[s][c->n_ctx[s]++] = tok[s];
        } else {
            c->feed[s] = 0;
            c->m->kv_pos[s] = 0;
        }
    }
    return elm_gpt2_decode_step(c->m, c->feed, c->logits, err);
}

ElmBatchBackend *elm_batch_cpu_create(ElmGpt2 *m, const ElmGenParams *p, int eot, int slots,
                                      int cap, ElmError *err) {
    const int V = m->config.vocab_size;
    if (slots < 1 || cap < 1 || cap > m->config.n_ctx) {
        elm_err(err, "batcher: %d slots of %d positions (n_ctx %d) is not possible", slots, cap,
                m->config.n_ctx);
        return NULL;
    }
    CpuBackend *c = elm_calloc(1, sizeof *c, err);
    if (!c) return NULL;
    c->be = (ElmBatchBackend){.self = c,
                              .slots = slots,
                              .vocab = V,
                              .start = cpu_start,
                              .sample = cpu_sample,
                              .advance = cpu_advance};
    c->m = m;
    c->p = *p;
    c->eot = eot;
    c->cap = cap;
    c->smp = elm_calloc((size_t)slots, sizeof *c->smp, err);
    c->index = elm_calloc((size_t)slots, sizeof *c->index, err);
    c->ctx = elm_calloc((size_t)slots, sizeof *c->ctx, err);
    c->n_ctx = elm_calloc((size_t)slots, sizeof *c->n_ctx, err);
    c->pending = elm_calloc((size_t)slots, sizeof *c->pending, err);
    c->n_pending = elm_calloc((size_t)slots, sizeof *c->n_pending, err);
    c->logits = elm_malloc(sizeof(float) * (size_t)V * (size_t)slots, err);
    c->feed = elm_calloc((size_t)slots, sizeof *c->feed, err);
    c->pf_seq = elm_calloc((size_t)slots, sizeof *c->pf_seq, err);
    c->pf_len = elm_calloc((size_t)slots, sizeof *c->pf_len, err);
    c->pf_ids = elm_calloc((size_t)slots, sizeof *c->pf_ids, err);
    c->pf_logits = elm_malloc(sizeof(float) * (size_t)V * (size_t)slots, err);
    if (!c->smp || !c->index || !c->ctx || !c->n_ctx || !c->pending || !c->n_pending ||
        !c->logits || !c->feed || !c->pf_seq || !c->pf_len || !c->pf_ids || !c->pf_logits)
        goto fail;
    for (int s = 0; s < slots; s++) {
        c->ctx[s] = elm_malloc(sizeof(int32_t) * (size_t)cap, err);
        c->pending[s] = elm_malloc(sizeof(int) * (size_t)cap, err);
        if (!c->ctx[s] || !c->pending[s]) goto fail;
        if (elm_sampler_init(&c->smp[s], &p->sample, V, err)) goto fail;
    }
    if (elm_gpt2_kv_alloc(m, slots, cap, err)) goto fail;
    return &c->be;
fail:
    elm_batch_cpu_free(&c->be);
    return NULL;
}

void elm_batch_cpu_free(ElmBatchBackend *be) {
    if (!be) return;
    CpuBackend *c = be->self;
    for (int s = 0; s < be->slots; s++) {
        if (c->smp) elm_sampler_free(&c->smp[s]);
        if (c->ctx) free(c->ctx[s]);
        if (c->pending) free(c->pending[s]);
    }
    free(c->smp);
    free(c->index);
    free(c->ctx);
    free(c->n_ctx);
    free(c->pending);
    free(c->n_pending);
    free(c->logits);
    free(c->feed);
    free(c->pf_seq);
    free(c->pf_len);
    free(c->pf_ids);
    free(c->pf_logits);
    free(c);
}
