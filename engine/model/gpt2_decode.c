// gpt2_decode.c — ElmGpt2 inference with a KV cache: prefill a prompt, then one token per
// sequence per step (see gpt2.h). Called by `elm generate` and the decode benchmark.
#include "engine/model/gpt2.h"

#include "engine/base/fsutil.h"
#include "engine/model/layers.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static void set_threads(const ElmGpt2 *m) {
    if (m->threads > 0) {
        omp_set_num_threads(m->threads);
    }
}

// out (N, OC) = inp (N, C) @ W^T + b, W the fp32 w or, with reduced weights, m->qw[qi].
static void mm_forward(const ElmGpt2 *m, float *out, const float *inp, const float *w,
                       const float *b, int N, int C, int OC, int qi) {
    if (m->weights != ELM_QMM_FP32)
        elm_qmatmul_forward(out, inp, &m->qw[qi], b, N, m->weights_int8,
                            m->weights_portable ? ELM_QMM_PORTABLE : ELM_QMM_BEST, m->qscratch);
    else if (m->use_blas)
        elm_matmul_forward_blas(out, inp, w, b, 1, N, C, OC);
    else
        elm_matmul_forward_loops(out, inp, w, b, 1, N, C, OC);
}

static void free_weights(ElmGpt2 *m) {
    for (int i = 0; m->qw && i < 4 * m->config.n_layer + 1; i++) elm_qmatmul_free(&m->qw[i]);
    free(m->qw);
    m->qw = NULL;
}

// (Re)packs every linear weight of the decode into m->weights' format.
static int pack_weights(ElmGpt2 *m, ElmError *err) {
    const ElmGpt2Config *c = &m->config;
    const ElmGpt2Params *p = &m->params;
    int L = c->n_layer, C = c->n_embd;
    free_weights(m);
    if (!(m->qw = calloc(4 * (size_t)L + 1, sizeof *m->qw)))
        return elm_err(err, "decode weights: out of memory");
    int rc = 0;
    for (int l = 0; !rc && l < L; l++) {
        size_t lc = (size_t)l * C;
        rc =
            elm_qmatmul_pack(&m->qw[4 * l], m->weights, p->qkvw + lc * 3 * C, 3 * C, C, err) ||
            elm_qmatmul_pack(&m->qw[4 * l + 1], m->weights, p->attprojw + lc * C, C, C, err) ||
            elm_qmatmul_pack(&m->qw[4 * l + 2], m->weights, p->fcw + lc * 4 * C, 4 * C, C, err) ||
            elm_qmatmul_pack(&m->qw[4 * l + 3], m->weights, p->fcprojw + lc * 4 * C, C, 4 * C, err);
    }
    if (!rc) rc = elm_qmatmul_pack(&m->qw[4 * L], m->weights, p->wte, c->vocab_size, C, err);
    if (rc) {
        free_weights(m);
        return -1;
    }
    m->weights_stale = 0;
    return 0;
}

int elm_gpt2_set_weights(ElmGpt2 *m, int fmt, ElmError *err) {
    if (fmt != ELM_QMM_FP32 && fmt != ELM_QMM_BF16 && fmt != ELM_QMM_INT8)
        return elm_err(err, "decode weights: unknown format %d", fmt);
    free_weights(m);
    m->weights = fmt;
    if (fmt == ELM_QMM_FP32) return 0;
    set_threads(m);
    if (pack_weights(m, err)) {
        m->weights = ELM_QMM_FP32;
        return -1;
    }
    return 0;
}

// Repacks the reduced weights when the parameters changed (an AdamW step) since they were made.
static int fresh_weights(ElmGpt2 *m, ElmError *err) {
    if (m->weights == ELM_QMM_FP32 || (m->qw && !m->weights_stale)) return 0;
    return pack_weights(m, err);
}

// Scratch floats for N rows at once: x, ln, atty, tmp (C each), qkv (3C), fch (4C),
// mean/rstd (1 each), attention scores (kvT per row and head).
static size_t scratch_floats(const ElmGpt2 *m, int N) {
    size_t C = m->config.n_embd, NH = m->config.n_head;
    return (size_t)N * (11 * C + 2 + NH * (size_t)m->kvT);
}

int elm_gpt2_kv_alloc(ElmGpt2 *m, int n_seq, int max_T, ElmError *err) {
    const ElmGpt2Config *c = &m->config;
    if (n_seq < 1 || max_T < 1 || max_T > c->n_ctx)
        return elm_err(err, "kv cache: %d sequences of %d positions (n_ctx %d) is not possible",
                       n_seq, max_T, c->n_ctx);
    free(m->kv);
    free(m->kv_pos);
    free(m->kv_scratch);
    m->kvB = n_seq;
    m->kvT = max_T;
    size_t n = (size_t)c->n_layer * n_seq * max_T * 2 * c->n_embd;
    m->kv_held_bf16 = m->kv_bf16 != 0; // what the memory holds, whatever kv_bf16 says later
    m->kv = malloc(n * (m->kv_held_bf16 ? sizeof(uint16_t) : sizeof(float)));
    m->kv_pos = calloc(n_seq, sizeof(int));
    // one block: the floats of scratch_floats, then the reduced matmul's activations
    int rows = n_seq > max_T ? n_seq : max_T;
    long pack = (long)n_seq * max_T,
         most = m->prefill_rows > 0 ? m->prefill_rows : ELM_GPT2_PREFILL_ROWS;
    if (pack > most) pack = most;
    if (pack > rows) rows = (int)pack;
    m->kv_rows = rows;
    m->kv_scratch_capacity = scratch_floats(m, rows);
    m->qscratch_bytes = elm_qmatmul_scratch_bytes(rows, 4 * c->n_embd);
    m->kv_scratch = malloc(m->kv_scratch_capacity * sizeof(float) + m->qscratch_bytes);
    m->qscratch = m->kv_scratch ? m->kv_scratch + m->kv_scratch_capacity : NULL;
    if (!m->kv || !m->kv_pos || !m->kv_scratch) {
        free(m->kv);
        free(m->kv_pos);
        free(m->kv_scratch);
        m->kv = m->kv_scratch = NULL;
        m->qscratch = NULL;
        m->kv_pos = NULL;
        m->kvB = m->kvT = m->kv_rows = 0;
        return elm_err(err, "kv cache: out of memory for %d x %d positions", n_seq, max_T);
    }
    return 0;
}

void elm_gpt2_kv_reset(ElmGpt2 *m) {
    if (m->kv_pos) memset(m->kv_pos, 0, m->kvB * sizeof(int));
}

// bf16 bits -> fp32 (exact), inline so the attention loops vectorise.
static inline float kv_f32(uint16_t b) {
    union {
        uint32_t u;
        float f;
    } v = {.u = (uint32_t)b << 16};
    return v.f;
}

// Layer l's k and v of each row (qkv (N, 3C)) into the cache at (seq[r], pos[r]); rounded to
// bf16 when the cache was allocated so.
static void kv_store(ElmGpt2 *m, int l, const int *seq, const int *pos, const float *qkv, int N) {
    int C = m->config.n_embd;
    size_t slot = 2 * (size_t)C, layer = (size_t)l * m->kvB * m->kvT * slot;
    for (int r = 0; r < N; r++) {
        size_t at = layer + ((size_t)seq[r] * m->kvT + pos[r]) * slot;
        const float *src = qkv + (size_t)r * 3 * C + C;
        if (m->kv_held_bf16) {
            uint16_t *dst = (uint16_t *)m->kv + at;
            for (size_t i = 0; i < slot; i++) dst[i] = elm_qmatmul_to_bf16(src[i]);
        } else {
            memcpy(m->kv + at, src, slot * sizeof(float));
        }
    }
}

// atty (N, C) = softmax(q k^T / sqrt(hs)) v per head over positions 0 .. pos[r] of row r's
// sequence in layer l's cache (fp32 or bf16 entries; the sums are fp32 either way).
static void kv_attend(ElmGpt2 *m, int l, const int *seq, const int *pos, const float *qkv,
                      float *atty, float *scores, int N) {
    int NH = m->config.n_head, C = m->config.n_embd, hs = C / NH, kvT = m->kvT;
    size_t slot = 2 * (size_t)C, layer = (size_t)l * m->kvB * kvT * slot;
    const float *c32 = m->kv_held_bf16 ? NULL : m->kv;
    const uint16_t *c16 = m->kv_held_bf16 ? (const uint16_t *)m->kv : NULL;
    float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel for collapse(2) schedule(static) if (((size_t)N * kvT * C) >= ELM_PAR_MIN)
    for (int r = 0; r < N; r++) {
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)r * 3 * C + h * hs;
            size_t base = layer + (size_t)seq[r] * kvT * slot + (size_t)h * hs;
            float *a = scores + ((size_t)r * NH + h) * kvT;
            int n = pos[r] + 1;
            float maxv = -INFINITY;
            for (int j = 0; j < n; j++) {
                size_t k = base + (size_t)j * slot;
                float d = 0.0f;
                if (c16) {
#pragma omp simd reduction(+ : d)
                    for (int i = 0; i < hs; i++) d += q[i] * kv_f32(c16[k + i]);
                } else {
#pragma omp simd reduction(+ : d)
                    for (int i = 0; i < hs; i++) d += q[i] * c32[k + i];
                }
                d *= scale;
                a[j] = d;
                if (d > maxv) maxv = d;
            }
            float sum = 0.0f;
            for (int j = 0; j < n; j++) {
                a[j] = expf(a[j] - maxv);
                sum += a[j];
            }
            float inv = 1.0f / sum;
            float *o = atty + (size_t)r * C + h * hs;
            for (int i = 0; i < hs; i++) o[i] = 0.0f;
            for (int j = 0; j < n; j++) {
                size_t v = base + (size_t)j * slot + C;
                float aj = a[j] * inv;
                if (c16) {
#pragma omp simd
                    for (int i = 0; i < hs; i++) o[i] += aj * kv_f32(c16[v + i]);
                } else {
#pragma omp simd
                    for (int i = 0; i < hs; i++) o[i] += aj * c32[v + i];
                }
            }
        }
    }
}

// Runs N new rows through the model. Row r is token tokens[r] of sequence seq[r] at position
// pos[r]; its k and v enter the cache before attention, so rows of one sequence given in
// position order attend to each other causally. Logits (n_out, V) are written for the rows
// out_rows[0 .. n_out) (increasing), or for the last n_out rows when out_rows is NULL.
static void kv_forward(ElmGpt2 *m, const int *seq, const int *pos, const int *tokens, int N,
                       const int *out_rows, int n_out, float *logits) {
    const ElmGpt2Config *c = &m->config;
    int L = c->n_layer, C = c->n_embd, V = c->vocab_size;
    const ElmGpt2Params *p = &m->params;
    float *s = m->kv_scratch;
    float *x = s, *ln = x + (size_t)N * C, *atty = ln + (size_t)N * C, *tmp = atty + (size_t)N * C;
    float *qkv = tmp + (size_t)N * C, *fch = qkv + (size_t)N * 3 * C;
    float *mean = fch + (size_t)N * 4 * C, *rstd = mean + N, *scores = rstd + N;

    for (int r = 0; r < N; r++) {
        const float *we = p->wte + (size_t)tokens[r] * C, *pe = p->wpe + (size_t)pos[r] * C;
        for (int i = 0; i < C; i++) x[(size_t)r * C + i] = we[i] + pe[i];
    }
    for (int l = 0; l < L; l++) {
        size_t lc = (size_t)l * C;
        elm_layernorm_forward(ln, mean, rstd, x, p->ln1w + lc, p->ln1b + lc, 1, N, C);
        mm_forward(m, qkv, ln, p->qkvw + lc * 3 * C, p->qkvb + lc * 3, N, C, 3 * C, 4 * l);
        kv_store(m, l, seq, pos, qkv, N);
        kv_attend(m, l, seq, pos, qkv, atty, scores, N);
        mm_forward(m, tmp, atty, p->attprojw + lc * C, p->attprojb + lc, N, C, C, 4 * l + 1);
        elm_residual_forward(x, x, tmp, N * C);
        elm_layernorm_forward(ln, mean, rstd, x, p->ln2w + lc, p->ln2b + lc, 1, N, C);
        mm_forward(m, fch, ln, p->fcw + lc * 4 * C, p->fcb + lc * 4, N, C, 4 * C, 4 * l + 2);
        elm_gelu_forward(fch, fch, N * 4 * C);
        mm_forward(m, tmp, fch, p->fcprojw + lc * 4 * C, p->fcprojb + lc, N, 4 * C, C, 4 * l + 3);
        elm_residual_forward(x, x, tmp, N * C);
    }
    // the rows wanted, gathered (in place: out_rows increase) into x's first n_out rows
    if (out_rows)
        for (int i = 0; i < n_out; i++)
            memmove(x + (size_t)i * C, x + (size_t)out_rows[i] * C, C * sizeof(float));
    const float *xo = out_rows ? x : x + (size_t)(N - n_out) * C;
    elm_layernorm_forward(ln, mean, rstd, xo, p->lnfw, p->lnfb, 1, n_out, C);
    mm_forward(m, logits, ln, p->wte, NULL, n_out, C, V, 4 * L);
}

static int check_tokens(const ElmGpt2 *m, const int *tokens, int n, ElmError *err) {
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= m->config.vocab_size)
            return elm_err(err, "decode: token id %d is outside [0, %d)", tokens[i],
                           m->config.vocab_size);
    return 0;
}

// Appends n tokens to sequence seq; logits for the last n_out of them.
static int prefill_rows(ElmGpt2 *m, int seq, const int *tokens, int n, int n_out, float *logits,
                        ElmError *err) {
    if (!m->kv) return elm_err(err, "prefill: no KV cache (call elm_gpt2_kv_alloc)");
    if (seq < 0 || seq >= m->kvB)
        return elm_err(err, "prefill: sequence %d outside the cache's %d", seq, m->kvB);
    if (n < 1) return elm_err(err, "prefill: empty prompt");
    if (m->kv_pos[seq] + n > m->kvT)
        return elm_err(err, "prefill: %d + %d tokens exceed the cache's %d positions",
                       m->kv_pos[seq], n, m->kvT);
    if (check_tokens(m, tokens, n, err) || fresh_weights(m, err)) return -1;
    set_threads(m);
    int *meta = malloc(2 * (size_t)n * sizeof(int));
    if (!meta) return elm_err(err, "prefill: out of memory");
    for (int i = 0; i < n; i++) {
        meta[i] = seq;
        meta[n + i] = m->kv_pos[seq] + i;
    }
    kv_forward(m, meta, meta + n, tokens, n, NULL, n_out, logits);
    free(meta);
    m->kv_pos[seq] += n;
    return 0;
}

int elm_gpt2_prefill(ElmGpt2 *m, int seq, const int *tokens, int n, float *logits, ElmError *err) {
    return prefill_rows(m, seq, tokens, n, 1, logits, err);
}

int elm_gpt2_prefill_logits(ElmGpt2 *m, int seq, const int *tokens, int n, float *logits,
                            ElmError *err) {
    return prefill_rows(m, seq, tokens, n, n, logits, err);
}

static int check_batch(const ElmGpt2 *m, int n_seq, const int *seqs, const int *const *tokens,
                       const int *n, ElmError *err) {
    if (!m->kv) return elm_err(err, "prefill: no KV cache (call elm_gpt2_kv_alloc)");
    if (n_seq < 1 || n_seq > m->kvB)
        return elm_err(err, "prefill: %d sequences for a cache of %d", n_seq, m->kvB);
    for (int i = 0; i < n_seq; i++) {
        int s = seqs[i];
        if (s < 0 || s >= m->kvB)
            return elm_err(err, "prefill: sequence %d outside the cache's %d", s, m->kvB);
        for (int j = 0; j < i; j++)
            if (seqs[j] == s) return elm_err(err, "prefill: sequence %d given twice", s);
        if (n[i] < 1) return elm_err(err, "prefill: empty prompt for sequence %d", s);
        if (m->kv_pos[s] + n[i] > m->kvT)
            return elm_err(err, "prefill: %d + %d tokens exceed the cache's %d positions",
                           m->kv_pos[s], n[i], m->kvT);
        if (check_tokens(m, tokens[i], n[i], err)) return -1;
    }
    return 0;
}

// The prompts go through in chunks of whole prompts of at most the scratch's kv_rows rows:
// chunks are independent, since a row only attends to its own sequence.
int elm_gpt2_prefill_batch(ElmGpt2 *m, int n_seq, const int *seqs, const int *const *tokens,
                           const int *n, float *logits, ElmError *err) {
    if (check_batch(m, n_seq, seqs, tokens, n, err) || fresh_weights(m, err)) return -1;
    set_threads(m);
    int cap = m->kv_rows, V = m->config.vocab_size;
    int *meta = malloc(4 * (size_t)cap * sizeof(int));
    if (!meta) return elm_err(err, "prefill: out of memory");
    int *sq = meta, *ps = meta + cap, *tk = meta + 2 * (size_t)cap, *outr = meta + 3 * (size_t)cap;
    for (int i0 = 0; i0 < n_seq;) {
        int rows = 0, i1 = i0;
        for (; i1 < n_seq && rows + n[i1] <= cap; i1++) {
            for (int t = 0; t < n[i1]; t++, rows++) {
                sq[rows] = seqs[i1];
                ps[rows] = m->kv_pos[seqs[i1]] + t;
                tk[rows] = tokens[i1][t];
            }
            outr[i1 - i0] = rows - 1;
        }
        kv_forward(m, sq, ps, tk, rows, outr, i1 - i0, logits + (size_t)i0 * V);
        for (int i = i0; i < i1; i++) m->kv_pos[seqs[i]] += n[i];
        i0 = i1;
    }
    free(meta);
    return 0;
}

int elm_gpt2_decode_step(ElmGpt2 *m, const int *tokens, float *logits, ElmError *err) {
    if (!m->kv) return elm_err(err, "decode: no KV cache (call elm_gpt2_kv_alloc)");
    int B = m->kvB;
    for (int b = 0; b < B; b++)
        if (m->kv_pos[b] >= m->kvT)
            return elm_err(err, "decode: sequence %d is full (%d positions)", b, m->kvT);
    if (check_tokens(m, tokens, B, err) || fresh_weights(m, err)) return -1;
    set_threads(m);
    int *seq = malloc(B * sizeof(int));
    if (!seq) return elm_err(err, "decode: out of memory");
    for (int b = 0; b < B; b++) seq[b] = b;
    kv_forward(m, seq, m->kv_pos, tokens, B, NULL, B, logits);
    free(seq);
    for (int b = 0; b < B; b++) m->kv_pos[b]++;
    return 0;
}

int elm_gpt2_argmax(const float *logits, int V) {
    int best = 0;
    for (int i = 1; i < V; i++)
        if (logits[i] > logits[best]) best = i;
    return best;
}

// The benches' batched prefill: sequence b's prompt is seqs[b * stride .. + prompt_len).
static int bench_prefill_batch(ElmGpt2 *m, int B, const int *seqs, int stride, int prompt_len,
                               float *logits, ElmError *err) {
    int *sq = malloc((size_t)B * 2 * sizeof(int));
    const int **tk = malloc((size_t)B * sizeof *tk);
    if (!sq || !tk) {
        free(sq), free(tk);
        return elm_err(err, "prefill bench: out of memory");
    }
    for (int b = 0; b < B; b++)
        sq[b] = b, sq[B + b] = prompt_len, tk[b] = seqs + (size_t)b * stride;
    int rc = elm_gpt2_prefill_batch(m, B, sq, tk, sq + B, logits, err);
    free(sq), free(tk);
    return rc;
}

int elm_gpt2_prefill_bench(ElmGpt2 *m, int B, int prompt_len, int cap, int batched, uint64_t seed,
                           double *tok_per_s, ElmError *err) {
    const int V = m->config.vocab_size;
    if (B < 1 || prompt_len < 1 || prompt_len > cap || cap > m->config.n_ctx)
        return elm_err(err, "prefill bench: %d x %d tokens do not fit %d positions (n_ctx %d)", B,
                       prompt_len, cap, m->config.n_ctx);
    if ((!m->kv || m->kvB != B || m->kvT != cap) && elm_gpt2_kv_alloc(m, B, cap, err)) return -1;
    elm_gpt2_kv_reset(m);
    int *ids = malloc((size_t)B * prompt_len * sizeof(int));
    float *logits = malloc((size_t)B * V * sizeof(float));
    int rc = 0;
    if (!ids || !logits) rc = elm_err(err, "prefill bench: out of memory");
    uint64_t s = seed;
    for (int i = 0; !rc && i < B * prompt_len; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int)((s >> 33) % (uint64_t)V);
    }
    double t0 = elm_now();
    if (!rc && batched) rc = bench_prefill_batch(m, B, ids, prompt_len, prompt_len, logits, err);
    for (int b = 0; !rc && !batched && b < B; b++)
        rc = elm_gpt2_prefill(m, b, ids + (size_t)b * prompt_len, prompt_len,
                              logits + (size_t)b * V, err);
    double dt = elm_now() - t0;
    if (!rc) *tok_per_s = (double)B * prompt_len / (dt > 0 ? dt : 1e-9);
    free(ids);
    free(logits);
    return rc;
}

int elm_gpt2_decode_bench(ElmGpt2 *m, int B, int prompt_len, int n_new, int use_cache,
                          uint64_t seed, double *tok_per_s, ElmError *err) {
    const ElmGpt2Config *c = &m->config;
    int V = c->vocab_size, total = prompt_len + n_new;
    if (B < 1 || prompt_len < 1 || n_new < 1 || total > c->n_ctx)
        return elm_err(err, "decode bench: %d x (%d + %d) tokens do not fit n_ctx %d", B,
                       prompt_len, n_new, c->n_ctx);
    int *seqs = malloc((size_t)B * total * sizeof(int));
    int *next = malloc((size_t)B * sizeof(int));
    float *logits = malloc((size_t)B * V * sizeof(float));
    if (!seqs || !next || !logits) {
        free(seqs);
        free(next);
        free(logits);
        return elm_err(err, "decode bench: out of memory");
    }
    uint64_t s = seed;
    for (int i = 0; i < B * total; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        seqs[i] = (int)((s >> 33) % (uint64_t)V);
    }
    int rc = 0;
    double t0 = elm_now();
    if (use_cache) {
        rc = elm_gpt2_kv_alloc(m, B, total, err);
        if (!rc && use_cache == 2)
            rc = bench_prefill_batch(m, B, seqs, total, prompt_len, logits, err);
        for (int b = 0; !rc && use_cache != 2 && b < B; b++)
            rc = elm_gpt2_prefill(m, b, seqs + (size_t)b * total, prompt_len,
                                  logits + (size_t)b * V, err);
        for (int b = 0; !rc && b < B; b++) next[b] = elm_gpt2_argmax(logits + (size_t)b * V, V);
        for (int t = 0; !rc && t < n_new; t++) {
            for (int b = 0; b < B; b++) seqs[(size_t)b * total + prompt_len + t] = next[b];
            if (t == n_new - 1) break;
            rc = elm_gpt2_decode_step(m, next, logits, err);
            for (int b = 0; !rc && b < B; b++) next[b] = elm_gpt2_argmax(logits + (size_t)b * V, V);
        }
    } else {
        // Recompute: every sequence's full prefix each step, one forward over (B, len).
        int *batch = malloc((size_t)B * total * sizeof(int));
        if (!batch) rc = elm_err(err, "decode bench: out of memory");
        for (int t = 0; !rc && t < n_new; t++) {
            int len = prompt_len + t;
            for (int b = 0; b < B; b++)
                memcpy(batch + (size_t)b * len, seqs + (size_t)b * total, len * sizeof(int));
            rc = elm_gpt2_forward(m, batch, NULL, B, len, err);
            for (int b = 0; !rc && b < B; b++)
                seqs[(size_t)b * total + len] =
                    elm_gpt2_argmax(m->acts.logits + ((size_t)b * len + len - 1) * V, V);
        }
        free(batch);
    }
    double dt = elm_now() - t0;
    if (!rc) *tok_per_s = (double)B * n_new / (dt > 0 ? dt : 1e-9);
    free(seqs);
    free(next);
    free(logits);
    return rc;
}
