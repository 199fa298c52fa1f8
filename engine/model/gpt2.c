// gpt2.c — ElmGpt2: GPT-2 on the CPU in fp32 (see gpt2.h): parameter table, forward, backward,
// gradient norm, AdamW, random init. KV-cache decoding is in gpt2_decode.c.
#include "engine/model/gpt2.h"
#include "engine/base/rng.h"

#include "engine/model/layers.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

// ---- config ----------------------------------------------------------------------------------

int elm_gpt2_preset(const char *name, ElmGpt2Config *cfg, ElmError *err) {
    static const struct {
        const char *name;
        int L, NH, C;
    } presets[] = {
        {"gpt2", 12, 12, 768},
        {"gpt2-medium", 24, 16, 1024},
        {"gpt2-large", 36, 20, 1280},
        {"gpt2-xl", 48, 25, 1600},
    };
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (strcmp(presets[i].name, name) == 0) {
            cfg->n_layer = presets[i].L;
            cfg->n_head = presets[i].NH;
            cfg->n_embd = presets[i].C;
            cfg->n_ctx = 1024;
            cfg->vocab_size = 50257;
            return 0;
        }
    }
    return elm_err(err, "unknown model preset '%s' (gpt2, gpt2-medium, gpt2-large, gpt2-xl)", name);
}

int elm_gpt2_config_check(const ElmGpt2Config *c, const char *what, ElmError *err) {
    if (c->n_layer < 1 || c->n_head < 1 || c->n_embd < 1 || c->n_ctx < 1 || c->vocab_size < 1)
        return elm_err(err,
                       "%s: model sizes must be positive (n_layer %d, n_head %d, n_embd %d, "
                       "n_ctx %d, vocab_size %d)",
                       what, c->n_layer, c->n_head, c->n_embd, c->n_ctx, c->vocab_size);
    if (c->n_embd % c->n_head)
        return elm_err(err, "%s: n_embd %d is not divisible by n_head %d", what, c->n_embd,
                       c->n_head);
    return 0;
}

// ---- parameter table -------------------------------------------------------------------------

void elm_gpt2_tensor_info(const ElmGpt2Config *cfg, int i, ElmGpt2TensorInfo *info) {
    int L = cfg->n_layer, C = cfg->n_embd, V = cfg->vocab_size, maxT = cfg->n_ctx;
    // name, rank, shape, decay — llm.c's order
    const struct {
        const char *name;
        int rank, s0, s1, s2, decay;
    } t[ELM_GPT2_NUM_TENSORS] = {
        {"wte", 2, V, C, 0, 1},         {"wpe", 2, maxT, C, 0, 1},   {"ln1w", 2, L, C, 0, 0},
        {"ln1b", 2, L, C, 0, 0},        {"qkvw", 3, L, 3 * C, C, 1}, {"qkvb", 2, L, 3 * C, 0, 0},
        {"attprojw", 3, L, C, C, 1},    {"attprojb", 2, L, C, 0, 0}, {"ln2w", 2, L, C, 0, 0},
        {"ln2b", 2, L, C, 0, 0},        {"fcw", 3, L, 4 * C, C, 1},  {"fcb", 2, L, 4 * C, 0, 0},
        {"fcprojw", 3, L, C, 4 * C, 1}, {"fcprojb", 2, L, C, 0, 0},  {"lnfw", 1, C, 0, 0, 0},
        {"lnfb", 1, C, 0, 0, 0},
    };
    size_t offset = 0;
    for (int k = 0; k <= i; k++) {
        size_t size = (size_t)t[k].s0 * (t[k].rank > 1 ? (size_t)t[k].s1 : 1) *
                      (t[k].rank > 2 ? (size_t)t[k].s2 : 1);
        if (k == i) {
            info->name = t[k].name;
            info->rank = t[k].rank;
            info->shape[0] = t[k].s0;
            info->shape[1] = t[k].s1;
            info->shape[2] = t[k].s2;
            info->size = size;
            info->offset = offset;
            info->decay = t[k].decay;
        }
        offset += size;
    }
}

static void carve_params(ElmGpt2Params *p, float *mem, const ElmGpt2Config *cfg) {
    float **ptrs[ELM_GPT2_NUM_TENSORS] = {
        &p->wte,      &p->wpe,      &p->ln1w, &p->ln1b, &p->qkvw, &p->qkvb,
        &p->attprojw, &p->attprojb, &p->ln2w, &p->ln2b, &p->fcw,  &p->fcb,
        &p->fcprojw,  &p->fcprojb,  &p->lnfw, &p->lnfb,
    };
    for (int i = 0; i < ELM_GPT2_NUM_TENSORS; i++) {
        ElmGpt2TensorInfo info;
        elm_gpt2_tensor_info(cfg, i, &info);
        *ptrs[i] = mem + info.offset;
    }
}

static size_t count_params(const ElmGpt2Config *cfg) {
    ElmGpt2TensorInfo info;
    elm_gpt2_tensor_info(cfg, ELM_GPT2_NUM_TENSORS - 1, &info);
    return info.offset + info.size;
}

static void set_threads(const ElmGpt2 *m) {
    if (m->threads > 0) {
        omp_set_num_threads(m->threads);
    }
}

int elm_gpt2_init(ElmGpt2 *m, const ElmGpt2Config *cfg, ElmError *err) {
    memset(m, 0, sizeof *m);
    if (elm_gpt2_config_check(cfg, "model", err)) return -1;
    m->config = *cfg;
    m->num_parameters = count_params(cfg);
    m->params_memory = calloc(m->num_parameters, sizeof(float));
    if (!m->params_memory)
        return elm_err(err, "out of memory for %zu parameters", m->num_parameters);
    carve_params(&m->params, m->params_memory, cfg);
    m->use_blas = 0; // elm's loops measured faster than OpenBLAS (docs/model.md)
    m->mean_loss = -1.0f;
    return 0;
}

void elm_gpt2_free(ElmGpt2 *m) {
    free(m->params_memory);
    free(m->grads_memory);
    free(m->adam_m);
    free(m->adam_v);
    free(m->acts_memory);
    free(m->grad_acts_memory);
    free(m->inputs);
    free(m->targets);
    free(m->kv);
    free(m->kv_pos);
    free(m->kv_scratch);
    elm_gpt2_set_weights(m, ELM_QMM_FP32, NULL); // frees the reduced copies; cannot fail
    memset(m, 0, sizeof *m);
}

// ---- random init -----------------------------------------------------------------------------

// Fills x with N(0, std) by Box-Muller.
static void fill_normal(float *x, size_t n, float std, uint64_t *state) {
    for (size_t i = 0; i < n; i += 2) {
        double u1 = ((elm_rng_next(state) >> 11) + 1.0) * 0x1.0p-53; // (0, 1]
        double u2 = (elm_rng_next(state) >> 11) * 0x1.0p-53;
        double r = sqrt(-2.0 * log(u1));
        x[i] = (float)(std * r * cos(2.0 * M_PI * u2));
        if (i + 1 < n) x[i + 1] = (float)(std * r * sin(2.0 * M_PI * u2));
    }
}

void elm_gpt2_init_random(ElmGpt2 *m, uint64_t seed) {
    const ElmGpt2Config *c = &m->config;
    uint64_t state = seed ^ 0x656c6d2d67707432ull; // "elm-gpt2"
    float resid_std = 0.02f / sqrtf(2.0f * c->n_layer);
    for (int i = 0; i < ELM_GPT2_NUM_TENSORS; i++) {
        ElmGpt2TensorInfo info;
        elm_gpt2_tensor_info(c, i, &info);
        float *p = m->params_memory + info.offset;
        const char *n = info.name;
        if (strcmp(n, "attprojw") == 0 || strcmp(n, "fcprojw") == 0)
            fill_normal(p, info.size, resid_std, &state);
        else if (info.decay)
            fill_normal(p, info.size, 0.02f, &state);
        else if (strcmp(n, "ln1w") == 0 || strcmp(n, "ln2w") == 0 || strcmp(n, "lnfw") == 0)
            for (size_t k = 0; k < info.size; k++) p[k] = 1.0f;
        else
            memset(p, 0, info.size * sizeof(float));
    }
}

// ---- activations -----------------------------------------------------------------------------

static void act_sizes(const ElmGpt2Config *c, int B, int T, size_t s[ELM_GPT2_NUM_ACTS]) {
    size_t L = c->n_layer, C = c->n_embd, NH = c->n_head, V = c->vocab_size;
    size_t BT = (size_t)B * T;
    size_t v[ELM_GPT2_NUM_ACTS] = {
        BT * C,             // encoded
        L * BT * C,         // ln1
        L * BT,             // ln1_mean
        L * BT,             // ln1_rstd
        L * BT * 3 * C,     // qkv
        L * BT * C,         // atty
        L * B * NH * T * T, // att
        L * BT * C,         // attproj
        L * BT * C,         // residual2
        L * BT * C,         // ln2
        L * BT,             // ln2_mean
        L * BT,             // ln2_rstd
        L * BT * 4 * C,     // fch
        L * BT * 4 * C,     // fch_gelu
        L * BT * C,         // fcproj
        L * BT * C,         // residual3
        BT * C,             // lnf
        BT,                 // lnf_mean
        BT,                 // lnf_rstd
        BT * V,             // logits
        BT * V,             // probs
        BT,                 // losses
    };
    memcpy(s, v, sizeof v);
}

// Gradient buffers: the backward reuses one layer's worth (L = 1) for every layer, and the
// logits' gradient is written over probs, so they hold no logits/probs of their own.
static void grad_act_sizes(const ElmGpt2Config *c, int B, int T, size_t s[ELM_GPT2_NUM_ACTS]) {
    ElmGpt2Config one = *c;
    one.n_layer = 1;
    act_sizes(&one, B, T, s);
    s[19] = s[20] = 0;
}

static float **act_ptrs(ElmGpt2Acts *a, float **p) {
    float **v[ELM_GPT2_NUM_ACTS] = {
        &a->encoded,  &a->ln1,      &a->ln1_mean,  &a->ln1_rstd,  &a->qkv,      &a->atty,
        &a->att,      &a->attproj,  &a->residual2, &a->ln2,       &a->ln2_mean, &a->ln2_rstd,
        &a->fch,      &a->fch_gelu, &a->fcproj,    &a->residual3, &a->lnf,      &a->lnf_mean,
        &a->lnf_rstd, &a->logits,   &a->probs,     &a->losses,
    };
    memcpy(p, v, sizeof v);
    return p;
}

// Grows *mem to hold the sizes and points the tensors of a into it.
static int carve_acts(ElmGpt2Acts *a, float **mem, size_t *cap, const size_t *sizes,
                      ElmError *err) {
    size_t total = 0;
    for (int i = 0; i < ELM_GPT2_NUM_ACTS; i++) total += sizes[i];
    if (total > *cap) {
        free(*mem);
        *mem = malloc(total * sizeof(float));
        if (!*mem) {
            *cap = 0;
            return elm_err(err, "out of memory for %zu activation floats", total);
        }
        *cap = total;
    }
    float **ptrs[ELM_GPT2_NUM_ACTS];
    act_ptrs(a, (float **)ptrs);
    float *p = *mem;
    for (int i = 0; i < ELM_GPT2_NUM_ACTS; i++) {
        *ptrs[i] = sizes[i] ? p : NULL;
        p += sizes[i];
    }
    return 0;
}

// ---- forward ---------------------------------------------------------------------------------

static void mm_forward(const ElmGpt2 *m, float *out, const float *inp, const float *w,
                       const float *b, int B, int T, int C, int OC) {
    if (m->precision == ELM_GPT2_BF16)
        elm_matmul_forward_bf16(out, inp, w, b, B, T, C, OC);
    else if (m->use_blas)
        elm_matmul_forward_blas(out, inp, w, b, B, T, C, OC);
    else
        elm_matmul_forward_loops(out, inp, w, b, B, T, C, OC);
}

static void mm_backward(const ElmGpt2 *m, float *dinp, float *dw, float *db, const float *dout,
                        const float *inp, const float *w, int B, int T, int C, int OC) {
    if (m->precision == ELM_GPT2_BF16)
        elm_matmul_backward_bf16(dinp, dw, db, dout, inp, w, B, T, C, OC);
    else if (m->use_blas)
        elm_matmul_backward_blas(dinp, dw, db, dout, inp, w, B, T, C, OC);
    else
        elm_matmul_backward_loops(dinp, dw, db, dout, inp, w, B, T, C, OC);
}

int elm_gpt2_forward(ElmGpt2 *m, const int *inputs, const int *targets, int B, int T,
                     ElmError *err) {
    const ElmGpt2Config *c = &m->config;
    int L = c->n_layer, NH = c->n_head, C = c->n_embd, V = c->vocab_size;
    if (B < 1 || T < 1) return elm_err(err, "forward: batch %d x %d is empty", B, T);
    if (T > c->n_ctx)
        return elm_err(err, "forward: sequence length %d exceeds the model's n_ctx %d", T,
                       c->n_ctx);
    size_t BT = (size_t)B * T;
    for (size_t i = 0; i < BT; i++) {
        if (inputs[i] < 0 || inputs[i] >= V)
            return elm_err(err, "forward: token id %d at position %zu is outside [0, %d)",
                           inputs[i], i, V);
        if (targets && targets[i] >= V)
            return elm_err(err, "forward: target id %d at position %zu is outside [0, %d)",
                           targets[i], i, V);
    }
    set_threads(m);
    size_t sizes[ELM_GPT2_NUM_ACTS];
    act_sizes(c, B, T, sizes);
    if (carve_acts(&m->acts, &m->acts_memory, &m->acts_capacity, sizes, err)) return -1;
    if (BT > m->io_capacity) {
        free(m->inputs);
        free(m->targets);
        m->inputs = malloc(BT * sizeof(int));
        m->targets = malloc(BT * sizeof(int));
        if (!m->inputs || !m->targets) {
            m->io_capacity = 0;
            return elm_err(err, "out of memory for a %d x %d batch", B, T);
        }
        m->io_capacity = BT;
    }
    m->B = B;
    m->T = T;
    memcpy(m->inputs, inputs, BT * sizeof(int));
    if (targets) memcpy(m->targets, targets, BT * sizeof(int));
    m->n_targets = 0;

    ElmGpt2Params p = m->params;
    ElmGpt2Acts a = m->acts;
    elm_encoder_forward(a.encoded, inputs, p.wte, p.wpe, B, T, C);
    for (int l = 0; l < L; l++) {
        size_t btc = BT * C;
        const float *residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * btc;
        float *ln1 = a.ln1 + l * btc, *ln1_mean = a.ln1_mean + l * BT,
              *ln1_rstd = a.ln1_rstd + l * BT;
        float *qkv = a.qkv + l * btc * 3, *atty = a.atty + l * btc;
        float *att = a.att + (size_t)l * B * NH * T * T;
        float *attproj = a.attproj + l * btc, *residual2 = a.residual2 + l * btc;
        float *ln2 = a.ln2 + l * btc, *ln2_mean = a.ln2_mean + l * BT,
              *ln2_rstd = a.ln2_rstd + l * BT;
        float *fch = a.fch + l * btc * 4, *fch_gelu = a.fch_gelu + l * btc * 4;
        float *fcproj = a.fcproj + l * btc, *residual3 = a.residual3 + l * btc;
        size_t lc = (size_t)l * C;

        elm_layernorm_forward(ln1, ln1_mean, ln1_rstd, residual, p.ln1w + lc, p.ln1b + lc, B, T, C);
        mm_forward(m, qkv, ln1, p.qkvw + lc * 3 * C, p.qkvb + lc * 3, B, T, C, 3 * C);
        elm_attention_forward(atty, att, qkv, B, T, C, NH);
        mm_forward(m, attproj, atty, p.attprojw + lc * C, p.attprojb + lc, B, T, C, C);
        elm_residual_forward(residual2, residual, attproj, (int)btc);
        elm_layernorm_forward(ln2, ln2_mean, ln2_rstd, residual2, p.ln2w + lc, p.ln2b + lc, B, T,
                              C);
        mm_forward(m, fch, ln2, p.fcw + lc * 4 * C, p.fcb + lc * 4, B, T, C, 4 * C);
        elm_gelu_forward(fch_gelu, fch, (int)(btc * 4));
        mm_forward(m, fcproj, fch_gelu, p.fcprojw + lc * 4 * C, p.fcprojb + lc, B, T, 4 * C, C);
        elm_residual_forward(residual3, residual2, fcproj, (int)btc);
    }
    const float *last = a.residual3 + (size_t)(L - 1) * BT * C;
    elm_layernorm_forward(a.lnf, a.lnf_mean, a.lnf_rstd, last, p.lnfw, p.lnfb, B, T, C);
    mm_forward(m, a.logits, a.lnf, p.wte, NULL, B, T, C, V);

    if (!targets) {
        m->mean_loss = -1.0f;
        return 0;
    }
    m->have_probs = 1;
    elm_crossentropy_forward(a.losses, a.probs, a.logits, targets, (int)BT, V);
    double sum = 0.0;
    int n = 0;
    for (size_t i = 0; i < BT; i++) {
        if (targets[i] < 0) continue;
        sum += a.losses[i];
        n++;
    }
    m->n_targets = n;
    m->mean_loss = n ? (float)(sum / n) : 0.0f;
    return 0;
}

// ---- backward --------------------------------------------------------------------------------

static int alloc_grads(ElmGpt2 *m, ElmError *err) {
    if (m->grads_memory) return 0;
    m->grads_memory = calloc(m->num_parameters, sizeof(float));
    if (!m->grads_memory) return elm_err(err, "out of memory for %zu gradients", m->num_parameters);
    carve_params(&m->grads, m->grads_memory, &m->config);
    return 0;
}

int elm_gpt2_zero_grad(ElmGpt2 *m, ElmError *err) {
    if (alloc_grads(m, err)) return -1;
    // in chunks over the threads: one thread alone does not reach the memory's write bandwidth
    const size_t chunk = ELM_GPT2_NORM_CHUNK;
    size_t n = m->num_parameters, nchunks = (n + chunk - 1) / chunk;
    set_threads(m);
#pragma omp parallel for schedule(static) if (n >= ELM_PAR_MIN)
    for (size_t k = 0; k < nchunks; k++) {
        size_t i0 = k * chunk;
        memset(m->grads_memory + i0, 0, (i0 + chunk < n ? chunk : n - i0) * sizeof(float));
    }
    return 0;
}

int elm_gpt2_backward(ElmGpt2 *m, float scale, ElmError *err) {
    if (!m->acts_memory || m->mean_loss < 0.0f || !m->have_probs)
        return elm_err(err, "backward: needs a forward pass with targets first");
    if (alloc_grads(m, err)) return -1;
    const ElmGpt2Config *c = &m->config;
    int L = c->n_layer, NH = c->n_head, C = c->n_embd, V = c->vocab_size, B = m->B, T = m->T;
    size_t BT = (size_t)B * T, btc = BT * C;
    set_threads(m);
    size_t sizes[ELM_GPT2_NUM_ACTS];
    grad_act_sizes(c, B, T, sizes);
    if (carve_acts(&m->grad_acts, &m->grad_acts_memory, &m->grad_acts_capacity, sizes, err))
        return -1;
    m->have_probs = 0; // the softmax is about to be overwritten by its gradient

    ElmGpt2Params p = m->params, g = m->grads;
    ElmGpt2Acts a = m->acts, d = m->grad_acts;
    // d.residual3 carries the gradient of the residual stream between blocks; d.residual2
    // within a block; d.lnf the final norm's output; d.losses the per-position loss weights.
    float *dresid = d.residual3, *dres2 = d.residual2;
    float dl = m->n_targets ? scale / (float)m->n_targets : 0.0f;
    for (size_t i = 0; i < BT; i++) d.losses[i] = m->targets[i] >= 0 ? dl : 0.0f;
    float *dlogits = a.probs; // in place
    elm_crossentropy_backward(dlogits, a.probs, m->targets, d.losses, (int)BT, V);
    memset(d.lnf, 0, btc * sizeof(float));
    mm_backward(m, d.lnf, g.wte, NULL, dlogits, a.lnf, p.wte, B, T, C, V);
    memset(dresid, 0, btc * sizeof(float));
    const float *last = a.residual3 + (size_t)(L - 1) * btc;
    elm_layernorm_backward(dresid, g.lnfw, g.lnfb, d.lnf, last, p.lnfw, a.lnf_mean, a.lnf_rstd, B,
                           T, C);

    for (int l = L - 1; l >= 0; l--) {
        const float *residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * btc;
        const float *ln1 = a.ln1 + l * btc, *ln1_mean = a.ln1_mean + l * BT,
                    *ln1_rstd = a.ln1_rstd + l * BT;
        const float *qkv = a.qkv + l * btc * 3, *atty = a.atty + l * btc;
        const float *att = a.att + (size_t)l * B * NH * T * T;
        const float *residual2 = a.residual2 + l * btc;
        const float *ln2 = a.ln2 + l * btc, *ln2_mean = a.ln2_mean + l * BT,
                    *ln2_rstd = a.ln2_rstd + l * BT;
        const float *fch = a.fch + l * btc * 4, *fch_gelu = a.fch_gelu + l * btc * 4;
        size_t lc = (size_t)l * C;

        // residual3 = residual2 + fcproj
        memset(dres2, 0, btc * sizeof(float));
        memset(d.fcproj, 0, btc * sizeof(float));
        elm_residual_backward(dres2, d.fcproj, dresid, (int)btc);
        memset(d.fch_gelu, 0, btc * 4 * sizeof(float));
        mm_backward(m, d.fch_gelu, g.fcprojw + lc * 4 * C, g.fcprojb + lc, d.fcproj, fch_gelu,
                    p.fcprojw + lc * 4 * C, B, T, 4 * C, C);
        memset(d.fch, 0, btc * 4 * sizeof(float));
        elm_gelu_backward(d.fch, fch, d.fch_gelu, (int)(btc * 4));
        memset(d.ln2, 0, btc * sizeof(float));
        mm_backward(m, d.ln2, g.fcw + lc * 4 * C, g.fcb + lc * 4, d.fch, ln2, p.fcw + lc * 4 * C, B,
                    T, C, 4 * C);
        elm_layernorm_backward(dres2, g.ln2w + lc, g.ln2b + lc, d.ln2, residual2, p.ln2w + lc,
                               ln2_mean, ln2_rstd, B, T, C);
        // residual2 = residual + attproj
        memset(dresid, 0, btc * sizeof(float));
        memset(d.attproj, 0, btc * sizeof(float));
        elm_residual_backward(dresid, d.attproj, dres2, (int)btc);
        memset(d.atty, 0, btc * sizeof(float));
        mm_backward(m, d.atty, g.attprojw + lc * C, g.attprojb + lc, d.attproj, atty,
                    p.attprojw + lc * C, B, T, C, C);
        memset(d.qkv, 0, btc * 3 * sizeof(float));
        elm_attention_backward(d.qkv, d.att, d.atty, qkv, att, B, T, C, NH);
        memset(d.ln1, 0, btc * sizeof(float));
        mm_backward(m, d.ln1, g.qkvw + lc * 3 * C, g.qkvb + lc * 3, d.qkv, ln1, p.qkvw + lc * 3 * C,
                    B, T, C, 3 * C);
        elm_layernorm_backward(dresid, g.ln1w + lc, g.ln1b + lc, d.ln1, residual, p.ln1w + lc,
                               ln1_mean, ln1_rstd, B, T, C);
    }
    elm_encoder_backward(g.wte, g.wpe, dresid, m->inputs, B, T, C);
    return 0;
}

// ---- gradient norm, clipping, AdamW ----------------------------------------------------------

// Sum of squares in fixed chunks of ELM_GPT2_NORM_CHUNK (independent of the thread count), partials
// added in order.
#define NORM_CHUNK ELM_GPT2_NORM_CHUNK

// One chunk's sum of squares: the simd reduction keeps a double per lane and adds the lanes at
// the end, an order fixed by the build (not by the thread count).
static double chunk_sumsq(const float *g, size_t n) {
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return s;
}

void elm_gpt2_grad_sumsq_chunks(const ElmGpt2 *m, size_t lo, size_t hi, double *part) {
    size_t k0 = lo / NORM_CHUNK, nchunks = (hi - lo + NORM_CHUNK - 1) / NORM_CHUNK;
    set_threads(m);
#pragma omp parallel for schedule(static) if ((hi - lo) >= ELM_PAR_MIN)
    for (size_t k = 0; k < nchunks; k++) {
        size_t i0 = (k0 + k) * NORM_CHUNK;
        part[k] = chunk_sumsq(m->grads_memory + i0, i0 + NORM_CHUNK < hi ? NORM_CHUNK : hi - i0);
    }
}

float elm_gpt2_grad_norm(const ElmGpt2 *m) {
    if (!m->grads_memory) return 0.0f;
    size_t n = m->num_parameters, nchunks = (n + NORM_CHUNK - 1) / NORM_CHUNK;
    double *part = malloc(nchunks * sizeof(double));
    if (!part) { // no memory for partials: the same sums serially
        double s = 0.0;
        for (size_t k = 0; k < nchunks; k++) {
            size_t i0 = k * NORM_CHUNK;
            s += chunk_sumsq(m->grads_memory + i0, i0 + NORM_CHUNK < n ? NORM_CHUNK : n - i0);
        }
        return (float)sqrt(s);
    }
    elm_gpt2_grad_sumsq_chunks(m, 0, n, part);
    double s = 0.0;
    for (size_t k = 0; k < nchunks; k++) s += part[k];
    free(part);
    return (float)sqrt(s);
}

float elm_gpt2_clip_coef(float norm, float max_norm) {
    return max_norm > 0.0f && norm > max_norm ? max_norm / (norm + 1e-6f) : 1.0f;
}

void elm_gpt2_clip_grad_range(ElmGpt2 *m, size_t lo, size_t hi, float norm, float max_norm) {
    float coef = elm_gpt2_clip_coef(norm, max_norm), *g = m->grads_memory + lo;
    if (coef == 1.0f) return;
    size_t n = hi - lo;
#pragma omp parallel for simd schedule(static) if ((n) >= ELM_PAR_MIN)
    for (size_t i = 0; i < n; i++) g[i] *= coef;
}

float elm_gpt2_clip_grad(ElmGpt2 *m, float max_norm) {
    float norm = elm_gpt2_grad_norm(m);
    elm_gpt2_clip_grad_range(m, 0, m->num_parameters, norm, max_norm);
    return norm;
}

int elm_gpt2_adamw_step(ElmGpt2 *m, const ElmAdamW *opt, ElmError *err) {
    return elm_gpt2_adamw_step_scaled(m, opt, 1.0f, err);
}

int elm_gpt2_adamw_step_scaled(ElmGpt2 *m, const ElmAdamW *opt, float grad_scale, ElmError *err) {
    if (!m->grads_memory) return elm_err(err, "adamw: no gradients (run a backward first)");
    size_t n = m->num_parameters;
    if (!m->adam_m) {
        m->adam_m = calloc(n, sizeof(float));
        m->adam_v = calloc(n, sizeof(float));
        if (!m->adam_m || !m->adam_v) {
            free(m->adam_m);
            free(m->adam_v);
            m->adam_m = m->adam_v = NULL;
            return elm_err(err, "out of memory for the AdamW state (%zu parameters)", n);
        }
    }
    elm_gpt2_adamw_step_range(m, opt, grad_scale, 0, n, m->adam_m, m->adam_v);
    return 0;
}

void elm_gpt2_adamw_step_range(ElmGpt2 *m, const ElmAdamW *opt, float grad_scale, size_t lo,
                               size_t hi, float *am, float *av) {
    set_threads(m);
    m->weights_stale = 1;
    long long t = ++m->adam_t;
    float b1 = opt->beta1, b2 = opt->beta2, eps = opt->eps, lr = opt->lr;
    // As torch.optim.AdamW: bias corrections and the step size in double, the rest in float.
    double bc1 = 1.0 - pow((double)b1, (double)t), bc2 = 1.0 - pow((double)b2, (double)t);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    float decay = 1.0f - lr * opt->weight_decay;
    for (int k = 0; k < ELM_GPT2_NUM_TENSORS; k++) {
        ElmGpt2TensorInfo info;
        elm_gpt2_tensor_info(&m->config, k, &info);
        // the tensor's part in [lo, hi)
        size_t a = info.offset > lo ? info.offset : lo;
        size_t b = info.offset + info.size < hi ? info.offset + info.size : hi;
        if (a >= b) continue;
        float *p = m->params_memory + a, *g = m->grads_memory + a;
        float *mm = am + (a - lo), *vv = av + (a - lo);
        float dk = info.decay ? decay : 1.0f;
        size_t sz = b - a;
#pragma omp parallel for simd schedule(static) if ((sz) >= ELM_PAR_MIN)
        for (size_t i = 0; i < sz; i++) {
            float gi = g[i] * grad_scale; // as clip_grad's g[i] *= coef, bit for bit
            float pi = p[i] * dk;
            float mi = mm[i] + (1.0f - b1) * (gi - mm[i]);
            float vi = vv[i] * b2 + (1.0f - b2) * gi * gi;
            mm[i] = mi;
            vv[i] = vi;
            float denom = sqrtf(vi) / bc2_sqrt + eps;
            p[i] = pi - step_size * (mi / denom);
        }
    }
}
