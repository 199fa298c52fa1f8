// decode.c — the GPU decoder (see decode.h): bf16 weights and KV cache on the device, the
// forward over rows through the kernels' C API (elm_cu_matmul, the layer norms, decode.cu's
// embedding, KV stores, attention, gather and scatter), and the decode step as a CUDA graph.
// Plain C over that API, so kernels/dev/mock_ops.c + tests/kernels/mock_decode_launchers.c can run
// it on the CPU (tests/kernels/test_decoder_on_host.sh).
#include "kernels/gpu/decode.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ATT_CHUNK_MIN 64 // fewest positions an attention split handles
#define ATT_SPLIT_MAX 16

static int ceil_div(long a, long b) {
    return (int)((a + b - 1) / b);
}

struct ElmCuDecoder {
    ElmCudaCtx *ctx;
    ElmGpt2Config cfg;
    int slots, cap, rows; // rows: activation rows per forward
    int Vp;               // logits row stride (V rounded up to 64)
    ElmBf16 *params;      // bf16 copy of the parameters, llm.c layout
    ElmBf16 *t[ELM_GPT2_NUM_TENSORS];
    ElmBf16 *kcache, *vcache; // (L, slots, NH, cap, hs) each
    ElmBf16 *x0, *x1, *ln, *qkv, *atty, *tmp, *fch, *pre, *outln;
    float *logits, *plogits; // (slots, Vp), (rows, Vp) for prefill rows before the scatter
    float *att_scratch;
    int split_max;
    int *d_tok, *d_slot, *d_pos, *d_gather, *d_outslot; // (rows) row inputs of a forward
    int *step_tok, *step_pos, *step_slot; // (slots) the decode step's inputs; step_pos follows
                                          // step_tok in one allocation
    int *h_gather, *h_outslot;            // host scratch (rows)
    void *exec;                           // the captured decode step (elm_cu_graph_*)
    int captured; // 1 = exec holds the step; -1 = graphs unavailable, steps run eagerly
    ElmCuMatmulImpl impl;
};

// ---- the decoder ------------------------------------------------------------------------------

// Splits for n rows whose longest context is maxlen: enough blocks to cover the machine twice,
// at least ATT_CHUNK_MIN positions each.
static int pick_splits(const ElmCuDecoder *d, int n, int maxlen) {
    int blocks = n * d->cfg.n_head, want = 2 * elm_cuda_ctx_sms(d->ctx);
    if (blocks >= want) return 1;
    int s = ceil_div(want, blocks), by_len = ceil_div(maxlen, ATT_CHUNK_MIN);
    if (s > by_len) s = by_len;
    if (s > d->split_max) s = d->split_max;
    return s < 1 ? 1 : s;
}

static int linear(ElmCuDecoder *d, ElmBf16 *out, const ElmBf16 *in, const ElmBf16 *w,
                  const ElmBf16 *b, int n, int K, int OC, ElmBf16 *pre_gelu, ElmError *err) {
    ElmCuMatmul mm;
    memset(&mm, 0, sizeof mm);
    mm.M = n, mm.N = OC, mm.K = K;
    mm.a = in, mm.lda = K;
    mm.b = w, mm.ldb = K, mm.trans_b = 1;
    mm.c = out, mm.ldc = OC;
    mm.bias = b;
    mm.pre_gelu = pre_gelu;
    return elm_cu_matmul(d->ctx, &mm, d->impl, err);
}

// The forward of n rows whose inputs are in tok/slot/pos (device). n_out > 0: logits for the
// rows gather[0..n_out) (device) go to logits rows outslot[0..n_out); n_out = 0: row r's
// logits go to logits row r (the decode step, n = slots).
static int run_rows(ElmCuDecoder *d, const int *tok, const int *slot, const int *pos, int n,
                    int nsplit, const int *gather, const int *outslot, int n_out, ElmError *err) {
    ElmCudaCtx *ctx = d->ctx;
    const ElmGpt2Config *c = &d->cfg;
    const int L = c->n_layer, C = c->n_embd, NH = c->n_head, V = c->vocab_size;
    const long kv_layer = (long)d->slots * NH * d->cap * (C / NH);
    ElmBf16 **t = d->t;
    ElmBf16 *x = d->x0, *xn = d->x1;
    if (elm_cu_decode_embed(ctx, x, t[0], t[1], tok, pos, n, C, err)) return -1;
    for (int l = 0; l < L; l++) {
        const long lc = (long)l * C;
        if (l == 0) {
            if (elm_cu_layernorm_forward(ctx, d->ln, NULL, NULL, x, t[2], t[3], n, C, err))
                return -1;
        } else {
            // x' = x + (the previous layer's MLP output); ln = layernorm1(x')
            if (elm_cu_residual_layernorm_forward(ctx, xn, d->ln, NULL, NULL, x, d->tmp, t[2] + lc,
                                                  t[3] + lc, n, C, err))
                return -1;
            ElmBf16 *s = x;
            x = xn, xn = s;
        }
        if (linear(d, d->qkv, d->ln, t[4] + lc * 3 * C, t[5] + lc * 3, n, C, 3 * C, NULL, err) ||
            elm_cu_decode_kv_store(ctx, d->kcache + l * kv_layer, d->vcache + l * kv_layer, d->qkv,
                                   slot, pos, n, C, NH, d->cap, err) ||
            elm_cu_decode_attention(ctx, d->atty, d->qkv, 3 * C, d->kcache + l * kv_layer,
                                    d->vcache + l * kv_layer, slot, pos, n, C, NH, d->cap, nsplit,
                                    d->att_scratch, err) ||
            linear(d, d->tmp, d->atty, t[6] + lc * C, t[7] + lc, n, C, C, NULL, err) ||
            elm_cu_residual_layernorm_forward(ctx, xn, d->ln, NULL, NULL, x, d->tmp, t[8] + lc,
                                              t[9] + lc, n, C, err))
            return -1;
        ElmBf16 *s = x;
        x = xn, xn = s;
        if (linear(d, d->fch, d->ln, t[10] + lc * 4 * C, t[11] + lc * 4, n, C, 4 * C, d->pre,
                   err) ||
            linear(d, d->tmp, d->fch, t[12] + lc * 4 * C, t[13] + lc, n, 4 * C, C, NULL, err))
            return -1;
    }
    if (n_out < 0) return 0; // a prefill chunk whose rows want no logits
    if (elm_cu_residual_layernorm_forward(ctx, xn, d->ln, NULL, NULL, x, d->tmp, t[14], t[15], n, C,
                                          err))
        return -1;
    ElmCuMatmul mm;
    memset(&mm, 0, sizeof mm);
    mm.N = V, mm.K = C;
    mm.lda = C;
    mm.b = t[0], mm.ldb = C, mm.trans_b = 1;
    mm.ldc = d->Vp, mm.c_fp32 = 1;
    if (n_out == 0) {
        mm.M = n, mm.a = d->ln, mm.c = d->logits;
        return elm_cu_matmul(ctx, &mm, d->impl, err);
    }
    if (elm_cu_decode_gather(ctx, d->outln, d->ln, gather, n_out, C, err)) return -1;
    mm.M = n_out, mm.a = d->outln, mm.c = d->plogits;
    if (elm_cu_matmul(ctx, &mm, d->impl, err)) return -1;
    if (elm_cu_decode_scatter_logits(ctx, d->logits, d->plogits, outslot, n_out, d->Vp, err))
        return -1;
    return 0;
}

void elm_cu_decoder_free(ElmCuDecoder *d) {
    if (!d) return;
    elm_cu_graph_free(d->exec);
    void *bufs[] = {d->params,   d->kcache,    d->vcache,      d->x0,       d->x1,     d->ln,
                    d->qkv,      d->atty,      d->tmp,         d->fch,      d->pre,    d->outln,
                    d->logits,   d->plogits,   d->att_scratch, d->d_tok,    d->d_slot, d->d_pos,
                    d->d_gather, d->d_outslot, d->step_tok,    d->step_slot};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) elm_cuda_free(bufs[i]);
    free(d->h_gather);
    free(d->h_outslot);
    free(d);
}

ElmCuDecoder *elm_cu_decoder_create(ElmCudaCtx *ctx, const ElmGpt2 *m, int slots, int cap,
                                    int max_rows, ElmError *err) {
    const ElmGpt2Config *c = &m->config;
    const int C = c->n_embd, NH = c->n_head, L = c->n_layer, hs = C / NH;
    if (slots < 1 || cap < 1 || cap > c->n_ctx || hs > 128 || C % NH) {
        elm_err(err, "decoder: %d slots x %d positions, head size %d: not supported", slots, cap,
                hs);
        return NULL;
    }
    ElmCuDecoder *d = elm_calloc(1, sizeof *d, err);
    if (!d) return NULL;
    d->ctx = ctx;
    d->cfg = *c;
    d->slots = slots;
    d->cap = cap;
    d->rows = max_rows > slots ? max_rows : slots;
    d->Vp = (c->vocab_size + 63) / 64 * 64;
    d->impl = ELM_CU_MATMUL_AUTO;
    d->split_max = ceil_div(cap, ATT_CHUNK_MIN);
    if (d->split_max > ATT_SPLIT_MAX) d->split_max = ATT_SPLIT_MAX;
    const size_t R = (size_t)d->rows, S = (size_t)slots;
    size_t kv = (size_t)L * S * NH * cap * hs;
    ElmBf16 *host = NULL;
    if (!(d->params = elm_cuda_malloc(m->num_parameters * 2, err)) ||
        !(d->kcache = elm_cuda_malloc(kv * 2, err)) ||
        !(d->vcache = elm_cuda_malloc(kv * 2, err)) || !(d->x0 = elm_cuda_malloc(R * C * 2, err)) ||
        !(d->x1 = elm_cuda_malloc(R * C * 2, err)) || !(d->ln = elm_cuda_malloc(R * C * 2, err)) ||
        !(d->qkv = elm_cuda_malloc(R * 3 * C * 2, err)) ||
        !(d->atty = elm_cuda_malloc(R * C * 2, err)) ||
        !(d->tmp = elm_cuda_malloc(R * C * 2, err)) ||
        !(d->fch = elm_cuda_malloc(R * 4 * C * 2, err)) ||
        !(d->pre = elm_cuda_malloc(R * 4 * C * 2, err)) ||
        !(d->outln = elm_cuda_malloc(S * C * 2, err)) ||
        !(d->logits = elm_cuda_malloc(S * d->Vp * 4, err)) ||
        !(d->plogits = elm_cuda_malloc(S * d->Vp * 4, err)) ||
        !(d->att_scratch =
              elm_cuda_malloc(R * NH * d->split_max * (hs + 2) * sizeof(float), err)) ||
        !(d->d_tok = elm_cuda_malloc(R * 4, err)) || !(d->d_slot = elm_cuda_malloc(R * 4, err)) ||
        !(d->d_pos = elm_cuda_malloc(R * 4, err)) || !(d->d_gather = elm_cuda_malloc(R * 4, err)) ||
        !(d->d_outslot = elm_cuda_malloc(R * 4, err)) ||
        !(d->step_tok = elm_cuda_malloc(2 * S * 4, err)) ||
        !(d->step_slot = elm_cuda_malloc(S * 4, err)))
        goto fail;
    d->step_pos = d->step_tok + slots;
    d->h_gather = elm_malloc(R * sizeof(int), err);
    d->h_outslot = elm_malloc(R * sizeof(int), err);
    host = elm_malloc(m->num_parameters * 2, err);
    if (!d->h_gather || !d->h_outslot || !host) goto fail;
    elm_bf16_from_f32_n(host, m->params_memory, m->num_parameters);
    if (elm_cuda_h2d(ctx, d->params, host, m->num_parameters * 2, err)) goto fail;
    for (int i = 0; i < ELM_GPT2_NUM_TENSORS; i++) {
        ElmGpt2TensorInfo info;
        elm_gpt2_tensor_info(c, i, &info);
        d->t[i] = d->params + info.offset;
    }
    for (int s = 0; s < slots; s++) d->h_gather[s] = s;
    // Zeroed logits padding and step inputs (slot s at position 0 until the caller sets them).
    if (elm_cuda_memset(ctx, d->logits, 0, S * d->Vp * 4, err) ||
        elm_cuda_memset(ctx, d->step_tok, 0, 2 * S * 4, err) ||
        elm_cuda_h2d(ctx, d->step_slot, d->h_gather, S * 4, err) || elm_cuda_sync(ctx, err))
        goto fail;
    free(host);
    return d;
fail:
    free(host);
    elm_cu_decoder_free(d);
    return NULL;
}

int elm_cu_decoder_forward(ElmCuDecoder *d, const int *tok, const int *slot, const int *pos,
                           const uint8_t *out, int n, ElmError *err) {
    for (int i = 0; i < n; i++)
        if (tok[i] < 0 || tok[i] >= d->cfg.vocab_size || slot[i] < 0 || slot[i] >= d->slots ||
            pos[i] < 0 || pos[i] >= d->cap)
            return elm_err(err, "decoder: row %d (token %d, slot %d, position %d) is out of range",
                           i, tok[i], slot[i], pos[i]);
    for (int r0 = 0; r0 < n; r0 += d->rows) {
        int m = n - r0 < d->rows ? n - r0 : d->rows, n_out = 0, maxlen = 1;
        for (int i = 0; i < m; i++) {
            if (pos[r0 + i] + 1 > maxlen) maxlen = pos[r0 + i] + 1;
            if (out && out[r0 + i]) {
                d->h_gather[n_out] = i;
                d->h_outslot[n_out++] = slot[r0 + i];
            }
        }
        if (elm_cuda_h2d(d->ctx, d->d_tok, tok + r0, m * 4, err) ||
            elm_cuda_h2d(d->ctx, d->d_slot, slot + r0, m * 4, err) ||
            elm_cuda_h2d(d->ctx, d->d_pos, pos + r0, m * 4, err) ||
            (n_out && elm_cuda_h2d(d->ctx, d->d_gather, d->h_gather, n_out * 4, err)) ||
            (n_out && elm_cuda_h2d(d->ctx, d->d_outslot, d->h_outslot, n_out * 4, err)))
            return -1;
        // Rows without outputs still need n_out > 0 so nothing writes the logits.
        if (n_out == 0) {
            if (run_rows(d, d->d_tok, d->d_slot, d->d_pos, m, pick_splits(d, m, maxlen), NULL, NULL,
                         -1, err))
                return -1;
        } else if (run_rows(d, d->d_tok, d->d_slot, d->d_pos, m, pick_splits(d, m, maxlen),
                            d->d_gather, d->d_outslot, n_out, err)) {
            return -1;
        }
    }
    return 0;
}

int *elm_cu_decoder_step_tokens(ElmCuDecoder *d) {
    return d->step_tok;
}
int *elm_cu_decoder_step_positions(ElmCuDecoder *d) {
    return d->step_pos;
}
float *elm_cu_decoder_logits(ElmCuDecoder *d, int *ld) {
    *ld = d->Vp;
    return d->logits;
}

int elm_cu_decoder_step(ElmCuDecoder *d, int use_graph, ElmError *err) {
    // The graph is fixed, so its attention split count covers the longest possible context.
    int nsplit = pick_splits(d, d->slots, d->cap);
    if (use_graph && d->captured == 1) return elm_cu_graph_launch(d->ctx, d->exec, err);
    // Eager: without graphs, or the first graphed step (run plainly, so module loading and
    // library set-up happen outside the capture, then captured for every later step).
    if (run_rows(d, d->step_tok, d->step_slot, d->step_pos, d->slots, nsplit, NULL, NULL, 0, err))
        return -1;
    if (!use_graph || d->captured == -1) return 0;
    int g = elm_cu_graph_begin(d->ctx, err);
    if (g < 0) return -1;
    if (g == 1) { // no graphs here (the host mock): every step runs eagerly
        d->captured = -1;
        return 0;
    }
    int rc =
        run_rows(d, d->step_tok, d->step_slot, d->step_pos, d->slots, nsplit, NULL, NULL, 0, err);
    ElmError end_err = {{0}};
    int rc_end = elm_cu_graph_end(d->ctx, &d->exec, &end_err);
    if (rc) return -1;
    if (rc_end) return elm_err(err, "decoder: %s", end_err.msg);
    d->captured = 1;
    return 0;
}
