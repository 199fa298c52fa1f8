// batcher.c — the continuous-batching scheduler (see batcher.h): slots, the text each slot
// accumulates, its stop rules and cut (those of generate.c), and the in-order output.
#include "engine/generate/batcher.h"
#include "engine/generate/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// One encoded prompt: the model's ids ([<|endoftext|>] + prompt ids) and its character count.
typedef struct Prompt {
    int32_t *ids;
    int n, skip;
    size_t chars;
} Prompt;

// What one slot accumulates for its current request.
typedef struct Slot {
    long long req; // request offset (index = first_index + req); -1 = idle
    int prompt;    // which Prompt
    int model_len;
    char *bytes;
    size_t n_bytes, cap_bytes, prompt_bytes, n_chars;
    size_t *tok_end; // (max_new) byte end of each new token
    double *logprob; // (max_new)
    int n_new;
    const char *stop;
} Slot;

// Finished texts not yet emitted: a ring over request offsets [emitted, emitted + cap).
typedef struct Held {
    ElmGenText *text;
    uint8_t *have;
    long long cap, emitted, n;
} Held;

static void free_prompts(Prompt *pr, int n) {
    for (int i = 0; pr && i < n; i++) free(pr[i].ids);
    free(pr);
}

// Encodes every prompt once (a job cycles through them), as generate.c's encode_prompt does.
static Prompt *encode_prompts(const ElmBatchJob *job, int *n_out, ElmError *err) {
    int n = job->n_prompts > 0 ? job->n_prompts : 1;
    int eot = job->bpe ? elm_bpe_eot(job->bpe) : -1;
    Prompt *pr = calloc((size_t)n, sizeof *pr);
    if (!pr) {
        elm_err(err, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        const char *text = job->n_prompts > 0 && job->prompts[i] ? job->prompts[i] : "";
        size_t cap = 16, n_ids = 0;
        int32_t *ids = malloc(sizeof(int32_t) * cap);
        if (!ids) goto oom;
        pr[i].ids = ids;
        if (eot >= 0) ids[n_ids++] = eot;
        if (text[0] && !job->bpe) {
            elm_err(err, "a prompt needs a tokenizer");
            goto fail;
        }
        if (text[0] &&
            elm_bpe_encode(job->bpe, text, strlen(text), 0, &pr[i].ids, &n_ids, &cap, err))
            goto fail;
        if (n_ids == 0) {
            elm_err(err, "unconditional sampling needs <|endoftext|> in the vocabulary");
            goto fail;
        }
        pr[i].skip = eot >= 0 ? 1 : 0;
        if ((int)n_ids >= job->n_ctx) {
            elm_err(err, "prompt %d has %zu tokens; the model's context holds %d", i + 1,
                    n_ids - (size_t)pr[i].skip, job->n_ctx);
            goto fail;
        }
        pr[i].n = (int)n_ids;
        pr[i].chars = elm_text_chars(text, strlen(text));
        if (pr[i].chars > (size_t)job->params->max_chars) {
            elm_err(err, "prompt %d has %zu characters, more than max_chars %d", i + 1, pr[i].chars,
                    job->params->max_chars);
            goto fail;
        }
    }
    *n_out = n;
    return pr;
oom:
    elm_err(err, "out of memory");
fail:
    free_prompts(pr, n);
    return NULL;
}

int elm_batch_capacity(const ElmBatchJob *job, int *cap, ElmError *err) {
    int n = 0;
    Prompt *pr = encode_prompts(job, &n, err);
    if (!pr) return -1;
    int longest = 0;
    for (int i = 0; i < n; i++)
        if (pr[i].n > longest) longest = pr[i].n;
    free_prompts(pr, n);
    long c = (long)longest + job->params->max_new_tokens;
    *cap = c < job->n_ctx ? (int)c : job->n_ctx;
    return 0;
}

static const char *prompt_text(const ElmBatchJob *job, int i) {
    return job->n_prompts > 0 && job->prompts[i] ? job->prompts[i] : "";
}

// Slot s takes request `req`: its text starts as the prompt; the backend prefills.
static int begin(const ElmBatchJob *job, ElmBatchBackend *be, const Prompt *pr, int n_pr, Slot *s,
                 int slot, long long req, ElmError *err) {
    s->req = req;
    s->prompt = (int)(req % n_pr);
    const Prompt *p = &pr[s->prompt];
    const char *text = prompt_text(job, s->prompt);
    s->n_bytes = 0;
    if (elm_text_append(&s->bytes, &s->n_bytes, &s->cap_bytes, text, strlen(text)))
        return elm_err(err, "out of memory");
    s->prompt_bytes = s->n_bytes;
    s->n_chars = p->chars;
    s->model_len = p->n;
    s->n_new = 0;
    s->stop = NULL;
    return be->start(be->self, slot, job->first_index + (uint64_t)req, p->ids, p->n, p->skip, err);
}

// Takes the token sampled at position s->n_new and decides whether the sequence goes on
// (generate.c's accept_token: the same order of stop rules).
static void accept(const ElmBatchJob *job, Slot *s, int cap, int eot, int32_t tok, double lp) {
    const ElmGenParams *p = job->params;
    if (tok < 0) {
        s->stop = "banned";
        return;
    }
    if (tok == eot) {
        s->stop = "eot";
        return;
    }
    size_t len = 0;
    char idbuf[24];
    const char *b = job->bpe ? elm_bpe_token_bytes(job->bpe, tok, &len) : NULL;
    if (!b) {
        len = (size_t)snprintf(idbuf, sizeof idbuf, "%s<%d>", s->n_bytes ? " " : "", (int)tok);
        b = idbuf;
    }
    if (elm_text_append(&s->bytes, &s->n_bytes, &s->cap_bytes, b, len)) {
        s->stop = "oom";
        return;
    }
    s->n_chars = elm_text_chars(s->bytes, s->n_bytes);
    s->tok_end[s->n_new] = s->n_bytes;
    s->logprob[s->n_new] = lp;
    s->n_new++;
    s->model_len++;
    if (s->n_chars > (size_t)p->max_chars)
        s->stop = "max_chars";
    else if (s->n_new >= p->max_new_tokens)
        s->stop = "max_tokens";
    else if (s->model_len > cap)
        s->stop = "context";
}

// The cut and the mean log-probability of a finished slot.
static int finish(const ElmGenParams *p, const Slot *s, ElmGenText *out) {
    return elm_gen_finish(p, s->bytes, s->n_bytes, s->prompt_bytes, s->tok_end, s->logprob,
                          s->n_new, s->stop, out);
}

// Room in the ring for offset `req` (grows it, keeping each held text at its offset).
static int held_reserve(Held *h, long long req) {
    if (req - h->emitted < h->cap) return 0;
    long long cap = h->cap ? h->cap : 64;
    while (req - h->emitted >= cap) cap *= 2;
    ElmGenText *t = calloc((size_t)cap, sizeof *t);
    uint8_t *have = calloc((size_t)cap, 1);
    if (!t || !have) {
        free(t);
        free(have);
        return -1;
    }
    for (long long r = h->emitted; r < h->emitted + h->cap; r++)
        if (h->have[r % h->cap]) {
            t[r % cap] = h->text[r % h->cap];
            have[r % cap] = 1;
        }
    free(h->text);
    free(h->have);
    h->text = t, h->have = have, h->cap = cap;
    return 0;
}

// Emits every held text whose predecessors have all been emitted.
static int held_flush(const ElmBatchJob *job, Held *h, ElmError *err) {
    while (h->cap && h->have[h->emitted % h->cap]) {
        long long r = h->emitted;
        ElmGenText *t = &h->text[r % h->cap];
        int n_pr = job->n_prompts > 0 ? job->n_prompts : 1;
        int rc = job->emit ? job->emit(job->user, job->first_index + (uint64_t)r,
                                       prompt_text(job, (int)(r % n_pr)), t, err)
                           : 0;
        elm_gen_text_free(t);
        h->have[r % h->cap] = 0;
        h->emitted++;
        h->n--;
        if (rc) return -1;
    }
    return 0;
}

int elm_batch_run(const ElmBatchJob *job, ElmBatchBackend *be, ElmBatchStats *stats,
                  ElmError *err) {
    const ElmGenParams *p = job->params;
    ElmBatchStats st = {0};
    if (p->max_new_tokens <= 0 || p->max_chars <= 0)
        return elm_err(err, "max_new_tokens and max_chars must be positive");
    if (job->bpe && elm_bpe_vocab_size(job->bpe) > be->vocab)
        return elm_err(err, "the vocabulary has %d tokens but the model only %d",
                       elm_bpe_vocab_size(job->bpe), be->vocab);
    int n_pr = 0, cap = 0, rc = -1;
    const int S = be->slots, eot = job->bpe ? elm_bpe_eot(job->bpe) : -1;
    if (elm_batch_capacity(job, &cap, err)) return -1;
    Prompt *pr = encode_prompts(job, &n_pr, err);
    if (!pr) return -1;
    Slot *slot = calloc((size_t)S, sizeof *slot);
    uint8_t *live = calloc((size_t)S, 1), *cont = calloc((size_t)S, 1);
    int *pos = calloc((size_t)S, sizeof *pos);
    int32_t *tok = calloc((size_t)S, sizeof *tok);
    double *lp = calloc((size_t)S, sizeof *lp);
    Held held = {0};
    if (!slot || !live || !cont || !pos || !tok || !lp) {
        elm_err(err, "out of memory");
        goto done;
    }
    for (int s = 0; s < S; s++) {
        slot[s].req = -1;
        slot[s].tok_end = malloc(sizeof(size_t) * (size_t)p->max_new_tokens);
        slot[s].logprob = malloc(sizeof(double) * (size_t)p->max_new_tokens);
        if (!slot[s].tok_end || !slot[s].logprob) {
            elm_err(err, "out of memory");
            goto done;
        }
    }
    long long next = 0;
    int n_live = 0;
    for (int s = 0; s < S && next < job->count; s++, n_live++) {
        if (begin(job, be, pr, n_pr, &slot[s], s, next++, err)) goto done;
        live[s] = 1;
    }
    while (n_live > 0) {
        for (int s = 0; s < S; s++) pos[s] = slot[s].n_new;
        if (be->sample(be->self, live, pos, tok, lp, err)) goto done;
        st.steps++;
        st.busy += n_live;
        st.total += S;
        for (int s = 0; s < S; s++) {
            cont[s] = 0;
            if (!live[s]) continue;
            Slot *sl = &slot[s];
            accept(job, sl, cap, eot, tok[s], lp[s]);
            if (tok[s] >= 0) st.new_tokens++;
            if (!sl->stop) {
                cont[s] = 1;
                continue;
            }
            if (strcmp(sl->stop, "oom") == 0 || held_reserve(&held, sl->req)) {
                elm_err(err, "out of memory");
                goto done;
            }
            ElmGenText *t = &held.text[sl->req % held.cap];
            memset(t, 0, sizeof *t);
            if (finish(p, sl, t)) {
                elm_err(err, "out of memory");
                goto done;
            }
            held.have[sl->req % held.cap] = 1;
            held.n++;
            if (held.n > st.max_held) st.max_held = held.n;
            st.requests++;
            sl->req = -1;
        }
        if (held_flush(job, &held, err)) goto done;
        // Slots that finished take the next requests now; the backend prefills them before
        // the next sample, while the others advance by their sampled token.
        n_live = 0;
        for (int s = 0; s < S; s++) {
            live[s] = cont[s];
            if (!cont[s] && slot[s].req < 0 && next < job->count) {
                if (begin(job, be, pr, n_pr, &slot[s], s, next++, err)) goto done;
                live[s] = 1;
            }
            n_live += live[s];
        }
        if (n_live > 0 && be->advance(be->self, cont, tok, err)) goto done;
    }
    if (held.n != 0 || held.emitted != job->count) {
        elm_err(err, "batcher: %lld of %lld texts emitted", held.emitted, job->count);
        goto done;
    }
    rc = 0;
done:
    for (long long i = 0; i < held.cap; i++)
        if (held.have[i]) elm_gen_text_free(&held.text[i]);
    free(held.text);
    free(held.have);
    for (int s = 0; slot && s < S; s++) {
        free(slot[s].bytes);
        free(slot[s].tok_end);
        free(slot[s].logprob);
    }
    free(slot);
    free(live);
    free(cont);
    free(pos);
    free(tok);
    free(lp);
    free_prompts(pr, n_pr);
    if (stats) *stats = st;
    return rc;
}
