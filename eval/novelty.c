// novelty.c — a suffix automaton over word ids (transitions in one open-addressing hash table)
// answers "longest common run" in time linear in the candidate; an n-gram hash set answers
// overlap.
#include "eval/novelty.h"
#include "engine/base/hash.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int len, link;
    int head; // first outgoing edge record (-1 = none), for cloning a state's edges
} SamState;

typedef struct {
    uint64_t key; // (state << 32 | symbol) + 1; 0 = empty
    int rec;      // index into the edge records
} Edge;

typedef struct {
    uint32_t sym;
    int to, next;
} EdgeRec;

struct ElmNovelty {
    int ngram;
    // word dictionary: open addressing over (hash -> id), words stored in one arena
    uint64_t *word_hash;
    uint32_t *word_id;
    size_t word_cap, n_words;
    // suffix automaton
    SamState *st;
    size_t n_st, cap_st;
    int last;
    Edge *edges; // hash index (state, symbol) -> record
    size_t n_edges, cap_edges;
    EdgeRec *recs;
    size_t cap_recs;
    uint32_t next_sep; // separator symbols, one per document boundary, never repeated
    // n-gram set
    uint64_t *grams;
    size_t n_grams, cap_grams;
};

static int grow_edges(ElmNovelty *nv) {
    size_t cap = nv->cap_edges ? nv->cap_edges * 2 : 1 << 16;
    Edge *e = calloc(cap, sizeof(Edge));
    if (!e) return -1;
    for (size_t i = 0; i < nv->cap_edges; i++) {
        if (!nv->edges[i].key) continue;
        size_t j = elm_hash_mix64(nv->edges[i].key) & (cap - 1);
        while (e[j].key) j = (j + 1) & (cap - 1);
        e[j] = nv->edges[i];
    }
    free(nv->edges);
    nv->edges = e, nv->cap_edges = cap;
    return 0;
}

static Edge *edge_slot(const ElmNovelty *nv, int state, uint32_t sym) {
    uint64_t key = (((uint64_t)state << 32) | sym) + 1;
    size_t j = elm_hash_mix64(key) & (nv->cap_edges - 1);
    while (nv->edges[j].key && nv->edges[j].key != key) j = (j + 1) & (nv->cap_edges - 1);
    return &nv->edges[j];
}

static int get_edge(const ElmNovelty *nv, int state, uint32_t sym) {
    Edge *e = edge_slot(nv, state, sym);
    return e->key ? nv->recs[e->rec].to : -1;
}

static int set_edge(ElmNovelty *nv, int state, uint32_t sym, int to) {
    if ((nv->n_edges + 1) * 2 > nv->cap_edges && grow_edges(nv)) return -1;
    Edge *e = edge_slot(nv, state, sym);
    if (e->key) {
        nv->recs[e->rec].to = to;
        return 0;
    }
    if (nv->n_edges == nv->cap_recs) {
        size_t cap = nv->cap_recs ? nv->cap_recs * 2 : 1 << 15;
        EdgeRec *r = realloc(nv->recs, cap * sizeof(EdgeRec));
        if (!r) return -1;
        nv->recs = r, nv->cap_recs = cap;
    }
    int rec = (int)nv->n_edges++;
    nv->recs[rec] = (EdgeRec){sym, to, nv->st[state].head};
    nv->st[state].head = rec;
    e->key = (((uint64_t)state << 32) | sym) + 1;
    e->rec = rec;
    return 0;
}

static int new_state(ElmNovelty *nv, int len, int link) {
    if (nv->n_st == nv->cap_st) {
        size_t cap = nv->cap_st ? nv->cap_st * 2 : 1024;
        SamState *s = realloc(nv->st, cap * sizeof(SamState));
        if (!s) return -1;
        nv->st = s, nv->cap_st = cap;
    }
    nv->st[nv->n_st].len = len;
    nv->st[nv->n_st].link = link;
    nv->st[nv->n_st].head = -1;
    return (int)nv->n_st++;
}

// Copies all outgoing edges of `from` to `to` (the suffix automaton's clone step).
static int clone_edges(ElmNovelty *nv, int from, int to) {
    for (int r = nv->st[from].head; r >= 0; r = nv->recs[r].next)
        if (set_edge(nv, to, nv->recs[r].sym, nv->recs[r].to)) return -1;
    return 0;
}

static int sam_extend(ElmNovelty *nv, uint32_t sym) {
    int cur = new_state(nv, nv->st[nv->last].len + 1, -1);
    if (cur < 0) return -1;
    int p = nv->last;
    while (p != -1 && get_edge(nv, p, sym) < 0) {
        if (set_edge(nv, p, sym, cur)) return -1;
        p = nv->st[p].link;
    }
    if (p == -1) {
        nv->st[cur].link = 0;
    } else {
        int q = get_edge(nv, p, sym);
        if (nv->st[p].len + 1 == nv->st[q].len) {
            nv->st[cur].link = q;
        } else {
            int c = new_state(nv, nv->st[p].len + 1, nv->st[q].link);
            if (c < 0 || clone_edges(nv, q, c)) return -1;
            while (p != -1 && get_edge(nv, p, sym) == q) {
                if (set_edge(nv, p, sym, c)) return -1;
                p = nv->st[p].link;
            }
            nv->st[q].link = c;
            nv->st[cur].link = c;
        }
    }
    nv->last = cur;
    return 0;
}

ElmNovelty *elm_novelty_new(int ngram, ElmError *err) {
    ElmNovelty *nv = elm_calloc(1, sizeof *nv, err);
    if (!nv) return NULL;
    nv->ngram = ngram < 1 ? 1 : ngram;
    nv->next_sep = 0xFFFFFFFEu;
    if (grow_edges(nv) || new_state(nv, 0, -1) < 0) {
        elm_novelty_free(nv);
        elm_err(err, "out of memory");
        return NULL;
    }
    nv->last = 0;
    return nv;
}

void elm_novelty_free(ElmNovelty *nv) {
    if (!nv) return;
    free(nv->word_hash), free(nv->word_id), free(nv->st), free(nv->edges), free(nv->grams);
    free(nv->recs);
    free(nv);
}

static uint32_t word_lookup(ElmNovelty *nv, uint64_t h) {
    if ((nv->n_words + 1) * 2 > nv->word_cap) {
        size_t cap = nv->word_cap ? nv->word_cap * 2 : 1 << 14;
        uint64_t *wh = calloc(cap, sizeof(uint64_t));
        uint32_t *wi = calloc(cap, sizeof(uint32_t));
        if (!wh || !wi) {
            free(wh), free(wi);
            return 0xFFFFFFF0u;
        }
        for (size_t i = 0; i < nv->word_cap; i++) {
            if (!nv->word_hash[i]) continue;
            size_t j = elm_hash_mix64(nv->word_hash[i]) & (cap - 1);
            while (wh[j]) j = (j + 1) & (cap - 1);
            wh[j] = nv->word_hash[i], wi[j] = nv->word_id[i];
        }
        free(nv->word_hash), free(nv->word_id);
        nv->word_hash = wh, nv->word_id = wi, nv->word_cap = cap;
    }
    h |= 1; // never 0 (the empty marker)
    size_t j = elm_hash_mix64(h) & (nv->word_cap - 1);
    while (nv->word_hash[j] && nv->word_hash[j] != h) j = (j + 1) & (nv->word_cap - 1);
    if (!nv->word_hash[j]) {
        nv->word_hash[j] = h;
        nv->word_id[j] = (uint32_t)nv->n_words++;
    }
    return nv->word_id[j];
}

int elm_novelty_words(ElmNovelty *nv, const char *text, uint32_t *ids, int cap) {
    int n = 0;
    const unsigned char *p = (const unsigned char *)text;
    while (*p && n < cap) {
        while (*p && !(isalnum(*p) || *p >= 0x80 || *p == '\'')) p++;
        if (!*p) break;
        uint64_t h = 0xcbf29ce484222325ULL;
        while (*p && (isalnum(*p) || *p >= 0x80 || *p == '\''))
            h = (h ^ (uint64_t)tolower(*p++)) * 0x100000001b3ULL;
        ids[n++] = word_lookup(nv, h);
    }
    return n;
}

static uint64_t gram_hash(const uint32_t *ids, int n) {
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < n; i++) h = elm_hash_mix64(h ^ ids[i]) + (uint64_t)i;
    return h | 1;
}

static int gram_insert(ElmNovelty *nv, uint64_t h) {
    if ((nv->n_grams + 1) * 2 > nv->cap_grams) {
        size_t cap = nv->cap_grams ? nv->cap_grams * 2 : 1 << 14;
        uint64_t *g = calloc(cap, sizeof(uint64_t));
        if (!g) return -1;
        for (size_t i = 0; i < nv->cap_grams; i++) {
            if (!nv->grams[i]) continue;
            size_t j = elm_hash_mix64(nv->grams[i]) & (cap - 1);
            while (g[j]) j = (j + 1) & (cap - 1);
            g[j] = nv->grams[i];
        }
        free(nv->grams);
        nv->grams = g, nv->cap_grams = cap;
    }
    size_t j = elm_hash_mix64(h) & (nv->cap_grams - 1);
    while (nv->grams[j] && nv->grams[j] != h) j = (j + 1) & (nv->cap_grams - 1);
    if (!nv->grams[j]) nv->grams[j] = h, nv->n_grams++;
    return 0;
}

static int gram_has(const ElmNovelty *nv, uint64_t h) {
    if (!nv->cap_grams) return 0;
    size_t j = elm_hash_mix64(h) & (nv->cap_grams - 1);
    while (nv->grams[j]) {
        if (nv->grams[j] == h) return 1;
        j = (j + 1) & (nv->cap_grams - 1);
    }
    return 0;
}

#define MAX_WORDS 4096

int elm_novelty_add(ElmNovelty *nv, const char *text, ElmError *err) {
    uint32_t ids[MAX_WORDS];
    int n = elm_novelty_words(nv, text, ids, MAX_WORDS);
    for (int i = 0; i < n; i++)
        if (sam_extend(nv, ids[i])) return elm_err(err, "out of memory (novelty index)");
    if (n && sam_extend(nv, nv->next_sep--)) return elm_err(err, "out of memory (novelty index)");
    for (int i = 0; i + nv->ngram <= n; i++)
        if (gram_insert(nv, gram_hash(ids + i, nv->ngram)))
            return elm_err(err, "out of memory (novelty index)");
    return 0;
}

ElmNoveltyScore elm_novelty_score(ElmNovelty *nv, const char *text) {
    uint32_t ids[MAX_WORDS];
    ElmNoveltyScore s = {0};
    s.words = elm_novelty_words(nv, text, ids, MAX_WORDS);
    int state = 0, len = 0;
    for (int i = 0; i < s.words; i++) {
        int to;
        while (state != 0 && (to = get_edge(nv, state, ids[i])) < 0) {
            state = nv->st[state].link;
            len = nv->st[state].len;
        }
        to = get_edge(nv, state, ids[i]);
        if (to >= 0)
            state = to, len++;
        else
            state = 0, len = 0;
        if (len > s.longest_run) s.longest_run = len;
    }
    int grams = s.words - nv->ngram + 1, hit = 0;
    for (int i = 0; i < grams; i++) hit += gram_has(nv, gram_hash(ids + i, nv->ngram));
    s.ngram_overlap = grams > 0 ? (double)hit / grams : 0;
    return s;
}
