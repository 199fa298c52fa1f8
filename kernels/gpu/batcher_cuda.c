// batcher_cuda.c — the GPU backend of the batcher: the model in kernels/gpu/decode.h (bf16 weights
// and KV cache, decode step in a CUDA graph) and the sampler in kernels/sampling.h. Prefills of
// the requests started since the last sample run together as one forward over their rows.
// Without CUDA the constructor reports that the build has none.
#include "kernels/gpu/batcher_cuda.h"

#include <stdlib.h>
#include <string.h>

#ifdef ELM_HAVE_CUDA

#include "kernels/cuda_ctx.h"
#include "kernels/gpu/decode.h"
#include "kernels/sampling.h"
#include "engine/base/fsutil.h"

typedef struct CudaBackend {
    ElmBatchBackend be;
    ElmCudaCtx *ctx;
    int own_ctx;
    ElmCuDecoder *dec;
    ElmCuSampleParams sp;
    int cap, use_graph;
    // host
    int32_t **pending; // (slots, cap) model ids of a started request not yet in the cache
    int *n_pending;
    int *model_len;  // (slots) positions in the cache
    uint64_t *index; // (slots)
    int *step_io;    // (2 * slots) the step's tokens then positions, copied in one go
    uint8_t *h_in;   // (13 * slots) index (u64), pos (int), live (u8): one copy per sample
    uint8_t *h_out;  // (8 * slots) tokens (int32) then log-probabilities (float)
    int32_t *h_ctx;  // (slots + slots * cap) sampler contexts: lengths, then rows (= d_ctxbuf)
    int ctx_dirty;   // h_ctx changed in a way the device has not seen (a request started)
    int *rows_tok, *rows_slot, *rows_pos; // (slots * cap) prefill rows
    uint8_t *rows_out;
    // device: d_in, d_out, d_ctxbuf mirror h_in, h_out, h_ctx; the others point into them
    int32_t *d_ctxbuf, *d_ctx;
    int *d_ctx_len, *d_pos;
    uint64_t *d_index;
    uint8_t *d_in, *d_out, *d_live, *d_adv;
    int32_t *d_tok;
    float *d_lp, *d_scratch;
    ElmBatchCudaStats stats;
} CudaBackend;

static int cuda_start(void *self, int slot, uint64_t index, const int32_t *ids, int n, int skip,
                      ElmError *err) {
    CudaBackend *c = self;
    const size_t S = (size_t)c->be.slots;
    if (n > c->cap || n < 1)
        return elm_err(err, "batcher: a context of %d tokens does not fit the slot's %d", n,
                       c->cap);
    memcpy(c->pending[slot], ids, sizeof(int32_t) * (size_t)n);
    c->n_pending[slot] = n;
    c->index[slot] = index;
    c->h_ctx[slot] = n - skip;
    memcpy(c->h_ctx + S + (size_t)slot * c->cap, ids + skip, sizeof(int32_t) * (size_t)(n - skip));
    c->ctx_dirty = 1;
    return 0;
}

// Uploads every sampler context in one copy when a request has started since the last one.
static int sync_ctx(CudaBackend *c, ElmError *err) {
    if (!c->ctx_dirty) return 0;
    const size_t S = (size_t)c->be.slots;
    if (elm_cuda_h2d(c->ctx, c->d_ctxbuf, c->h_ctx, sizeof(int32_t) * (S + S * c->cap), err))
        return -1;
    c->ctx_dirty = 0;
    return 0;
}

// Puts the started requests into the cache. into_step = 0: all their ids in one forward,
// logits after the last (before a sample). into_step = 1: all but the last id in one forward,
// the last id goes into the coming decode step at its position (so an unconditional request,
// whose context is just <|endoftext|>, costs no forward of its own).
static int run_prefills(CudaBackend *c, int into_step, ElmError *err) {
    const int S = c->be.slots;
    int n = 0, any = 0;
    for (int s = 0; s < S; s++) {
        int k = c->n_pending[s];
        if (!k) continue;
        int rows = into_step ? k - 1 : k;
        for (int i = 0; i < rows; i++) {
            c->rows_tok[n] = c->pending[s][i];
            c->rows_slot[n] = s;
            c->rows_pos[n] = i;
            c->rows_out[n] = !into_step && i == k - 1;
            n++;
        }
        if (into_step) c->step_io[s] = c->pending[s][k - 1], c->step_io[S + s] = k - 1;
        c->model_len[s] = k;
        c->n_pending[s] = 0;
        any = 1;
    }
    if (!any || n == 0) return 0;
    double t0 = elm_now();
    if (elm_cu_decoder_forward(c->dec, c->rows_tok, c->rows_slot, c->rows_pos, c->rows_out, n, err))
        return -1;
    c->stats.prefill_rows += n;
    c->stats.prefill_calls++;
    c->stats.prefill_s += elm_now() - t0;
    return 0;
}

static int cuda_sample(void *self, const uint8_t *live, const int *pos, int32_t *tok,
                       double *logprob, ElmError *err) {
    CudaBackend *c = self;
    const int S = c->be.slots;
    if (run_prefills(c, 0, err) || sync_ctx(c, err)) return -1;
    // One copy in (index, pos, live), one copy out (tokens, log-probabilities).
    memcpy(c->h_in, c->index, 8 * (size_t)S);
    memcpy(c->h_in + 8 * (size_t)S, pos, 4 * (size_t)S);
    memcpy(c->h_in + 12 * (size_t)S, live, (size_t)S);
    int ld;
    float *logits = elm_cu_decoder_logits(c->dec, &ld);
    if (elm_cuda_h2d(c->ctx, c->d_in, c->h_in, 13 * (size_t)S, err) ||
        elm_cu_sample(c->ctx, &c->sp, logits, ld, c->be.vocab, S, c->d_ctx, c->cap, c->d_ctx_len,
                      c->d_index, c->d_pos, c->d_live, c->d_scratch, c->d_tok, c->d_lp, err) ||
        elm_cuda_d2h(c->ctx, c->h_out, c->d_out, 8 * (size_t)S, err) || elm_cuda_sync(c->ctx, err))
        return -1;
    memcpy(tok, c->h_out, 4 * (size_t)S);
    const float *lp = (const float *)(c->h_out + 4 * (size_t)S);
    for (int s = 0; s < S; s++) logprob[s] = live[s] ? (double)lp[s] : 0.0;
    return 0;
}

static int cuda_advance(void *self, const uint8_t *live, const int32_t *tok, ElmError *err) {
    CudaBackend *c = self;
    const int S = c->be.slots;
    // Advancing slots append their token (here and, by a kernel, on the device); requests
    // started since the sample enter with their last id; idle slots decode a dummy token at
    // position 0 (they hold nothing).
    for (int s = 0; s < S; s++) {
        if (live[s]) {
            if (c->model_len[s] >= c->cap) return elm_err(err, "batcher: slot %d is full", s);
            c->step_io[s] = tok[s];
            c->step_io[S + s] = c->model_len[s]++;
            int32_t *len = &c->h_ctx[s];
            if (*len < c->cap) c->h_ctx[S + (size_t)s * c->cap + (*len)++] = tok[s];
        } else {
            c->step_io[s] = 0;
            c->step_io[S + s] = 0;
        }
    }
    double t0 = elm_now();
    if (elm_cuda_h2d(c->ctx, c->d_adv, live, (size_t)S, err) ||
        elm_cu_sample_append(c->ctx, c->d_ctx, c->cap, c->d_ctx_len, c->d_tok, c->d_adv, S, err) ||
        run_prefills(c, 1, err) || sync_ctx(c, err) ||
        elm_cuda_h2d(c->ctx, elm_cu_decoder_step_tokens(c->dec), c->step_io,
                     2 * sizeof(int) * (size_t)S, err) ||
        elm_cu_decoder_step(c->dec, c->use_graph, err))
        return -1;
    c->stats.steps++;
    c->stats.step_s += elm_now() - t0;
    return 0;
}

ElmBatchBackend *elm_batch_cuda_create(ElmCudaCtx *ctx, const ElmGpt2 *m, const ElmGenParams *p,
                                       int eot, int slots, int cap, int use_graph, ElmError *err) {
    if (slots < 1 || cap < 1 || cap > m->config.n_ctx) {
        elm_err(err, "batcher: %d slots of %d positions (n_ctx %d) is not possible", slots, cap,
                m->config.n_ctx);
        return NULL;
    }
    CudaBackend *c = elm_calloc(1, sizeof *c, err);
    if (!c) return NULL;
    c->be = (ElmBatchBackend){.self = c,
                              .slots = slots,
                              .vocab = m->config.vocab_size,
                              .start = cuda_start,
                              .sample = cuda_sample,
                              .advance = cuda_advance};
    c->cap = cap;
    c->use_graph = use_graph;
    c->sp = (ElmCuSampleParams){.temperature = p->sample.temperature,
                                .top_k = p->sample.top_k,
                                .top_p = p->sample.top_p,
                                .repetition_penalty = p->sample.repetition_penalty,
                                .no_repeat_ngram = p->sample.no_repeat_ngram,
                                .ban_token = p->mode == ELM_GEN_STORY ? eot : -1,
                                .seed = p->seed};
    if (ctx) {
        c->ctx = ctx;
    } else {
        if (!(c->ctx = elm_cuda_ctx_create(0, err))) goto fail;
        c->own_ctx = 1;
    }
    const size_t S = (size_t)slots, SC = S * (size_t)cap;
    c->pending = elm_calloc(S, sizeof *c->pending, err);
    c->n_pending = elm_calloc(S, sizeof(int), err);
    c->h_ctx = elm_calloc(S + SC, sizeof(int32_t), err);
    c->model_len = elm_calloc(S, sizeof(int), err);
    c->index = elm_calloc(S, sizeof(uint64_t), err);
    c->step_io = elm_calloc(2 * S, sizeof(int), err);
    c->h_in = elm_calloc(13 * S, 1, err);
    c->h_out = elm_calloc(8 * S, 1, err);
    c->rows_tok = elm_malloc(SC * sizeof(int), err);
    c->rows_slot = elm_malloc(SC * sizeof(int), err);
    c->rows_pos = elm_malloc(SC * sizeof(int), err);
    c->rows_out = elm_malloc(SC, err);
    if (!c->pending || !c->n_pending || !c->h_ctx || !c->model_len || !c->index || !c->step_io ||
        !c->h_in || !c->h_out || !c->rows_tok || !c->rows_slot || !c->rows_pos || !c->rows_out)
        goto fail;
    for (size_t s = 0; s < S; s++)
        if (!(c->pending[s] = elm_malloc(sizeof(int32_t) * (size_t)cap, err))) goto fail;
    if (!(c->d_ctxbuf = elm_cuda_malloc((S + SC) * sizeof(int32_t), err)) ||
        !(c->d_in = elm_cuda_malloc(13 * S, err)) || !(c->d_adv = elm_cuda_malloc(S, err)) ||
        !(c->d_out = elm_cuda_malloc(8 * S, err)) ||
        !(c->d_scratch = elm_cuda_malloc(SC * sizeof(float), err)) ||
        elm_cuda_memset(c->ctx, c->d_ctxbuf, 0, S * sizeof(int32_t), err))
        goto fail;
    c->d_ctx_len = (int *)c->d_ctxbuf;
    c->d_ctx = c->d_ctxbuf + S;
    c->d_index = (uint64_t *)c->d_in;
    c->d_pos = (int *)(c->d_in + 8 * S);
    c->d_live = c->d_in + 12 * S;
    c->d_tok = (int32_t *)c->d_out;
    c->d_lp = (float *)(c->d_out + 4 * S);
    // Prefill rows: up to 4096 per forward (more are split by the decoder).
    if (!(c->dec = elm_cu_decoder_create(c->ctx, m, slots, cap, 4096, err))) goto fail;
    return &c->be;
fail:
    elm_batch_cuda_free(&c->be);
    return NULL;
}

void elm_batch_cuda_stats(const ElmBatchBackend *be, ElmBatchCudaStats *st) {
    const CudaBackend *c = be->self;
    *st = c->stats;
}

void elm_batch_cuda_free(ElmBatchBackend *be) {
    if (!be) return;
    CudaBackend *c = be->self;
    elm_cu_decoder_free(c->dec);
    void *dev[] = {c->d_ctxbuf, c->d_in, c->d_adv, c->d_out, c->d_scratch};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++) elm_cuda_free(dev[i]);
    for (int s = 0; c->pending && s < be->slots; s++) free(c->pending[s]);
    free(c->pending);
    free(c->n_pending);
    free(c->h_ctx);
    free(c->model_len);
    free(c->index);
    free(c->step_io);
    free(c->h_in);
    free(c->h_out);
    free(c->rows_tok);
    free(c->rows_slot);
    free(c->rows_pos);
    free(c->rows_out);
    if (c->own_ctx) elm_cuda_ctx_free(c->ctx);
    free(c);
}

#else // no CUDA in this build

ElmBatchBackend *elm_batch_cuda_create(ElmCudaCtx *ctx, const ElmGpt2 *m, const ElmGenParams *p,
                                       int eot, int slots, int cap, int use_graph, ElmError *err) {
    (void)ctx, (void)m, (void)p, (void)eot, (void)slots, (void)cap, (void)use_graph;
    elm_err(err, "this elm was built without CUDA (rebuild with nvcc, or set [generate] "
                 "device = cpu)");
    return NULL;
}

void elm_batch_cuda_stats(const ElmBatchBackend *be, ElmBatchCudaStats *st) {
    (void)be;
    memset(st, 0, sizeof *st);
}

void elm_batch_cuda_free(ElmBatchBackend *be) {
    (void)be;
}

#endif
