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
    ElmGenSeq t;   // its text (tok_end and logprob hold max_new_tokens) and its stop
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
    Prompt *pr = elm_calloc((size_t)n, sizeof *pr, err);
    if (!pr) return NULL;
    for (int i = 0; i < n; i++) {
        const char *text = job->n_prompts > 0 && job->prompts[i] ? job->prompts[i] : "";
        size_t cap = 16, n_ids = 0;
        int32_t *ids = elm_malloc(sizeof(int32_t) * cap, err);
        if (!ids) goto fail;
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
    s->t.text.len = 0;
    elm_buf_append(&s->t.text, text, strlen(text));
    if (s->t.text.oom) return elm_err(err, "out of memory");
    s->t.prompt_bytes = s->t.text.len;
    s->t.n_chars = p->chars;
    s->t.model_len = p->n;
    s->t.n_new = 0;
    s->t.stop = NULL;
    return be->start(be->self, slot, job->first_index + (uint64_t)req, p->ids, p->n, p->skip, err);
}

// The cut and the mean log-probability of a finished slot.
static int finish(const ElmGenParams *p, const Slot *s, ElmGenText *out) {
    return elm_gen_finish(p, s->t.text.data, s->t.text.len, s->t.prompt_bytes, s->t.tok_end,
                          s->t.logprob, s->t.n_new, s->t.stop, out);
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

// The scheduler's state: the prompts, the slots, one step's per-slot arrays (S each) and the
// finished texts held for in-order output.
typedef struct Sched {
    Prompt *pr;
    int n_pr, S;
    Slot *slot;
    uint8_t *live, *cont;
    int *pos;
    int32_t *tok;
    double *lp;
    Held held;
} Sched;

// Allocates S idle slots of max_new_tokens each (r->pr holds the prompts).
static int sched_open(Sched *r, const ElmBatchJob *job, int S, ElmError *err) {
    const int max_new = job->params->max_new_tokens;
    r->S = S;
    r->slot = elm_calloc((size_t)S, sizeof *r->slot, err);
    r->live = elm_calloc((size_t)S, 1, err), r->cont = elm_calloc((size_t)S, 1, err);
    r->pos = elm_calloc((size_t)S, sizeof *r->pos, err);
    r->tok = elm_calloc((size_t)S, sizeof *r->tok, err);
    r->lp = elm_calloc((size_t)S, sizeof *r->lp, err);
    if (!r->slot || !r->live || !r->cont || !r->pos || !r->tok || !r->lp) return -1;
    for (int s = 0; s < S; s++) {
        r->slot[s].req = -1;
        r->slot[s].t.tok_end = elm_malloc(sizeof(size_t) * (size_t)max_new, err);
        r->slot[s].t.logprob = elm_malloc(sizeof(double) * (size_t)max_new, err);
        if (!r->slot[s].t.tok_end || !r->slot[s].t.logprob) return -1;
    }
    return 0;
}

static void sched_close(Sched *r) {
    Held *h = &r->held;
    for (long long i = 0; i < h->cap; i++)
        if (h->have[i]) elm_gen_text_free(&h->text[i]);
    free(h->text);
    free(h->have);
    for (int s = 0; r->slot && s < r->S; s++) {
        elm_buf_free(&r->slot[s].t.text);
        free(r->slot[s].t.tok_end);
        free(r->slot[s].t.logprob);
    }
    free(r->slot);
    free(r->live);
    free(r->cont);
    free(r->pos);
    free(r->tok);
    free(r->lp);
    free_prompts(r->pr, r->n_pr);
}

// Takes each live slot's sampled token; a slot that stops is cut into the held texts and goes
// idle (cont[s] = 0), the others go on (cont[s] = 1).
static int take_tokens(const ElmBatchJob *job, Sched *r, int cap, int eot, ElmBatchStats *st,
                       ElmError *err) {
    const ElmGenParams *p = job->params;
    Held *held = &r->held;
    for (int s = 0; s < r->S; s++) {
        r->cont[s] = 0;
        if (!r->live[s]) continue;
        Slot *sl = &r->slot[s];
        elm_generate_stop(&sl->t, job->bpe, p, eot, cap, r->tok[s], r->lp[s]);
        if (r->tok[s] >= 0) st->new_tokens++;
        if (!sl->t.stop) {
            r->cont[s] = 1;
            continue;
        }
        if (strcmp(sl->t.stop, "oom") == 0 || held_reserve(held, sl->req))
            return elm_err(err, "out of memory");
        ElmGenText *t = &held->text[sl->req % held->cap];
        memset(t, 0, sizeof *t);
        if (finish(p, sl, t)) return elm_err(err, "out of memory");
        held->have[sl->req % held->cap] = 1;
        held->n++;
        if (held->n > st->max_held) st->max_held = held->n;
        st->requests++;
        sl->req = -1;
    }
    return 0;
}

// Slots that finished take the next requests now; the backend prefills them before the next
// sample, while the others advance by their sampled token. Counts the live slots.
static int refill(const ElmBatchJob *job, ElmBatchBackend *be, Sched *r, long long *next,
                  int *n_live, ElmError *err) {
    *n_live = 0;
    for (int s = 0; s < r->S; s++) {
        r->live[s] = r->cont[s];
        if (!r->cont[s] && r->slot[s].req < 0 && *next < job->count) {
            if (begin(job, be, r->pr, r->n_pr, &r->slot[s], s, (*next)++, err)) return -1;
            r->live[s] = 1;
        }
        *n_live += r->live[s];
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
    int cap = 0, rc = -1;
    const int S = be->slots, eot = job->bpe ? elm_bpe_eot(job->bpe) : -1;
    if (elm_batch_capacity(job, &cap, err)) return -1;
    Sched r = {0};
    if (!(r.pr = encode_prompts(job, &r.n_pr, err))) return -1;
    if (sched_open(&r, job, S, err)) goto done;
    // The first requests fill the slots.
    long long next = 0;
    int n_live = 0;
    for (int s = 0; s < S && next < job->count; s++, n_live++) {
        if (begin(job, be, r.pr, r.n_pr, &r.slot[s], s, next++, err)) goto done;
        r.live[s] = 1;
    }
    // Each step: sample every live slot, take the tokens, emit what is in order, refill.
    while (n_live > 0) {
        for (int s = 0; s < S; s++) r.pos[s] = r.slot[s].t.n_new;
        if (be->sample(be->self, r.live, r.pos, r.tok, r.lp, err)) goto done;
        st.steps++;
        st.busy += n_live;
        st.total += S;
        if (take_tokens(job, &r, cap, eot, &st, err) || held_flush(job, &r.held, err) ||
            refill(job, be, &r, &next, &n_live, err))
            goto done;
        if (n_live > 0 && be->advance(be->self, r.cont, r.tok, err)) goto done;
    }
    if (r.held.n != 0 || r.held.emitted != job->count) {
        elm_err(err, "batcher: %lld of %lld texts emitted", r.held.emitted, job->count);
        goto done;
    }
    rc = 0;
done:
    sched_close(&r);
    if (stats) *stats = st;
    return rc;
}
