// topwords.c — word counts per side, ranked; exclusive words are set differences of the top lists.
#include "eval/topwords.h"
#include "eval/textfeat.h"

#include <stdlib.h>
#include <string.h>

typedef struct Ranked {
    int id;
    long long c;
} Ranked;

static int cmp_ranked(const void *a, const void *b) {
    const Ranked *x = a, *y = b;
    if (x->c != y->c) return x->c < y->c ? 1 : -1;
    return x->id - y->id;
}

void elm_topwords_free(ElmTopWords *tw) {
    elm_termmap_free(&tw->terms);
    for (int s = 0; s < 2; s++) free(tw->top[s]), free(tw->only[s]);
    memset(tw, 0, sizeof *tw);
}

int elm_topwords(ElmTopWords *tw, const char *const *docs, const int *labels, int n_docs,
                 int stop_words, int top_n, ElmError *err) {
    memset(tw, 0, sizeof *tw);
    ElmTokens tok;
    if (elm_termmap_init(&tw->terms, err) || elm_tokens_init(&tok, err)) return -1;
    void *loc = elm_textfeat_locale();
    long long *cnt[2] = {NULL, NULL};
    int cap = 0, rc = -1;
    for (int d = 0; d < n_docs; d++) {
        int nt = elm_tokenize(&tok, docs[d], stop_words, loc, err);
        if (nt < 0) goto done;
        int side = labels[d] == 1;
        for (int i = 0; i < nt; i++) {
            int id = elm_termmap_add(&tw->terms, tok.tok[i], strlen(tok.tok[i]), err);
            if (id < 0) goto done;
            if (id >= cap) {
                int nc = cap ? cap * 2 : 4096;
                for (int s = 0; s < 2; s++) {
                    long long *p = realloc(cnt[s], (size_t)nc * sizeof *p);
                    if (!p) {
                        elm_err(err, "out of memory counting words");
                        goto done;
                    }
                    memset(p + cap, 0, (size_t)(nc - cap) * sizeof *p);
                    cnt[s] = p;
                }
                cap = nc;
            }
            cnt[side][id]++;
            tw->total[side]++;
        }
    }
    int V = tw->terms.n;
    Ranked *r = malloc((size_t)(V ? V : 1) * sizeof *r);
    if (!r) {
        elm_err(err, "out of memory ranking words");
        goto done;
    }
    for (int s = 0; s < 2; s++) {
        int m = 0;
        for (int w = 0; w < V; w++)
            if (cnt[s][w] > 0) r[m].id = w, r[m++].c = cnt[s][w];
        qsort(r, (size_t)m, sizeof *r, cmp_ranked);
        tw->n_top[s] = m < top_n ? m : top_n;
        tw->top[s] = elm_calloc((size_t)(tw->n_top[s] ? tw->n_top[s] : 1), sizeof(ElmTopWord), err);
        if (!tw->top[s]) {
            free(r);
            goto done;
        }
        for (int i = 0; i < tw->n_top[s]; i++) {
            ElmTopWord *t = &tw->top[s][i];
            int w = r[i].id;
            t->word = tw->terms.terms[w];
            for (int q = 0; q < 2; q++) {
                t->count[q] = cnt[q][w];
                t->freq[q] = tw->total[q] ? (double)cnt[q][w] / tw->total[q] : 0;
            }
        }
    }
    free(r);
    for (int s = 0; s < 2; s++) {
        tw->only[s] =
            elm_calloc((size_t)(tw->n_top[s] ? tw->n_top[s] : 1), sizeof(ElmTopWord), err);
        if (!tw->only[s]) goto done;
        for (int i = 0; i < tw->n_top[s]; i++) {
            int shared = 0;
            for (int j = 0; j < tw->n_top[!s] && !shared; j++)
                shared = !strcmp(tw->top[s][i].word, tw->top[!s][j].word);
            if (!shared) tw->only[s][tw->n_only[s]++] = tw->top[s][i];
        }
    }
    rc = 0;
done:
    free(cnt[0]), free(cnt[1]);
    elm_tokens_free(&tok);
    elm_textfeat_locale_free(loc);
    if (rc) elm_topwords_free(tw);
    return rc;
}
