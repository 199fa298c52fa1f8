// mock_decoder_api.c — the C API of kernels/ that kernels/gpu/batcher_cuda.c calls (cuda_ctx.h,
// decode.h, sampling.h), implemented on the CPU: "device" memory is host memory, the decoder is
// ElmGpt2's KV cache driven row by row, the sampler is engine/generate/sample.h. Linked with
// batcher_cuda.c compiled as if CUDA were there, so test_batcher_cuda_on_host.sh checks the
// backend's own logic (deferred and step-folded prefills, context mirror, packed copies, live
// masks) on the CPU.
#include "engine/model/gpt2.h"
#include "engine/generate/sample.h"
#include "kernels/cuda_ctx.h"
#include "kernels/gpu/decode.h"
#include "kernels/gpu/gpu.h"
#include "kernels/sampling.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ElmCudaCtx {
    int dummy;
};

ElmCudaCtx *elm_cuda_ctx_create(int device, ElmError *err) {
    (void)device, (void)err;
    return calloc(1, sizeof(ElmCudaCtx));
}
void elm_cuda_ctx_free(ElmCudaCtx *ctx) {
    free(ctx);
}
void *elm_cuda_malloc(size_t bytes, ElmError *err) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) elm_err(err, "mock: out of memory");
    if (p) memset(p, 0xa5, bytes); // device memory starts as garbage
    return p;
}
void elm_cuda_free(void *p) {
    free(p);
}
int elm_cuda_h2d(ElmCudaCtx *c, void *dst, const void *src, size_t n, ElmError *err) {
    (void)c, (void)err;
    memmove(dst, src, n);
    return 0;
}
int elm_cuda_d2h(ElmCudaCtx *c, void *dst, const void *src, size_t n, ElmError *err) {
    (void)c, (void)err;
    memmove(dst, src, n);
    return 0;
}
int elm_cuda_memset(ElmCudaCtx *c, void *dst, int byte, size_t n, ElmError *err) {
    (void)c, (void)err;
    memset(dst, byte, n);
    return 0;
}
int elm_cuda_sync(ElmCudaCtx *c, ElmError *err) {
    (void)c, (void)err;
    return 0;
}
int elm_gpu_compiled(void) {
    return 1;
}
int elm_gpu_query(ElmGpuInfo *out, int cap, ElmError *err) {
    (void)out, (void)cap, (void)err;
    return 0;
}

struct ElmCuDecoder {
    ElmGpt2 m; // shares the caller's parameters; its own KV cache
    int slots, cap;
    float *logits;  // (slots, V)
    int *step;      // (2 * slots) tokens then positions
    float *scratch; // (V) logits of rows whose output is not kept
    long long steps, rows;
};

ElmCuDecoder *elm_cu_decoder_create(ElmCudaCtx *ctx, const ElmGpt2 *m, int slots, int cap,
                                    int max_rows, ElmError *err) {
    (void)ctx, (void)max_rows;
    ElmCuDecoder *d = calloc(1, sizeof *d);
    d->m = *m;
    d->m.kv = NULL, d->m.kv_pos = NULL, d->m.kv_scratch = NULL;
    d->slots = slots, d->cap = cap;
    int V = m->config.vocab_size;
    d->logits = malloc(sizeof(float) * (size_t)slots * V);
    d->scratch = malloc(sizeof(float) * (size_t)V);
    d->step = calloc(2 * (size_t)slots, sizeof(int));
    if (elm_gpt2_kv_alloc(&d->m, slots, cap, err)) return NULL;
    for (size_t i = 0; i < (size_t)slots * V; i++) d->logits[i] = NAN; // never read unwritten
    return d;
}

void elm_cu_decoder_free(ElmCuDecoder *d) {
    if (!d) return;
    free(d->m.kv), free(d->m.kv_pos), free(d->m.kv_scratch);
    free(d->logits), free(d->scratch), free(d->step);
    free(d);
}

// Rows of one slot at consecutive positions go through elm_gpt2_prefill together.
int elm_cu_decoder_forward(ElmCuDecoder *d, const int *tok, const int *slot, const int *pos,
                           const uint8_t *out, int n, ElmError *err) {
    const int V = d->m.config.vocab_size;
    for (int r = 0; r < n;) {
        int e = r + 1;
        while (e < n && slot[e] == slot[r] && pos[e] == pos[e - 1] + 1) e++;
        for (int i = r; i < e - 1; i++)
            if (out && out[i]) return elm_err(err, "mock: logits wanted inside a run");
        d->m.kv_pos[slot[r]] = pos[r];
        float *dst = out && out[e - 1] ? d->logits + (size_t)slot[r] * V : d->scratch;
        if (elm_gpt2_prefill(&d->m, slot[r], tok + r, e - r, dst, err)) return -1;
        d->rows += e - r;
        r = e;
    }
    return 0;
}

int elm_cu_decoder_step(ElmCuDecoder *d, int use_graph, ElmError *err) {
    (void)use_graph;
    for (int s = 0; s < d->slots; s++) d->m.kv_pos[s] = d->step[d->slots + s];
    d->steps++;
    return elm_gpt2_decode_step(&d->m, d->step, d->logits, err);
}

int *elm_cu_decoder_step_tokens(ElmCuDecoder *d) {
    return d->step;
}
int *elm_cu_decoder_step_positions(ElmCuDecoder *d) {
    return d->step + d->slots;
}
float *elm_cu_decoder_logits(ElmCuDecoder *d, int *ld) {
    *ld = d->m.config.vocab_size;
    return d->logits;
}

int elm_cu_sample(ElmCudaCtx *ctx, const ElmCuSampleParams *p, float *logits, long ld, int V,
                  int rows, const int32_t *ctxids, int ctx_ld, const int *ctx_len,
                  const uint64_t *index, const int *pos, const uint8_t *live, float *scratch,
                  int32_t *tok, float *logprob, ElmError *err) {
    (void)ctx, (void)scratch;
    ElmSampleParams sp = {p->temperature, p->top_k, p->top_p, p->repetition_penalty,
                          p->no_repeat_ngram};
    ElmSampler s;
    if (elm_sampler_init(&s, &sp, V, err)) return -1;
    for (int r = 0; r < rows; r++) {
        if (!live[r]) continue;
        float *row = logits + (size_t)r * ld;
        double mx = -INFINITY, sum = 0;
        for (int t = 0; t < V; t++) {
            if (isnan(row[t])) {
                elm_sampler_free(&s);
                return elm_err(err, "mock: row %d sampled before its logits were written", r);
            }
            mx = row[t] > mx ? row[t] : mx;
        }
        for (int t = 0; t < V; t++) sum += exp((double)row[t] - mx);
        if (p->ban_token >= 0 && p->ban_token < V) row[p->ban_token] = -INFINITY;
        double u = elm_sample_uniform(p->seed, index[r], (uint64_t)pos[r]);
        tok[r] = elm_sampler_pick(&s, row, ctxids + (size_t)r * ctx_ld, ctx_len[r], u, NULL);
        logprob[r] = tok[r] >= 0 ? (float)((double)row[tok[r]] - mx - log(sum)) : 0.0f;
        for (int t = 0; t < V; t++) row[t] = NAN; // the next sample needs fresh logits
    }
    elm_sampler_free(&s);
    return 0;
}

int elm_cu_sample_append(ElmCudaCtx *ctx, int32_t *ctxids, int ctx_ld, int *ctx_len,
                         const int32_t *tok, const uint8_t *live, int rows, ElmError *err) {
    (void)ctx, (void)err;
    for (int r = 0; r < rows; r++)
        if (live[r] && tok[r] >= 0 && ctx_len[r] < ctx_ld)
            ctxids[(size_t)r * ctx_ld + ctx_len[r]++] = tok[r];
    return 0;
}
