// steer.c — the keyword bonus of steer.h.
#include "engine/generate/steer.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void elm_steer_free(ElmSteer *s) {
    for (int i = 0; i < s->n_forms; i++) free(s->ids[i]);
    free(s->ids), free(s->len), free(s->spec);
    memset(s, 0, sizeof *s);
}

// Encodes one form of a keyword into s (a form already there is not added twice).
static int add_form(ElmSteer *s, const ElmBpe *bpe, const char *text, ElmError *err) {
    size_t cap = 8, n = 0;
    int32_t *ids = elm_malloc(sizeof *ids * cap, err);
    if (!ids || elm_bpe_encode(bpe, text, strlen(text), 0, &ids, &n, &cap, err)) {
        free(ids);
        return -1;
    }
    for (int i = 0; i < s->n_forms; i++)
        if (s->len[i] == (int)n && memcmp(s->ids[i], ids, n * sizeof *ids) == 0) n = 0;
    if (n == 0) {
        free(ids);
        return 0;
    }
    int32_t **a = elm_realloc(s->ids, sizeof *a * (size_t)(s->n_forms + 1), err);
    if (!a) return free(ids), -1;
    s->ids = a;
    int *l = elm_realloc(s->len, sizeof *l * (size_t)(s->n_forms + 1), err);
    if (!l) return free(ids), -1;
    s->len = l;
    s->ids[s->n_forms] = ids, s->len[s->n_forms++] = (int)n;
    return 0;
}

// The four forms of keyword w (trimmed, non-empty).
static int add_keyword(ElmSteer *s, const ElmBpe *bpe, const char *w, ElmError *err) {
    size_t n = strlen(w);
    char *buf = elm_malloc(n + 2, err);
    if (!buf) return -1;
    int forms = s->n_forms, rc = 0;
    for (int k = 0; k < 4 && rc == 0; k++) {
        buf[0] = ' ';
        memcpy(buf + 1, w, n + 1);
        if (k >= 2) buf[1] = (char)toupper((unsigned char)buf[1]);
        rc = add_form(s, bpe, k % 2 ? buf : buf + 1, err);
    }
    free(buf);
    if (rc == 0 && s->n_forms == forms)
        rc = elm_err(err, "generate.keywords: keyword \"%s\" encodes to no tokens", w);
    return rc;
}

int elm_steer_init(ElmSteer *s, const char *spec, float bonus, const ElmBpe *bpe, ElmError *err) {
    memset(s, 0, sizeof *s);
    s->bonus = bonus;
    if (!(s->spec = strdup(spec ? spec : ""))) return elm_err(err, "out of memory");
    char *copy = strdup(s->spec), *p = copy;
    if (!copy) return elm_err(err, "out of memory");
    int rc = 0, blank = 1;
    for (const char *q = s->spec; *q; q++) blank &= isspace((unsigned char)*q) != 0;
    for (char *e; !blank && rc == 0 && p; p = e) {
        e = strchr(p, ',');
        if (e) *e++ = '\0';
        while (isspace((unsigned char)*p)) p++;
        size_t n = strlen(p);
        while (n && isspace((unsigned char)p[n - 1])) p[--n] = '\0';
        if (!n)
            rc = elm_err(err, "generate.keywords = %s: an empty keyword encodes to nothing",
                         s->spec);
        else if (!bpe)
            rc = elm_err(err, "generate.keywords: keyword steering needs a tokenizer");
        else if ((rc = add_keyword(s, bpe, p, err)) == 0)
            s->n_keywords++;
    }
    free(copy);
    if (rc) elm_steer_free(s);
    return rc;
}

// Whether the first j tokens of form f are the last j of ctx.
static int in_progress(const ElmSteer *s, int f, int j, const int32_t *ctx, int n_ctx) {
    if (j > n_ctx) return 0;
    return memcmp(ctx + n_ctx - j, s->ids[f], (size_t)j * sizeof *ctx) == 0;
}

// Calls back for every (form, j) in progress; stops early when want >= 0 is found.
static int next_tokens(const ElmSteer *s, const int32_t *ctx, int n_ctx, int32_t want,
                       float *logits, int vocab) {
    int found = 0;
    for (int f = 0; f < s->n_forms && !found; f++)
        for (int j = 0; j < s->len[f] && !found; j++) {
            int32_t t = s->ids[f][j];
            if (!in_progress(s, f, j, ctx, n_ctx) || t < 0 || t >= vocab) continue;
            if (want >= 0) {
                found = t == want;
            } else {
                // Once per token: several forms may ask for the same one.
                int dup = 0;
                for (int g = 0; g <= f && !dup; g++)
                    for (int i = 0; i < (g == f ? j : s->len[g]) && !dup; i++)
                        dup = s->ids[g][i] == t && in_progress(s, g, i, ctx, n_ctx);
                if (!dup) logits[t] += s->bonus;
            }
        }
    return found;
}

void elm_steer_apply(const ElmSteer *s, float *logits, int vocab, const int32_t *ctx, int n_ctx) {
    if (s && s->n_forms && s->bonus != 0) next_tokens(s, ctx, n_ctx, -1, logits, vocab);
}

float elm_steer_bonus(const ElmSteer *s, const int32_t *ctx, int n_ctx, int32_t tok) {
    if (!s || !s->n_forms || s->bonus == 0 || tok < 0) return 0;
    return next_tokens(s, ctx, n_ctx, tok, NULL, 1 << 30) ? s->bonus : 0;
}
