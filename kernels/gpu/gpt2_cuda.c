// gpt2_cuda.c — GPT-2 training step on the GPU (see gpt2_cuda.h): host C that sequences the
// kernels of kernels/*.cu over one parameter buffer, one gradient buffer and one activation
// buffer, llm.c style. Built only with CUDA (gpu_none.c has the stubs otherwise).
#include "kernels/gpu/gpt2_cuda.h"

#include "kernels/gpu/gpu.h"

#include <stdio.h>
#include <string.h>

#ifdef ELM_HAVE_CUDA

#include "kernels/adamw.h"
#include "kernels/attention.h"
#include "kernels/classifier.h"
#include "kernels/cuda_ctx.h"
#include "kernels/elementwise.h"
#include "kernels/encoder.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"

#include <stdlib.h>

// Activations kept for the backward, per layer l (bf16 unless noted), for B*T = BT rows.
typedef struct GpuActs {
    ElmBf16 *encoded;           // (BT, C)
    ElmBf16 *ln1, *ln2;         // (L, BT, C)
    float *ln1_mean, *ln1_rstd; // (L, BT) fp32
    float *ln2_mean, *ln2_rstd; // (L, BT) fp32
    ElmBf16 *qkv;               // (L, BT, 3C)
    ElmBf16 *atty;              // (L, BT, C)
    float *lse;                 // (L, B, NH, T) fp32
    ElmBf16 *residual2;         // (L, BT, C)
    ElmBf16 *fch;               // (L, BT, 4C) pre-GELU
    ElmBf16 *fch_gelu;          // (L, BT, 4C), or (BT, 4C) with recompute
    ElmBf16 *residual3;         // (L, BT, C)
    ElmBf16 *lnf;               // (BT, C)
    float *lnf_mean, *lnf_rstd; // (BT)
    ElmBf16 *logits;            // (BT, Vp): logits, then dlogits in place
    float *losses;              // (BT)
    ElmBf16 *proj;              // (BT, C) scratch: attproj / fcproj outputs
    // backward scratch
    ElmBf16 *dres;      // (BT, C) gradient of the residual stream
    ElmBf16 *dh;        // (BT, 4C) dfch_gelu -> dfch; also dqkv (BT, 3C)
    ElmBf16 *dln;       // (BT, C) gradient into a layer norm's output
    ElmBf16 *datty;     // (BT, C)
    float *att_scratch; // elm_cu_attention_scratch floats
} GpuActs;

struct ElmGpt2Cuda {
    ElmCudaCtx *ctx;
    ElmGpt2Config cfg;
    ElmGpt2CudaOptions opt;
    size_t np;     // parameters
    int Vp;        // vocabulary padded to 64 (logits row stride)
    float *master; // (np) fp32 weights
    ElmBf16 *work; // (np) bf16 weights the kernels read
    float *grads;  // (np) fp32
    float *adam_m, *adam_v;
    long long adam_t;
    float *norm; // 2 floats: grad norm, clip factor
    float *norm_scratch;
    int *inputs, *targets; // (max BT) device
    GpuActs a;
    void *act_mem;
    int B, T, n_targets; // last forward
    int have_logits;     // logits (not dlogits) in a.logits
    int clip_pending;    // norm[1] holds a clip factor for the next update
};

// Tensor t's slice of a params-shaped buffer.
static size_t toff(const ElmGpt2Cuda *g, int t) {
    ElmGpt2TensorInfo info;
    elm_gpt2_tensor_info(&g->cfg, t, &info);
    return info.offset;
}
enum {
    WTE,
    WPE,
    LN1W,
    LN1B,
    QKVW,
    QKVB,
    ATTPROJW,
    ATTPROJB,
    LN2W,
    LN2B,
    FCW,
    FCB,
    FCPROJW,
    FCPROJB,
    LNFW,
    LNFB
};
#define W(t) (g->work + toff(g, t))
#define G(t) (g->grads + toff(g, t))

// Carves the activation buffer; with base NULL only counts bytes. Every piece 256-byte aligned.
static size_t carve_acts(GpuActs *a, char *base, const ElmGpt2Config *c, int B, int T, int Vp,
                         int recompute) {
    size_t L = c->n_layer, C = c->n_embd, NH = c->n_head, BT = (size_t)B * T, off = 0;
#define PIECE(field, type, count)                                                                  \
    do {                                                                                           \
        a->field = base ? (type *)(base + off) : NULL;                                             \
        off += ((count) * sizeof(type) + 255) & ~(size_t)255;                                      \
    } while (0)
    PIECE(encoded, ElmBf16, BT * C);
    PIECE(ln1, ElmBf16, L * BT * C);
    PIECE(ln2, ElmBf16, L * BT * C);
    PIECE(ln1_mean, float, L *BT);
    PIECE(ln1_rstd, float, L *BT);
    PIECE(ln2_mean, float, L *BT);
    PIECE(ln2_rstd, float, L *BT);
    PIECE(qkv, ElmBf16, L * BT * 3 * C);
    PIECE(atty, ElmBf16, L * BT * C);
    PIECE(lse, float, L *BT *NH);
    PIECE(residual2, ElmBf16, L * BT * C);
    PIECE(fch, ElmBf16, L * BT * 4 * C);
    PIECE(fch_gelu, ElmBf16, (recompute ? 1 : L) * BT * 4 * C);
    PIECE(residual3, ElmBf16, L * BT * C);
    PIECE(lnf, ElmBf16, BT * C);
    PIECE(lnf_mean, float, BT);
    PIECE(lnf_rstd, float, BT);
    PIECE(logits, ElmBf16, BT * (size_t)Vp);
    PIECE(losses, float, BT);
    PIECE(proj, ElmBf16, BT * C);
    PIECE(dres, ElmBf16, BT * C);
    PIECE(dh, ElmBf16, BT * 4 * C);
    PIECE(dln, ElmBf16, BT * C);
    PIECE(datty, ElmBf16, BT * C);
    PIECE(att_scratch, float, elm_cu_attention_scratch(B, T, (int)C, (int)NH));
#undef PIECE
    return off;
}

void elm_gpt2_cuda_free(ElmGpt2Cuda *g) {
    if (!g) return;
    elm_cuda_free(g->master), elm_cuda_free(g->work), elm_cuda_free(g->grads);
    elm_cuda_free(g->adam_m), elm_cuda_free(g->adam_v), elm_cuda_free(g->norm);
    elm_cuda_free(g->norm_scratch), elm_cuda_free(g->inputs), elm_cuda_free(g->targets);
    elm_cuda_free(g->act_mem);
    elm_cuda_ctx_free(g->ctx);
    free(g);
}

ElmGpt2Cuda *elm_gpt2_cuda_create(const ElmGpt2 *host, const ElmGpt2CudaOptions *opt,
                                  ElmError *err) {
    if (opt->max_B < 1 || opt->max_T < 1 || opt->max_T > host->config.n_ctx) {
        elm_err(err, "GPU model: batch %d x %d does not fit (T <= n_ctx %d)", opt->max_B,
                opt->max_T, host->config.n_ctx);
        return NULL;
    }
    ElmGpt2Cuda *g = elm_calloc(1, sizeof *g, err);
    if (!g) return NULL;
    g->cfg = host->config;
    g->opt = *opt;
    g->np = host->num_parameters;
    g->Vp = (g->cfg.vocab_size + 63) / 64 * 64;
    size_t BT = (size_t)opt->max_B * opt->max_T;
    if (!(g->ctx = elm_cuda_ctx_create(opt->device, err))) goto fail;
    if (!(g->master = elm_cuda_malloc(g->np * sizeof(float), err))) goto fail;
    if (!(g->work = elm_cuda_malloc(g->np * sizeof(ElmBf16), err))) goto fail;
    if (!(g->grads = elm_cuda_malloc(g->np * sizeof(float), err))) goto fail;
    if (!(g->adam_m = elm_cuda_malloc(g->np * sizeof(float), err))) goto fail;
    if (!(g->adam_v = elm_cuda_malloc(g->np * sizeof(float), err))) goto fail;
    if (!(g->norm = elm_cuda_malloc(2 * sizeof(float), err))) goto fail;
    if (!(g->norm_scratch = elm_cuda_malloc(ELM_CU_NORM_SCRATCH * sizeof(float), err))) goto fail;
    if (!(g->inputs = elm_cuda_malloc(BT * sizeof(int), err))) goto fail;
    if (!(g->targets = elm_cuda_malloc(BT * sizeof(int), err))) goto fail;
    size_t bytes = carve_acts(&g->a, NULL, &g->cfg, opt->max_B, opt->max_T, g->Vp, opt->recompute);
    if (!(g->act_mem = elm_cuda_malloc(bytes, err))) goto fail;
    carve_acts(&g->a, g->act_mem, &g->cfg, opt->max_B, opt->max_T, g->Vp, opt->recompute);
    if (elm_gpt2_cuda_upload(g, host, err)) goto fail;
    if (elm_gpt2_cuda_zero_grad(g, err)) goto fail;
    if (elm_cuda_ctx_mem_sample(g->ctx, err)) goto fail;
    return g;
fail:
    elm_err_prefix(err, "GPU model");
    elm_gpt2_cuda_free(g);
    return NULL;
}

int elm_gpt2_cuda_upload(ElmGpt2Cuda *g, const ElmGpt2 *host, ElmError *err) {
    if (memcmp(&host->config, &g->cfg, sizeof g->cfg) != 0)
        return elm_err(err, "GPU model: upload from a model of another shape");
    ElmCudaCtx *ctx = g->ctx;
    size_t bytes = g->np * sizeof(float);
    if (elm_cuda_h2d(ctx, g->master, host->params_memory, bytes, err)) return -1;
    if (elm_cu_f32_to_bf16(ctx, g->work, g->master, g->np, err)) return -1;
    if (host->adam_m && host->adam_v) {
        if (elm_cuda_h2d(ctx, g->adam_m, host->adam_m, bytes, err)) return -1;
        if (elm_cuda_h2d(ctx, g->adam_v, host->adam_v, bytes, err)) return -1;
    } else {
        if (elm_cuda_memset(ctx, g->adam_m, 0, bytes, err)) return -1;
        if (elm_cuda_memset(ctx, g->adam_v, 0, bytes, err)) return -1;
    }
    g->adam_t = host->adam_t;
    return elm_cuda_sync(ctx, err);
}

int elm_gpt2_cuda_download(ElmGpt2Cuda *g, ElmGpt2 *host, ElmError *err) {
    if (memcmp(&host->config, &g->cfg, sizeof g->cfg) != 0)
        return elm_err(err, "GPU model: download into a model of another shape");
    size_t bytes = g->np * sizeof(float);
    if (!host->adam_m) host->adam_m = calloc(g->np, sizeof(float));
    if (!host->adam_v) host->adam_v = calloc(g->np, sizeof(float));
    if (!host->adam_m || !host->adam_v) return elm_err(err, "out of memory for AdamW moments");
    if (elm_cuda_d2h(g->ctx, host->params_memory, g->master, bytes, err)) return -1;
    if (elm_cuda_d2h(g->ctx, host->adam_m, g->adam_m, bytes, err)) return -1;
    if (elm_cuda_d2h(g->ctx, host->adam_v, g->adam_v, bytes, err)) return -1;
    host->adam_t = g->adam_t;
    return 0;
}

int elm_gpt2_cuda_zero_grad(ElmGpt2Cuda *g, ElmError *err) {
    return elm_cuda_memset(g->ctx, g->grads, 0, g->np * sizeof(float), err);
}

// C (M, N) = A (M, K) @ W^T with W stored (N, K) — the linear layers' forward.
static int linear_fwd(ElmGpt2Cuda *g, ElmBf16 *out, const ElmBf16 *inp, const ElmBf16 *w,
                      const ElmBf16 *bias, ElmBf16 *pre_gelu, int M, int K, int N, long ldc,
                      ElmError *err) {
    ElmCuMatmul mm = {M, N, K, 0, 1, inp, K, w, K, out, ldc, 0, 0, bias, pre_gelu, NULL};
    return elm_cu_matmul(g->ctx, &mm, (ElmCuMatmulImpl)g->opt.matmul, err);
}

// The linear layer's backward: dinp (M, K) = dout @ W (written; times gelu'(dgelu_pre) when that
// is given: the GELU before this layer, fused); dW (N, K) += dout^T @ inp (fp32); dbias (N) +=
// column sums of dout. ld_dout is dout's row stride.
static int linear_bwd(ElmGpt2Cuda *g, ElmBf16 *dinp, const ElmBf16 *dgelu_pre, float *dw,
                      float *dbias, const ElmBf16 *dout, long ld_dout, const ElmBf16 *inp,
                      const ElmBf16 *w, int M, int K, int N, ElmError *err) {
    ElmCuMatmulImpl impl = (ElmCuMatmulImpl)g->opt.matmul;
    if (dinp) {
        ElmCuMatmul di = {M, K, N, 0, 0, dout, ld_dout, w, K, dinp, K, 0, 0, NULL, NULL, dgelu_pre};
        if (elm_cu_matmul(g->ctx, &di, impl, err)) return -1;
    }
    ElmCuMatmul dwm = {N, K, M, 1, 0, dout, ld_dout, inp, K, dw, K, 1, 1, NULL, NULL, NULL};
    if (elm_cu_matmul(g->ctx, &dwm, impl, err)) return -1;
    if (dbias && elm_cu_bias_backward(g->ctx, dbias, dout, M, N, ld_dout, err)) return -1;
    return 0;
}

static int check_batch(ElmGpt2Cuda *g, const int *inputs, const int *targets, int B, int T,
                       ElmError *err) {
    if (B < 1 || T < 1 || B > g->opt.max_B || T > g->opt.max_T)
        return elm_err(err, "GPU forward: batch %d x %d outside the allocated %d x %d", B, T,
                       g->opt.max_B, g->opt.max_T);
    size_t BT = (size_t)B * T;
    int V = g->cfg.vocab_size;
    g->n_targets = 0;
    for (size_t i = 0; i < BT; i++) {
        if (inputs[i] < 0 || inputs[i] >= V)
            return elm_err(err, "GPU forward: token id %d at position %zu is outside [0, %d)",
                           inputs[i], i, V);
        if (targets && targets[i] >= V)
            return elm_err(err, "GPU forward: target id %d at position %zu is outside [0, %d)",
                           targets[i], i, V);
        if (targets && targets[i] >= 0) g->n_targets++;
    }
    if (elm_cuda_h2d(g->ctx, g->inputs, inputs, BT * sizeof(int), err)) return -1;
    if (targets && elm_cuda_h2d(g->ctx, g->targets, targets, BT * sizeof(int), err)) return -1;
    g->B = B, g->T = T;
    return 0;
}

// Forward through the blocks and the final layer norm + LM head; the classifier is the caller's.
static int forward_body(ElmGpt2Cuda *g, ElmError *err) {
    ElmCudaCtx *ctx = g->ctx;
    GpuActs *a = &g->a;
    int B = g->B, T = g->T, L = g->cfg.n_layer, C = g->cfg.n_embd, NH = g->cfg.n_head;
    int V = g->cfg.vocab_size, BT = B * T;
    size_t btc = (size_t)BT * C;
    if (elm_cu_encoder_forward(ctx, a->encoded, g->inputs, W(WTE), W(WPE), B, T, C, err)) return -1;
    // ln1 of layer 0 alone; every later layer norm is fused with the residual add before it.
    if (elm_cu_layernorm_forward(ctx, a->ln1, a->ln1_mean, a->ln1_rstd, a->encoded, W(LN1W),
                                 W(LN1B), BT, C, err))
        return -1;
    for (int l = 0; l < L; l++) {
        size_t lc = (size_t)l * C;
        const ElmBf16 *resid = l == 0 ? a->encoded : a->residual3 + (l - 1) * btc;
        ElmBf16 *ln1 = a->ln1 + l * btc, *qkv = a->qkv + l * btc * 3, *atty = a->atty + l * btc;
        ElmBf16 *res2 = a->residual2 + l * btc, *ln2 = a->ln2 + l * btc;
        ElmBf16 *fch = a->fch + l * btc * 4;
        ElmBf16 *fchg = a->fch_gelu + (g->opt.recompute ? 0 : l * btc * 4);
        ElmBf16 *res3 = a->residual3 + l * btc;
        float *lse = a->lse + (size_t)l * BT * NH;

        if (linear_fwd(g, qkv, ln1, W(QKVW) + lc * 3 * C, W(QKVB) + lc * 3, NULL, BT, C, 3 * C,
                       3 * C, err))
            return -1;
        if (elm_cu_attention_forward(ctx, atty, lse, qkv, B, T, C, NH, g->opt.attention_version,
                                     err))
            return -1;
        if (linear_fwd(g, a->proj, atty, W(ATTPROJW) + lc * C, W(ATTPROJB) + lc, NULL, BT, C, C, C,
                       err))
            return -1;
        if (elm_cu_residual_layernorm_forward(ctx, res2, ln2, a->ln2_mean + (size_t)l * BT,
                                              a->ln2_rstd + (size_t)l * BT, resid, a->proj,
                                              W(LN2W) + lc, W(LN2B) + lc, BT, C, err))
            return -1;
        if (linear_fwd(g, fchg, ln2, W(FCW) + lc * 4 * C, W(FCB) + lc * 4, fch, BT, C, 4 * C, 4 * C,
                       err))
            return -1;
        if (linear_fwd(g, a->proj, fchg, W(FCPROJW) + lc * 4 * C, W(FCPROJB) + lc, NULL, BT, 4 * C,
                       C, C, err))
            return -1;
        if (l + 1 < L) {
            size_t nc = lc + C;
            if (elm_cu_residual_layernorm_forward(ctx, res3, a->ln1 + (l + 1) * btc,
                                                  a->ln1_mean + (size_t)(l + 1) * BT,
                                                  a->ln1_rstd + (size_t)(l + 1) * BT, res2, a->proj,
                                                  W(LN1W) + nc, W(LN1B) + nc, BT, C, err))
                return -1;
        } else if (elm_cu_residual_layernorm_forward(ctx, res3, a->lnf, a->lnf_mean, a->lnf_rstd,
                                                     res2, a->proj, W(LNFW), W(LNFB), BT, C, err)) {
            return -1;
        }
    }
    return linear_fwd(g, a->logits, a->lnf, W(WTE), NULL, NULL, BT, C, V, g->Vp, err);
}

static int mean_loss_of(ElmGpt2Cuda *g, const int *targets, float *mean_loss, ElmError *err) {
    if (!mean_loss) return 0;
    size_t BT = (size_t)g->B * g->T;
    float *l = elm_malloc(BT * sizeof(float), err);
    if (!l) return -1;
    if (elm_cuda_d2h(g->ctx, l, g->a.losses, BT * sizeof(float), err)) {
        free(l);
        return -1;
    }
    double s = 0.0;
    for (size_t i = 0; i < BT; i++)
        if (targets[i] >= 0) s += l[i];
    free(l);
    *mean_loss = g->n_targets ? (float)(s / g->n_targets) : 0.0f;
    return 0;
}

int elm_gpt2_cuda_forward(ElmGpt2Cuda *g, const int *inputs, const int *targets, int B, int T,
                          float *mean_loss, ElmError *err) {
    if (check_batch(g, inputs, targets, B, T, err) || forward_body(g, err)) return -1;
    g->have_logits = 1;
    if (!targets) {
        if (mean_loss) *mean_loss = -1.0f;
        return elm_cuda_sync(g->ctx, err);
    }
    if (elm_cu_classifier(g->ctx, g->a.losses, g->a.logits, g->targets, B * T, g->cfg.vocab_size,
                          g->Vp, 0.0f, 0, err))
        return -1;
    if (elm_cuda_ctx_mem_sample(g->ctx, err)) return -1;
    return mean_loss_of(g, targets, mean_loss, err);
}

int elm_gpt2_cuda_logits(ElmGpt2Cuda *g, float *out, ElmError *err) {
    if (!g->have_logits) return elm_err(err, "GPU model: no logits (run a forward first)");
    size_t BT = (size_t)g->B * g->T, V = g->cfg.vocab_size;
    ElmBf16 *h = elm_malloc(BT * g->Vp * sizeof(ElmBf16), err);
    if (!h) return -1;
    if (elm_cuda_d2h(g->ctx, h, g->a.logits, BT * g->Vp * sizeof(ElmBf16), err)) {
        free(h);
        return -1;
    }
    for (size_t r = 0; r < BT; r++) elm_bf16_to_f32_n(out + r * V, h + r * g->Vp, V);
    free(h);
    return 0;
}

int elm_gpt2_cuda_forward_backward(ElmGpt2Cuda *g, const int *inputs, const int *targets, int B,
                                   int T, float scale, float *mean_loss, ElmError *err) {
    if (!targets) return elm_err(err, "GPU training step: no targets");
    if (check_batch(g, inputs, targets, B, T, err) || forward_body(g, err)) return -1;
    ElmCudaCtx *ctx = g->ctx;
    GpuActs *a = &g->a;
    int L = g->cfg.n_layer, C = g->cfg.n_embd, NH = g->cfg.n_head, V = g->cfg.vocab_size;
    int BT = B * T;
    size_t btc = (size_t)BT * C;
    float dloss = g->n_targets ? scale / (float)g->n_targets : 0.0f;
    // Fused classifier: losses, and dlogits over the logits in place.
    if (elm_cu_classifier(ctx, a->losses, a->logits, g->targets, BT, V, g->Vp, dloss, 1, err))
        return -1;
    g->have_logits = 0;

    // LM head (tied to wte): dlnf = dlogits @ wte, dwte += dlogits^T @ lnf.
    if (linear_bwd(g, a->dln, NULL, G(WTE), NULL, a->logits, g->Vp, a->lnf, W(WTE), BT, C, V, err))
        return -1;
    if (elm_cuda_memset(ctx, a->dres, 0, btc * sizeof(ElmBf16), err)) return -1;
    const ElmBf16 *last = a->residual3 + (L - 1) * btc;
    if (elm_cu_layernorm_backward(ctx, a->dres, G(LNFW), G(LNFB), a->dln, last, W(LNFW),
                                  a->lnf_mean, a->lnf_rstd, BT, C, err))
        return -1;

    for (int l = L - 1; l >= 0; l--) {
        size_t lc = (size_t)l * C;
        const ElmBf16 *resid = l == 0 ? a->encoded : a->residual3 + (l - 1) * btc;
        const ElmBf16 *ln1 = a->ln1 + l * btc, *qkv = a->qkv + l * btc * 3;
        const ElmBf16 *atty = a->atty + l * btc, *res2 = a->residual2 + l * btc;
        const ElmBf16 *ln2 = a->ln2 + l * btc, *fch = a->fch + l * btc * 4;
        ElmBf16 *fchg = a->fch_gelu + (g->opt.recompute ? 0 : l * btc * 4);
        const float *lse = a->lse + (size_t)l * BT * NH;

        // MLP: residual3 = residual2 + fcproj(gelu(fc(ln2(residual2))))
        if (g->opt.recompute && elm_cu_gelu_forward(ctx, fchg, fch, btc * 4, err)) return -1;
        // dh = (dres @ Wfcproj) * gelu'(fch): the GELU backward rides on the product
        if (linear_bwd(g, a->dh, fch, G(FCPROJW) + lc * 4 * C, G(FCPROJB) + lc, a->dres, C, fchg,
                       W(FCPROJW) + lc * 4 * C, BT, 4 * C, C, err))
            return -1;
        if (linear_bwd(g, a->dln, NULL, G(FCW) + lc * 4 * C, G(FCB) + lc * 4, a->dh, 4 * C, ln2,
                       W(FCW) + lc * 4 * C, BT, C, 4 * C, err))
            return -1;
        if (elm_cu_layernorm_backward(ctx, a->dres, G(LN2W) + lc, G(LN2B) + lc, a->dln, res2,
                                      W(LN2W) + lc, a->ln2_mean + (size_t)l * BT,
                                      a->ln2_rstd + (size_t)l * BT, BT, C, err))
            return -1;
        // Attention: residual2 = resid + attproj(attention(qkv(ln1(resid))))
        if (linear_bwd(g, a->datty, NULL, G(ATTPROJW) + lc * C, G(ATTPROJB) + lc, a->dres, C, atty,
                       W(ATTPROJW) + lc * C, BT, C, C, err))
            return -1;
        ElmBf16 *dqkv = a->dh; // (BT, 3C) fits in the (BT, 4C) scratch
        if (elm_cu_attention_backward(ctx, dqkv, a->att_scratch, a->datty, qkv, atty, lse, B, T, C,
                                      NH, g->opt.attention_version, err))
            return -1;
        if (linear_bwd(g, a->dln, NULL, G(QKVW) + lc * 3 * C, G(QKVB) + lc * 3, dqkv, 3 * C, ln1,
                       W(QKVW) + lc * 3 * C, BT, C, 3 * C, err))
            return -1;
        if (elm_cu_layernorm_backward(ctx, a->dres, G(LN1W) + lc, G(LN1B) + lc, a->dln, resid,
                                      W(LN1W) + lc, a->ln1_mean + (size_t)l * BT,
                                      a->ln1_rstd + (size_t)l * BT, BT, C, err))
            return -1;
    }
    if (elm_cu_encoder_backward(ctx, G(WTE), G(WPE), a->dres, g->inputs, B, T, C, err)) return -1;
    if (elm_cuda_ctx_mem_sample(ctx, err)) return -1;
    return mean_loss_of(g, targets, mean_loss, err);
}

int elm_gpt2_cuda_clip(ElmGpt2Cuda *g, float max_norm, float *grad_norm, ElmError *err) {
    if (elm_cu_grad_norm(g->ctx, g->norm, g->norm_scratch, g->grads, g->np, max_norm, err))
        return -1;
    g->clip_pending = 1;
    if (grad_norm && elm_cuda_d2h(g->ctx, grad_norm, g->norm, sizeof(float), err)) return -1;
    return 0;
}

int elm_gpt2_cuda_update(ElmGpt2Cuda *g, const ElmAdamW *opt, ElmError *err) {
    long long t = ++g->adam_t;
    const float *scale = g->clip_pending ? g->norm + 1 : NULL; // factor 1 without clipping
    for (int i = 0; i < ELM_GPT2_NUM_TENSORS; i++) {
        ElmGpt2TensorInfo ti;
        elm_gpt2_tensor_info(&g->cfg, i, &ti);
        if (elm_cu_adamw(g->ctx, g->master + ti.offset, g->work + ti.offset, g->grads + ti.offset,
                         g->adam_m + ti.offset, g->adam_v + ti.offset, ti.size, opt->lr, opt->beta1,
                         opt->beta2, opt->eps, ti.decay ? opt->weight_decay : 0.0f, t, scale, err))
            return -1;
    }
    g->clip_pending = 0;
    return 0;
}

int elm_gpt2_cuda_step(ElmGpt2Cuda *g, const ElmAdamW *opt, float max_norm, float *grad_norm,
                       ElmError *err) {
    if (elm_gpt2_cuda_clip(g, max_norm, grad_norm, err)) return -1;
    return elm_gpt2_cuda_update(g, opt, err);
}

int elm_gpt2_cuda_grads(ElmGpt2Cuda *g, float *out, ElmError *err) {
    return elm_cuda_d2h(g->ctx, out, g->grads, g->np * sizeof(float), err);
}

int elm_gpt2_cuda_sync(ElmGpt2Cuda *g, ElmError *err) {
    if (elm_cuda_sync(g->ctx, err)) return -1;
    return elm_cuda_ctx_mem_sample(g->ctx, err);
}

size_t elm_gpt2_cuda_peak_mem(ElmGpt2Cuda *g) {
    return elm_cuda_ctx_peak_mem(g->ctx);
}

#endif // ELM_HAVE_CUDA
