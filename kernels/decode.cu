// decode.cu — GPT-2 inference on the GPU (see decode.h): row embedding, KV-cache stores,
// split-K decode attention (flash-decoding), the per-layer forward through elm_cu_matmul and the
// layer-norm kernels, and the decode step captured in a CUDA graph.
#include "cuda_ctx_impl.cuh"
#include "decode.h"
#include "decode_kernels.cuh"
#include "layernorm.h"
#include "matmul.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    int captured;
    ElmCuMatmulImpl impl;
};

// ---- kernels ----------------------------------------------------------------------------------

// dst row i = src row idx[i] (C columns, bf16).
__global__ void gather_rows_kernel(bf16 *dst, const bf16 *src, const int *idx, int C) {
    int i = blockIdx.x;
    for (int c = threadIdx.x; c < C; c += blockDim.x)
        dst[(long)i * C + c] = src[(long)idx[i] * C + c];
}

// dst row slot[i] = src row i (ld floats each).
__global__ void scatter_logits_kernel(float *dst, const float *src, const int *slot, int ld) {
    int i = blockIdx.x;
    const float4 *s = (const float4 *)(src + (long)i * ld);
    float4 *d = (float4 *)(dst + (long)slot[i] * ld);
    for (int c = threadIdx.x; c < ld / 4; c += blockDim.x) d[c] = s[c];
}

// ---- launchers --------------------------------------------------------------------------------

extern "C" int elm_cu_decode_embed(ElmCudaCtx *ctx, ElmBf16 *x, const ElmBf16 *wte,
                                   const ElmBf16 *wpe, const int *tok, const int *pos, int n, int C,
                                   ElmError *err) {
    embed_kernel<<<n, 256, 0, ctx->stream>>>((bf16 *)x, (const bf16 *)wte, (const bf16 *)wpe, tok,
                                             pos, C);
    ELM_CU_LAUNCH("decode embed");
    return 0;
}

extern "C" int elm_cu_decode_kv_store(ElmCudaCtx *ctx, ElmBf16 *kcache, ElmBf16 *vcache,
                                      const ElmBf16 *qkv, const int *slot, const int *pos, int n,
                                      int C, int NH, int cap, ElmError *err) {
    kv_store_kernel<<<n, 256, 0, ctx->stream>>>((bf16 *)kcache, (bf16 *)vcache, (const bf16 *)qkv,
                                                slot, pos, C, NH, cap);
    ELM_CU_LAUNCH("decode kv store");
    return 0;
}

extern "C" int elm_cu_decode_attention(ElmCudaCtx *ctx, ElmBf16 *out, const ElmBf16 *q, long ldq,
                                       const ElmBf16 *kcache, const ElmBf16 *vcache,
                                       const int *slot, const int *pos, int n, int C, int NH,
                                       int cap, int nsplit, float *scratch, ElmError *err) {
    int hs = C / NH;
    if (C % NH || hs > ATT_MAX_HS)
        return elm_err(err, "decode attention: head size %d (C %d, NH %d) is not supported", hs, C,
                       NH);
    if (nsplit < 1) nsplit = 1;
    int chunk = elm_ceil_div(cap, nsplit);
    dim3 grid(n, NH, nsplit);
    attention_kernel<<<grid, ATT_WARPS * 32, 0, ctx->stream>>>(
        (bf16 *)out, scratch, (const bf16 *)q, ldq, (const bf16 *)kcache, (const bf16 *)vcache,
        slot, pos, C, NH, cap, nsplit, chunk, 1.0f / sqrtf((float)hs));
    ELM_CU_LAUNCH("decode attention");
    if (nsplit > 1) {
        attention_combine_kernel<<<dim3(n, NH), 128, 0, ctx->stream>>>((bf16 *)out, scratch, C, NH,
                                                                       nsplit);
        ELM_CU_LAUNCH("decode attention combine");
    }
    return 0;
}

// ---- the decoder ------------------------------------------------------------------------------

// Splits for n rows whose longest context is maxlen: enough blocks to cover the machine twice,
// at least ATT_CHUNK_MIN positions each.
static int pick_splits(const ElmCuDecoder *d, int n, int maxlen) {
    int blocks = n * d->cfg.n_head, want = 2 * elm_cuda_ctx_sms(d->ctx);
    if (blocks >= want) return 1;
    int s = elm_ceil_div(want, blocks), by_len = elm_ceil_div(maxlen, ATT_CHUNK_MIN);
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
    gather_rows_kernel<<<n_out, 256, 0, ctx->stream>>>((bf16 *)d->outln, (const bf16 *)d->ln,
                                                       gather, C);
    ELM_CU_LAUNCH("decode gather");
    mm.M = n_out, mm.a = d->outln, mm.c = d->plogits;
    if (elm_cu_matmul(ctx, &mm, d->impl, err)) return -1;
    scatter_logits_kernel<<<n_out, 256, 0, ctx->stream>>>(d->logits, d->plogits, outslot, d->Vp);
    ELM_CU_LAUNCH("decode scatter");
    return 0;
}

extern "C" void elm_cu_decoder_free(ElmCuDecoder *d) {
    if (!d) return;
    if (d->exec) cudaGraphExecDestroy(d->exec);
    if (d->graph) cudaGraphDestroy(d->graph);
    void *bufs[] = {d->params,   d->kcache,    d->vcache,      d->x0,       d->x1,     d->ln,
                    d->qkv,      d->atty,      d->tmp,         d->fch,      d->pre,    d->outln,
                    d->logits,   d->plogits,   d->att_scratch, d->d_tok,    d->d_slot, d->d_pos,
                    d->d_gather, d->d_outslot, d->step_tok,    d->step_slot};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) elm_cuda_free(bufs[i]);
    free(d->h_gather);
    free(d->h_outslot);
    free(d);
}

extern "C" ElmCuDecoder *elm_cu_decoder_create(ElmCudaCtx *ctx, const ElmGpt2 *m, int slots,
                                               int cap, int max_rows, ElmError *err) {
    const ElmGpt2Config *c = &m->config;
    const int C = c->n_embd, NH = c->n_head, L = c->n_layer, hs = C / NH;
    if (slots < 1 || cap < 1 || cap > c->n_ctx || hs > ATT_MAX_HS || C % NH) {
        elm_err(err, "decoder: %d slots x %d positions, head size %d: not supported", slots, cap,
                hs);
        return NULL;
    }
    ElmCuDecoder *d = (ElmCuDecoder *)calloc(1, sizeof *d);
    if (!d) {
        elm_err(err, "out of memory");
        return NULL;
    }
    d->ctx = ctx;
    d->cfg = *c;
    d->slots = slots;
    d->cap = cap;
    d->rows = max_rows > slots ? max_rows : slots;
    d->Vp = (c->vocab_size + 63) / 64 * 64;
    d->impl = ELM_CU_MATMUL_AUTO;
    d->split_max = elm_ceil_div(cap, ATT_CHUNK_MIN);
    if (d->split_max > ATT_SPLIT_MAX) d->split_max = ATT_SPLIT_MAX;
    const size_t R = (size_t)d->rows, S = (size_t)slots;
    size_t kv = (size_t)L * S * NH * cap * hs;
    ElmBf16 *host = NULL;
    if (!(d->params = (ElmBf16 *)elm_cuda_malloc(m->num_parameters * 2, err)) ||
        !(d->kcache = (ElmBf16 *)elm_cuda_malloc(kv * 2, err)) ||
        !(d->vcache = (ElmBf16 *)elm_cuda_malloc(kv * 2, err)) ||
        !(d->x0 = (ElmBf16 *)elm_cuda_malloc(R * C * 2, err)) ||
        !(d->x1 = (ElmBf16 *)elm_cuda_malloc(R * C * 2, err)) ||
        !(d->ln = (ElmBf16 *)elm_cuda_malloc(R * C * 2, err)) ||
        !(d->qkv = (ElmBf16 *)elm_cuda_malloc(R * 3 * C * 2, err)) ||
        !(d->atty = (ElmBf16 *)elm_cuda_malloc(R * C * 2, err)) ||
        !(d->tmp = (ElmBf16 *)elm_cuda_malloc(R * C * 2, err)) ||
        !(d->fch = (ElmBf16 *)elm_cuda_malloc(R * 4 * C * 2, err)) ||
        !(d->pre = (ElmBf16 *)elm_cuda_malloc(R * 4 * C * 2, err)) ||
        !(d->outln = (ElmBf16 *)elm_cuda_malloc(S * C * 2, err)) ||
        !(d->logits = (float *)elm_cuda_malloc(S * d->Vp * 4, err)) ||
        !(d->plogits = (float *)elm_cuda_malloc(S * d->Vp * 4, err)) ||
        !(d->att_scratch =
              (float *)elm_cuda_malloc(R * NH * d->split_max * (hs + 2) * sizeof(float), err)) ||
        !(d->d_tok = (int *)elm_cuda_malloc(R * 4, err)) ||
        !(d->d_slot = (int *)elm_cuda_malloc(R * 4, err)) ||
        !(d->d_pos = (int *)elm_cuda_malloc(R * 4, err)) ||
        !(d->d_gather = (int *)elm_cuda_malloc(R * 4, err)) ||
        !(d->d_outslot = (int *)elm_cuda_malloc(R * 4, err)) ||
        !(d->step_tok = (int *)elm_cuda_malloc(2 * S * 4, err)) ||
        !(d->step_slot = (int *)elm_cuda_malloc(S * 4, err)))
        goto fail;
    d->step_pos = d->step_tok + slots;
    d->h_gather = (int *)malloc(R * sizeof(int));
    d->h_outslot = (int *)malloc(R * sizeof(int));
    host = (ElmBf16 *)malloc(m->num_parameters * 2);
    if (!d->h_gather || !d->h_outslot || !host) {
        elm_err(err, "out of memory");
        goto fail;
    }
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

extern "C" int elm_cu_decoder_forward(ElmCuDecoder *d, const int *tok, const int *slot,
                                      const int *pos, const uint8_t *out, int n, ElmError *err) {
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

extern "C" int *elm_cu_decoder_step_tokens(ElmCuDecoder *d) {
    return d->step_tok;
}
extern "C" int *elm_cu_decoder_step_positions(ElmCuDecoder *d) {
    return d->step_pos;
}
extern "C" float *elm_cu_decoder_logits(ElmCuDecoder *d, int *ld) {
    *ld = d->Vp;
    return d->logits;
}

extern "C" int elm_cu_decoder_step(ElmCuDecoder *d, int use_graph, ElmError *err) {
    // The graph is fixed, so its attention split count covers the longest possible context.
    int nsplit = pick_splits(d, d->slots, d->cap);
    if (!use_graph || d->captured)
        return d->captured && use_graph ? (cudaGraphLaunch(d->exec, d->ctx->stream) == cudaSuccess
                                               ? 0
                                               : elm_err(err, "decoder: graph launch failed"))
                                        : run_rows(d, d->step_tok, d->step_slot, d->step_pos,
                                                   d->slots, nsplit, NULL, NULL, 0, err);
    // First graphed step: run it plainly (module loading and library set-up happen outside the
    // capture), then capture the same work for every later step.
    if (run_rows(d, d->step_tok, d->step_slot, d->step_pos, d->slots, nsplit, NULL, NULL, 0, err))
        return -1;
    cudaStream_t st = d->ctx->stream;
    ELM_CU(cudaStreamSynchronize(st));
    ELM_CU(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal));
    int rc =
        run_rows(d, d->step_tok, d->step_slot, d->step_pos, d->slots, nsplit, NULL, NULL, 0, err);
    cudaGraph_t g = NULL;
    cudaError_t e = cudaStreamEndCapture(st, &g);
    if (rc) {
        if (g) cudaGraphDestroy(g);
        return -1;
    }
    if (e != cudaSuccess)
        return elm_err(err, "decoder: capturing the decode step: %s", cudaGetErrorString(e));
    d->graph = g;
    ELM_CU(cudaGraphInstantiate(&d->exec, g, 0));
    d->captured = 1;
    return 0;
}
