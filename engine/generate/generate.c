// generate.c — batches of sequences through the KV cache, cut to tweet or story limits, and
// `elm generate`'s output files (see generate.h for the semantics).
#include "engine/generate/generate.h"
#include "engine/model/checkpoint.h"
#include "engine/base/fsutil.h"
#include "engine/model/hf.h"
#include "engine/base/progress.h"
#include "engine/generate/text.h"
#include "tokenizer/tokenize.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// ---- one batch ----------------------------------------------------------------------------

// What one sequence of a batch accumulates while it is sampled.
typedef struct GenSeq {
    ElmGenSeq t;  // the text and its stop
    int32_t *ctx; // sampler context: prompt ids then new ids
    int n_prompt, n_ctx;
    int32_t next;
} GenSeq;

static void free_seqs(GenSeq *seq, int n) {
    for (int b = 0; seq && b < n; b++) {
        free(seq[b].ctx);
        elm_buf_free(&seq[b].t.text);
        free(seq[b].t.tok_end);
        free(seq[b].t.logprob);
    }
    free(seq);
}

void elm_gen_text_free(ElmGenText *t) {
    free(t->text);
    t->text = NULL;
}

int elm_gen_finish(const ElmGenParams *p, const char *bytes, size_t n_bytes, size_t prompt_bytes,
                   const size_t *tok_end, const double *logprob, int n_new, const char *stop,
                   ElmGenText *out) {
    size_t cut;
    if (p->mode == ELM_GEN_STORY)
        cut = elm_text_cut_sentence(bytes, n_bytes, prompt_bytes, p->max_chars);
    else
        cut = elm_text_cut_words(bytes, n_bytes, prompt_bytes, p->max_chars,
                                 strcmp(stop, "eot") == 0 || strcmp(stop, "banned") == 0);
    while (cut > prompt_bytes && elm_text_is_space((unsigned char)bytes[cut - 1])) cut--;
    // An unprompted text starts with the space GPT-2's tokens carry before a word; a tweet never
    // does. (A prompt's text is kept as it is: its continuation's space separates the words.)
    size_t start = 0;
    while (prompt_bytes == 0 && start < cut && elm_text_is_space((unsigned char)bytes[start]))
        start++;
    out->n_tokens = 0;
    double sum = 0;
    for (int k = 0; k < n_new && tok_end[k] <= cut; k++) {
        sum += logprob[k];
        out->n_tokens++;
    }
    out->mean_logprob = out->n_tokens ? sum / out->n_tokens : 0.0;
    out->stop = stop;
    out->text = elm_text_sanitize(bytes + start, cut - start);
    return out->text ? 0 : -1;
}

// Cuts a finished sequence (its header off) and fills out.
static int finish_seq(GenSeq *s, const ElmGenParams *p, ElmGenText *out) {
    size_t k = s->t.skip_bytes;
    for (int i = 0; i < s->t.n_new; i++) s->t.tok_end[i] -= k;
    return elm_gen_finish(p, s->t.text.data + k, s->t.text.len - k, s->t.prompt_bytes - k,
                          s->t.tok_end, s->t.logprob, s->t.n_new, s->t.stop, out);
}

// Encodes prompt b: s->ctx gets the prompt ids (room for max_new more), *model_ids the model's
// context [<|endoftext|>] + prompt ids.
static int encode_prompt(GenSeq *s, const ElmBpe *bpe, int eot, const char *pr, size_t skip,
                         int max_new, int maxT, uint64_t index, int **model_ids, ElmError *err) {
    size_t cap = 16, n_ids = 0;
    int32_t *ids = elm_malloc(sizeof(int32_t) * cap, err);
    if (!ids) return -1;
    if (eot >= 0) ids[n_ids++] = eot;
    if (pr[0] && !bpe) {
        free(ids);
        return elm_err(err, "a prompt needs a tokenizer");
    }
    if (pr[0] && elm_bpe_encode(bpe, pr, strlen(pr), 0, &ids, &n_ids, &cap, err)) {
        free(ids);
        return -1;
    }
    int start = eot >= 0 ? 1 : 0;
    if (n_ids == 0) {
        free(ids);
        return elm_err(err, "unconditional sampling needs <|endoftext|> in the vocabulary");
    }
    if ((int)n_ids >= maxT) {
        free(ids);
        return elm_err(err, "prompt of text %llu has %zu tokens; the model's context holds %d",
                       (unsigned long long)index, n_ids - (size_t)start, maxT);
    }
    s->n_prompt = s->n_ctx = (int)n_ids - start;
    s->t.model_len = (int)n_ids;
    s->ctx = malloc(sizeof(int32_t) * (size_t)(s->n_prompt + max_new + 1));
    s->t.tok_end = malloc(sizeof(size_t) * (size_t)(max_new + 1));
    s->t.logprob = malloc(sizeof(double) * (size_t)(max_new + 1));
    *model_ids = malloc(sizeof(int) * n_ids);
    if (!s->ctx || !s->t.tok_end || !s->t.logprob || !*model_ids ||
        (elm_buf_append(&s->t.text, pr, strlen(pr)), s->t.text.oom)) {
        free(ids);
        return elm_err(err, "out of memory");
    }
    memcpy(s->ctx, ids + start, sizeof(int32_t) * (size_t)s->n_prompt);
    for (size_t i = 0; i < n_ids; i++) (*model_ids)[i] = ids[i];
    free(ids);
    s->t.prompt_bytes = s->t.text.len;
    s->t.n_chars = elm_text_chars(s->t.text.data, s->t.text.len);
    s->t.skip_bytes = skip < s->t.text.len ? skip : s->t.text.len;
    s->t.skip_chars = elm_text_chars(s->t.text.data, s->t.skip_bytes);
    return 0;
}

const char *elm_generate_stop(ElmGenSeq *s, const ElmBpe *bpe, const ElmGenParams *p, int eot,
                              int ctx_cap, int32_t tok, double logprob) {
    if (tok < 0) return s->stop = "banned";
    if (tok == eot) return s->stop = "eot";
    size_t len = 0;
    char idbuf[24];
    const char *b = bpe ? elm_bpe_token_bytes(bpe, tok, &len) : NULL;
    if (!b) {
        // No tokenizer (or an id beyond it): the text shows the id.
        len = (size_t)snprintf(idbuf, sizeof idbuf, "%s<%d>", s->text.len ? " " : "", (int)tok);
        b = idbuf;
    }
    elm_buf_append(&s->text, b, len);
    if (s->text.oom) return s->stop = "oom";
    // Count over the whole text: a character may be split across tokens.
    s->n_chars = elm_text_chars(s->text.data, s->text.len);
    s->tok_end[s->n_new] = s->text.len;
    s->logprob[s->n_new] = logprob;
    s->n_new++;
    s->model_len++;
    if (s->n_chars - s->skip_chars > (size_t)p->max_chars)
        s->stop = "max_chars";
    else if (s->n_new >= p->max_new_tokens)
        s->stop = "max_tokens";
    else if (s->model_len > ctx_cap)
        s->stop = "context";
    return s->stop;
}

// Takes the token sampled for s (tok < 0: nothing was left) into its text and its sampler
// context, and decides whether the sequence goes on.
static void accept_token(GenSeq *s, const ElmBpe *bpe, const ElmGenParams *p, int eot, int kvT,
                         int32_t tok, double logprob) {
    int taken = s->t.n_new;
    elm_generate_stop(&s->t, bpe, p, eot, kvT, tok, logprob);
    if (s->t.n_new > taken) s->ctx[s->n_ctx++] = tok;
    if (!s->t.stop) s->next = tok;
}

int elm_generate_prefill(ElmGpt2 *m, ElmGenPrefill how, int n, const int *seqs,
                         const int *const *ids, const int *len, float *logits, ElmError *err) {
    const size_t V = (size_t)m->config.vocab_size;
    for (int i = 0; i < n; i++) m->kv_pos[seqs[i]] = 0;
    if (how != ELM_GEN_PREFILL_SERIAL)
        return elm_gpt2_prefill_batch(m, n, seqs, ids, len, logits, err);
    for (int i = 0; i < n; i++)
        if (elm_gpt2_prefill(m, seqs[i], ids[i], len[i], logits + (size_t)i * V, err)) return -1;
    return 0;
}

int elm_generate_batch(ElmGpt2 *m, const ElmBpe *bpe, const ElmGenParams *p,
                       const char *const *prompts, const uint64_t *index, int n, ElmGenText *out,
                       ElmError *err) {
    return elm_generate_batch_ex(m, bpe, p, prompts, NULL, index, n, out, err);
}

// Samples sequence b's next token from its logits row (steered when p->steer is set) and its
// raw-model log-probability.
static void pick_next(GenSeq *s, ElmSampler *smp, const ElmGenParams *p, float *row, int V, int eot,
                      int pos, uint64_t index, int32_t *picked, double *lp) {
    double lse = elm_log_sum_exp(row, V);
    // A text has at least one new token; a story never ends at <|endoftext|>.
    if ((pos == 0 || p->mode == ELM_GEN_STORY) && eot >= 0 && eot < V) row[eot] = -INFINITY;
    elm_steer_apply(p->steer, row, V, s->ctx, s->n_ctx);
    double u = elm_sample_uniform(p->seed, index, (uint64_t)pos);
    *picked = elm_sampler_pick(smp, row, s->ctx, s->n_ctx, u, NULL);
    double raw = *picked >= 0
                     ? (double)row[*picked] - elm_steer_bonus(p->steer, s->ctx, s->n_ctx, *picked)
                     : 0.0;
    *lp = *picked >= 0 ? raw - lse : 0.0;
}

int elm_generate_batch_ex(ElmGpt2 *m, const ElmBpe *bpe, const ElmGenParams *p,
                          const char *const *prompts, const size_t *skip, const uint64_t *index,
                          int n, ElmGenText *out, ElmError *err) {
    const int V = m->config.vocab_size, maxT = m->config.n_ctx;
    const int eot = bpe ? elm_bpe_eot(bpe) : -1;
    const int max_new = p->max_new_tokens;
    if (n <= 0) return 0;
    if (max_new <= 0 || p->max_chars <= 0)
        return elm_err(err, "max_new_tokens and max_chars must be positive");
    if (bpe && elm_bpe_vocab_size(bpe) > V)
        return elm_err(err, "the vocabulary has %d tokens but the model only %d",
                       elm_bpe_vocab_size(bpe), V);
    memset(out, 0, sizeof(ElmGenText) * (size_t)n);
    GenSeq *seq = elm_calloc((size_t)n, sizeof *seq, err);
    ElmSampler *smp = elm_calloc((size_t)n, sizeof *smp, err);
    int **model_ids = elm_calloc((size_t)n, sizeof *model_ids, err);
    float *logits = elm_malloc(sizeof(float) * (size_t)V * (size_t)n, err);
    int *feed = elm_malloc(sizeof(int) * (size_t)n, err);
    int32_t *picked = elm_malloc(sizeof(int32_t) * (size_t)n, err);
    double *lp = elm_malloc(sizeof(double) * (size_t)n, err);
    int *lens = elm_malloc(sizeof(int) * (size_t)n, err);
    int rc = -1, max_len = 0;
    if (!seq || !smp || !model_ids || !logits || !feed || !picked || !lp || !lens) goto done;
    for (int b = 0; b < n; b++) {
        const char *pr = prompts && prompts[b] ? prompts[b] : "";
        if (encode_prompt(&seq[b], bpe, eot, pr, skip ? skip[b] : 0, max_new, maxT, index[b],
                          &model_ids[b], err) ||
            elm_sampler_init(&smp[b], &p->sample, V, err))
            goto done;
        if (seq[b].t.model_len > max_len) max_len = seq[b].t.model_len;
        size_t chars = seq[b].t.n_chars - seq[b].t.skip_chars;
        if ((size_t)p->max_chars < chars) {
            elm_err(err, "the prompt of text %llu has %zu characters, more than max_chars %d",
                    (unsigned long long)index[b], chars, p->max_chars);
            goto done;
        }
    }
    // The cache holds the longest context plus the new tokens (at most n_ctx positions).
    int kvT = max_len + max_new < maxT ? max_len + max_new : maxT;
    if (m->kv == NULL || m->kvB != n || m->kvT < kvT) {
        if (elm_gpt2_kv_alloc(m, n, kvT, err)) goto done;
    } else {
        elm_gpt2_kv_reset(m);
    }
    kvT = m->kvT;
    for (int b = 0; b < n; b++) feed[b] = b, lens[b] = seq[b].t.model_len;
    if (elm_generate_prefill(m, p->prefill, n, feed, (const int *const *)model_ids, lens, logits,
                             err))
        goto done;

    for (int pos = 0; pos < max_new; pos++) {
        // Sample every live sequence (independently: each has its own sampler and uniforms).
#pragma omp parallel for schedule(static)
        for (int b = 0; b < n; b++) {
            if (seq[b].t.stop) continue;
            pick_next(&seq[b], &smp[b], p, logits + (size_t)b * V, V, eot, pos, index[b],
                      &picked[b], &lp[b]);
        }
        int live = 0;
        for (int b = 0; b < n; b++) {
            if (seq[b].t.stop) continue;
            accept_token(&seq[b], bpe, p, eot, kvT, picked[b], lp[b]);
            if (!seq[b].t.stop) live++;
        }
        if (!live) break;
        // Finished sequences are fed a dummy token into an emptied slot (their cache is no
        // longer needed), so they never overflow the cache while others go on.
        for (int b = 0; b < n; b++) {
            feed[b] = seq[b].t.stop ? 0 : seq[b].next;
            if (seq[b].t.stop) m->kv_pos[b] = 0;
        }
        if (elm_gpt2_decode_step(m, feed, logits, err)) goto done;
    }
    for (int b = 0; b < n; b++) {
        if (!seq[b].t.stop) seq[b].t.stop = "max_tokens";
        if (strcmp(seq[b].t.stop, "oom") == 0 || finish_seq(&seq[b], p, &out[b])) {
            elm_err(err, "out of memory");
            goto done;
        }
    }
    rc = 0;
done:
    if (rc) {
        for (int b = 0; b < n; b++) elm_gen_text_free(&out[b]);
    }
    for (int b = 0; model_ids && b < n; b++) free(model_ids[b]);
    free(model_ids);
    free(logits);
    free(feed);
    free(picked);
    free(lp);
    free(lens);
    for (int b = 0; smp && b < n; b++) elm_sampler_free(&smp[b]);
    free(smp);
    free_seqs(seq, n);
    return rc;
}

// ---- `elm generate` -------------------------------------------------------------------------

int elm_generate_params(const ElmRun *run, ElmGenParams *p, ElmError *err) {
    const ElmConfig *c = &run->cfg;
    memset(p, 0, sizeof *p);
    p->sample.temperature = (float)elm_cfg_float(c, "generate.temperature");
    p->sample.top_k = (int)elm_cfg_int(c, "generate.top_k");
    p->sample.top_p = (float)elm_cfg_float(c, "generate.top_p");
    p->sample.repetition_penalty = (float)elm_cfg_float(c, "generate.repetition_penalty");
    p->sample.no_repeat_ngram = (int)elm_cfg_int(c, "generate.no_repeat_ngram");
    long long seed = elm_cfg_int(c, "generate.seed");
    p->seed = seed < 0 ? run->seed : (uint64_t)seed;
    elm_generate_set_mode(run, p,
                          elm_cfg_enum(c, "generate.mode") == 1 ? ELM_GEN_STORY : ELM_GEN_TWEET);
    p->prefill =
        elm_cfg_enum(c, "generate.prefill") == 1 ? ELM_GEN_PREFILL_SERIAL : ELM_GEN_PREFILL_BATCHED;
    (void)err;
    return 0;
}

void elm_generate_set_mode(const ElmRun *run, ElmGenParams *p, ElmGenMode mode) {
    const ElmConfig *c = &run->cfg;
    int story = mode == ELM_GEN_STORY;
    p->mode = mode;
    p->max_new_tokens =
        (int)elm_cfg_int(c, story ? "generate.story_max_new_tokens" : "generate.max_new_tokens");
    p->max_chars = (int)elm_cfg_int(c, story ? "generate.story_max_chars" : "generate.max_chars");
    if (p->max_new_tokens == 0) p->max_new_tokens = story ? 512 : 96;
    if (p->max_chars == 0) p->max_chars = story ? 2000 : 280;
}

int elm_generate_checkpoint_dir(const ElmRun *run, char *out, size_t cap, ElmError *err) {
    if (elm_cfg_path(&run->cfg, "generate.checkpoint", out, cap) == 0) {
        if (!elm_is_dir(out)) return elm_err(err, "generate.checkpoint = %s: no such folder", out);
        return 0;
    }
    char root[4096];
    elm_checkpoint_root(run->dir, root, sizeof root);
    if (elm_checkpoint_latest(root, out, cap) < 0)
        return elm_err(err,
                       "no checkpoint under %s (run `elm train` first, or set "
                       "generate.checkpoint to a model folder)",
                       root);
    return 0;
}

static int has_pair(const char *dir, const char *a, const char *b, char *pa, char *pb, size_t cap) {
    snprintf(pa, cap, "%s/%s", dir, a);
    snprintf(pb, cap, "%s/%s", dir, b);
    return elm_file_exists(pa) && elm_file_exists(pb);
}

int elm_generate_vocab_dir(const ElmRun *run, char *out, size_t cap) {
    ElmError e;
    char a[4096], b[4096];
    if (elm_tokenize_vocab_dir(run, out, cap, &e) != 0) return -1;
    return has_pair(out, "encoder.json", "vocab.bpe", a, b, sizeof a) ? 0 : -1;
}

int elm_generate_bpe_files(const ElmRun *run, const char *model_dir, char *vocab, char *merges,
                           size_t cap, ElmError *err) {
    char dir[4096];
    if (model_dir && has_pair(model_dir, "vocab.json", "merges.txt", vocab, merges, cap)) return 0;
    if (model_dir && has_pair(model_dir, "encoder.json", "vocab.bpe", vocab, merges, cap)) return 0;
    if (run && elm_generate_vocab_dir(run, dir, sizeof dir) == 0 &&
        has_pair(dir, "encoder.json", "vocab.bpe", vocab, merges, cap))
        return 0;
    return elm_err(err,
                   "no tokenizer vocabulary: %s has no vocab.json + merges.txt and [tokenizer] "
                   "names none",
                   model_dir ? model_dir : "the model folder");
}

ElmBpe *elm_generate_load_bpe(const ElmRun *run, const char *model_dir, ElmError *err) {
    char a[4096], b[4096];
    if (elm_generate_bpe_files(run, model_dir, a, b, sizeof a, err)) return NULL;
    return elm_bpe_load(a, b, err);
}

// ---- prompts --------------------------------------------------------------------------------

int elm_generate_prompts_add(ElmGenPrompts *pr, const char *text, const char *where,
                             ElmError *err) {
    if (pr->n == pr->cap) {
        int cap = pr->cap ? pr->cap * 2 : 16;
        char **t = elm_realloc(pr->text, sizeof *t * (size_t)cap, err);
        if (!t) return -1;
        pr->text = t;
        char **w = elm_realloc(pr->where, sizeof *w * (size_t)cap, err);
        if (!w) return -1;
        pr->where = w;
        pr->cap = cap;
    }
    char *a = strdup(text), *b = strdup(where);
    if (!a || !b) {
        free(a), free(b);
        return elm_err(err, "out of memory");
    }
    pr->text[pr->n] = a, pr->where[pr->n] = b;
    pr->n++;
    return 0;
}

void elm_generate_prompts_free(ElmGenPrompts *pr) {
    for (int i = 0; i < pr->n; i++) free(pr->text[i]), free(pr->where[i]);
    free(pr->text);
    free(pr->where);
    memset(pr, 0, sizeof *pr);
}

// The non-empty lines of the prompts file, each named "<path> line N".
static int add_file_prompts(ElmGenPrompts *pr, const char *path, ElmError *err) {
    char *data = NULL;
    size_t n_data = 0;
    if (elm_read_file(path, &data, &n_data, err)) return -1;
    if (memchr(data, '\0', n_data)) {
        free(data);
        return elm_err(err, "%s: contains a NUL byte", path);
    }
    int rc = 0, line = 0;
    for (char *p = data; rc == 0 && p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        size_t len = strlen(p);
        line++;
        if (len && p[len - 1] == '\r') p[--len] = '\0';
        char where[4200];
        snprintf(where, sizeof where, "%s line %d", path, line);
        if (len) rc = elm_generate_prompts_add(pr, p, where, err);
        p = nl ? nl + 1 : NULL;
    }
    free(data);
    return rc;
}

int elm_generate_load_prompts(const ElmRun *run, ElmGenPrompts *out, ElmError *err) {
    memset(out, 0, sizeof *out);
    char **items = NULL;
    int n_items = elm_cfg_list(&run->cfg, "generate.prompts", &items);
    for (int i = 0; i < n_items; i++)
        if (elm_generate_prompts_add(out, items[i], "generate.prompts", err)) goto fail;
    char path[4096];
    if (elm_cfg_path(&run->cfg, "generate.prompts_file", path, sizeof path) == 0 &&
        add_file_prompts(out, path, err))
        goto fail;
    return 0;
fail:
    elm_generate_prompts_free(out);
    return -1;
}

int elm_generate_check_prompts(const ElmGenPrompts *pr, const ElmBpe *bpe, const ElmGenParams *p,
                               int n_ctx, ElmError *err) {
    const int eot = bpe ? elm_bpe_eot(bpe) : -1;
    size_t cap = 16;
    int32_t *ids = elm_malloc(sizeof(int32_t) * cap, err);
    if (!ids) return -1;
    int rc = 0;
    for (int i = 0; i < pr->n && rc == 0; i++) {
        const char *t = pr->text[i];
        size_t len = strlen(t), n_ids = 0, chars = elm_text_chars(t, len);
        if (eot >= 0) ids[n_ids++] = eot; // the model's context starts at <|endoftext|>
        if (len && !bpe)
            rc = elm_err(err, "prompt %d (%s) needs a tokenizer", i + 1, pr->where[i]);
        else if (len && elm_bpe_encode(bpe, t, len, 0, &ids, &n_ids, &cap, err))
            rc = -1;
        else if ((int)n_ids >= n_ctx)
            rc = elm_err(err, "prompt %d (%s) has %zu tokens; the model's context holds %d", i + 1,
                         pr->where[i], n_ids - (eot >= 0 ? 1u : 0u), n_ctx);
        else if (chars > (size_t)p->max_chars)
            rc = elm_err(err, "prompt %d (%s) has %zu characters, more than max_chars %d", i + 1,
                         pr->where[i], chars, p->max_chars);
    }
    free(ids);
    return rc;
}

static int write_line(FILE *f, const char *prompt, const ElmGenText *t, uint64_t index,
                      uint64_t seed) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return -1;
    cJSON_AddNumberToObject(o, "index", (double)index);
    cJSON_AddNumberToObject(o, "seed", (double)seed);
    char *pr = elm_text_sanitize(prompt, strlen(prompt)); // JSON strings must be UTF-8
    if (!pr) {
        cJSON_Delete(o);
        return -1;
    }
    cJSON_AddStringToObject(o, "prompt", pr);
    free(pr);
    cJSON_AddStringToObject(o, "text", t->text);
    cJSON_AddNumberToObject(o, "tokens", t->n_tokens);
    cJSON_AddNumberToObject(o, "mean_logprob", t->mean_logprob);
    cJSON_AddStringToObject(o, "stop", t->stop);
    if (t->account) cJSON_AddStringToObject(o, "account", t->account);
    if (t->keywords) cJSON_AddStringToObject(o, "keywords", t->keywords);
    if (t->prior_account) cJSON_AddStringToObject(o, "prior_account", t->prior_account);
    if (t->topic) cJSON_AddStringToObject(o, "topic", t->topic);
    if (t->prior_topic) cJSON_AddStringToObject(o, "prior_topic", t->prior_topic);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) return -1;
    int bad = fputs(s, f) < 0 || fputc('\n', f) == EOF;
    free(s);
    return bad ? -1 : 0;
}

// ---- shared with gen_device.c (the GPU run writes the same prompts and lines) --------------

int elm_generate_write_line(FILE *f, const char *prompt, const ElmGenText *t, uint64_t index,
                            uint64_t seed) {
    return write_line(f, prompt, t, index, seed);
}
