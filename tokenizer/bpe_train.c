// bpe_train.c — byte-level BPE training (see bpe_train.h).
//
// 1. Pre-tokenise every document with GPT-2's pattern and count distinct pieces ("words"), on
//    all threads, one hash table per thread, merged at the end.
// 2. Each word becomes a sequence of byte-token ids. Pair counts (weighted by word counts) and,
//    per pair, the list of words holding it are built once.
// 3. Merge loop: pop the most frequent pair from a max-heap; a popped count that is stale (pair
//    counts only fall, except for pairs with the new token) is re-pushed with its current value.
//    Only the words listed for the pair are rewritten, and only the pairs around each merge
//    change count, so one merge costs what it touches, not a recount of the corpus.
#include "tokenizer/bpe_train.h"
#include "engine/base/hash.h"
#include "tokenizer/byteunicode.h"
#include "tokenizer/pretok.h"
#include "engine/base/fsutil.h"
#include "engine/base/progress.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static uint64_t hash_bytes(const void *data, size_t n) {
    return elm_hash_key(0xCBF29CE484222325ull ^ n, data, n);
}

// ---- a bytes -> (count or id) hash table with its own key arena ----

typedef struct BytesMap {
    uint64_t *hash;
    uint64_t *koff; // key offset in arena
    uint32_t *klen;
    int64_t *val;
    size_t n, mask;
    char *arena;
    size_t used, cap;
} BytesMap;

static int bm_init(BytesMap *m, size_t slots) {
    memset(m, 0, sizeof *m);
    m->mask = slots - 1;
    m->hash = calloc(slots, sizeof *m->hash);
    m->koff = malloc(slots * sizeof *m->koff);
    m->klen = calloc(slots, sizeof *m->klen);
    m->val = calloc(slots, sizeof *m->val);
    m->cap = 1 << 16;
    m->arena = malloc(m->cap);
    return m->hash && m->koff && m->klen && m->val && m->arena ? 0 : -1;
}

static void bm_free(BytesMap *m) {
    free(m->hash), free(m->koff), free(m->klen), free(m->val), free(m->arena);
    memset(m, 0, sizeof *m);
}

// Slot of key (hash h), or the empty slot where it would go. Hash 0 marks empty slots, so the
// stored hash is forced odd.
static size_t bm_slot(const BytesMap *m, const char *p, size_t n, uint64_t h) {
    for (size_t s = h & m->mask;; s = (s + 1) & m->mask) {
        if (!m->hash[s]) return s;
        if (m->hash[s] == h && m->klen[s] == n && memcmp(m->arena + m->koff[s], p, n) == 0)
            return s;
    }
}

static int bm_grow(BytesMap *m) {
    BytesMap g = *m;
    size_t slots = 2 * (m->mask + 1);
    g.mask = slots - 1;
    g.hash = calloc(slots, sizeof *g.hash);
    g.koff = malloc(slots * sizeof *g.koff);
    g.klen = calloc(slots, sizeof *g.klen);
    g.val = calloc(slots, sizeof *g.val);
    if (!g.hash || !g.koff || !g.klen || !g.val) {
        free(g.hash), free(g.koff), free(g.klen), free(g.val);
        return -1;
    }
    for (size_t s = 0; s <= m->mask; s++) {
        if (!m->hash[s]) continue;
        size_t t = m->hash[s] & g.mask;
        while (g.hash[t]) t = (t + 1) & g.mask;
        g.hash[t] = m->hash[s], g.koff[t] = m->koff[s], g.klen[t] = m->klen[s];
        g.val[t] = m->val[s];
    }
    free(m->hash), free(m->koff), free(m->klen), free(m->val);
    *m = g;
    return 0;
}

// Adds v to key's value (inserting it at 0 first); returns the slot or -1 when out of memory.
static long bm_add(BytesMap *m, const char *p, size_t n, int64_t v) {
    uint64_t h = hash_bytes(p, n) | 1;
    size_t s = bm_slot(m, p, n, h);
    if (!m->hash[s]) {
        if (2 * (m->n + 1) > m->mask + 1) {
            if (bm_grow(m)) return -1;
            s = bm_slot(m, p, n, h);
        }
        if (m->used + n > m->cap) {
            size_t c = m->cap;
            while (c < m->used + n) c *= 2;
            char *a = realloc(m->arena, c);
            if (!a) return -1;
            m->arena = a, m->cap = c;
        }
        memcpy(m->arena + m->used, p, n);
        m->hash[s] = h, m->koff[s] = m->used, m->klen[s] = (uint32_t)n, m->val[s] = 0;
        m->used += n;
        m->n++;
    }
    m->val[s] += v;
    return (long)s;
}

static int64_t bm_get(const BytesMap *m, const char *p, size_t n, int64_t missing) {
    size_t s = bm_slot(m, p, n, hash_bytes(p, n) | 1);
    return m->hash[s] ? m->val[s] : missing;
}

// ---- pairs ----

typedef struct Pair {
    int64_t count;
    int32_t a, b;
    int32_t *words; // words that held the pair at some point (may be stale, no repeats in a row)
    uint32_t n_words, cap_words;
    uint32_t touched; // merge stamp, for the list of pairs to re-push
} Pair;

typedef struct HeapItem {
    int64_t count;
    int32_t a, b;
} HeapItem;

typedef struct Trainer {
    // words
    int32_t *sym;  // all words' symbols
    size_t *start; // word i: sym[start[i] .. start[i] + len[i])
    uint32_t *len;
    int64_t *wcount;
    uint32_t *seen; // merge stamp, so a word listed twice is rewritten once
    size_t n_words;
    // pairs: (a, b) -> index into pairs
    uint64_t *pkey; // UINT64_MAX = empty
    uint32_t *pidx;
    size_t pmask, n_pairs, cap_pairs;
    Pair *pairs;
    uint32_t *touched;
    size_t n_touched, cap_touched;
    HeapItem *heap;
    size_t n_heap, cap_heap;
    // tokens
    char *blob;
    uint32_t *off; // token id -> blob offset (n_tokens + 1)
    size_t n_tokens, blob_cap, tok_cap;
    BytesMap tok; // token bytes -> id
    int oom;
} Trainer;

static uint64_t hash_key(uint64_t k) {
    k *= 0x9E3779B97F4A7C15ull;
    return k ^ (k >> 29);
}

static int pairs_grow(Trainer *t) {
    size_t slots = 2 * (t->pmask + 1);
    uint64_t *key = malloc(slots * sizeof *key);
    uint32_t *idx = malloc(slots * sizeof *idx);
    if (!key || !idx) return free(key), free(idx), -1;
    memset(key, 0xFF, slots * sizeof *key);
    for (size_t s = 0; s <= t->pmask; s++) {
        if (t->pkey[s] == UINT64_MAX) continue;
        size_t q = hash_key(t->pkey[s]) & (slots - 1);
        while (key[q] != UINT64_MAX) q = (q + 1) & (slots - 1);
        key[q] = t->pkey[s], idx[q] = t->pidx[s];
    }
    free(t->pkey), free(t->pidx);
    t->pkey = key, t->pidx = idx, t->pmask = slots - 1;
    return 0;
}

// Index of pair (a, b), created with count 0 when `create`; -1 when absent or out of memory.
static long pair_find(Trainer *t, int32_t a, int32_t b, int create) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    size_t s = hash_key(key) & t->pmask;
    while (t->pkey[s] != UINT64_MAX && t->pkey[s] != key) s = (s + 1) & t->pmask;
    if (t->pkey[s] == key) return t->pidx[s];
    if (!create) return -1;
    if (2 * (t->n_pairs + 1) > t->pmask + 1) {
        if (pairs_grow(t)) return t->oom = 1, -1;
        return pair_find(t, a, b, create);
    }
    if (t->n_pairs == t->cap_pairs) {
        size_t c = t->cap_pairs ? 2 * t->cap_pairs : 1 << 16;
        Pair *p = realloc(t->pairs, c * sizeof *p);
        if (!p) return t->oom = 1, -1;
        t->pairs = p, t->cap_pairs = c;
    }
    t->pkey[s] = key;
    t->pidx[s] = (uint32_t)t->n_pairs;
    memset(&t->pairs[t->n_pairs], 0, sizeof(Pair));
    t->pairs[t->n_pairs].a = a, t->pairs[t->n_pairs].b = b;
    return (long)t->n_pairs++;
}

static void pair_add_word(Trainer *t, Pair *p, int32_t w) {
    if (p->n_words && p->words[p->n_words - 1] == w) return;
    if (p->n_words == p->cap_words) {
        uint32_t c = p->cap_words ? 2 * p->cap_words : 4;
        int32_t *q = realloc(p->words, c * sizeof *q);
        if (!q) {
            t->oom = 1;
            return;
        }
        p->words = q, p->cap_words = c;
    }
    p->words[p->n_words++] = w;
}

static int heap_above(const HeapItem *x, const HeapItem *y) {
    if (x->count != y->count) return x->count > y->count;
    if (x->a != y->a) return x->a < y->a;
    return x->b < y->b;
}

static void heap_push(Trainer *t, HeapItem it) {
    if (t->n_heap == t->cap_heap) {
        size_t c = t->cap_heap ? 2 * t->cap_heap : 1 << 16;
        HeapItem *h = realloc(t->heap, c * sizeof *h);
        if (!h) {
            t->oom = 1;
            return;
        }
        t->heap = h, t->cap_heap = c;
    }
    size_t i = t->n_heap++;
    while (i > 0 && heap_above(&it, &t->heap[(i - 1) / 2])) {
        t->heap[i] = t->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    t->heap[i] = it;
}

static HeapItem heap_pop(Trainer *t) {
    HeapItem *h = t->heap, top = h[0], last = h[--t->n_heap];
    size_t i = 0, n = t->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_above(&h[c + 1], &h[c])) c++;
        if (!heap_above(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = last;
    return top;
}

static void count_change(Trainer *t, int32_t a, int32_t b, int64_t delta, int32_t w,
                         uint32_t stamp) {
    long i = pair_find(t, a, b, delta > 0);
    if (i < 0) return;
    Pair *p = &t->pairs[i];
    p->count += delta;
    if (delta > 0) {
        pair_add_word(t, p, w);
        if (p->touched != stamp) {
            p->touched = stamp;
            if (t->n_touched == t->cap_touched) {
                size_t c = t->cap_touched ? 2 * t->cap_touched : 1024;
                uint32_t *q = realloc(t->touched, c * sizeof *q);
                if (!q) {
                    t->oom = 1;
                    return;
                }
                t->touched = q, t->cap_touched = c;
            }
            t->touched[t->n_touched++] = (uint32_t)i;
        }
    }
}

static int add_token(Trainer *t, const char *p, size_t n) {
    if (t->n_tokens + 2 > t->tok_cap) {
        size_t c = t->tok_cap ? 2 * t->tok_cap : 1024;
        uint32_t *o = realloc(t->off, c * sizeof *o);
        if (!o) return -1;
        t->off = o, t->tok_cap = c;
    }
    size_t used = t->n_tokens ? t->off[t->n_tokens] : 0;
    if (used + n > t->blob_cap) {
        size_t c = t->blob_cap ? t->blob_cap : 4096;
        while (c < used + n) c *= 2;
        char *b = realloc(t->blob, c);
        if (!b) return -1;
        t->blob = b, t->blob_cap = c;
    }
    memcpy(t->blob + used, p, n);
    t->off[t->n_tokens] = (uint32_t)used;
    t->off[t->n_tokens + 1] = (uint32_t)(used + n);
    if (bm_add(&t->tok, p, n, (int64_t)t->n_tokens) < 0) return -1;
    t->n_tokens++;
    return 0;
}

// ---- step 1: counting words ----

typedef struct CountCtx {
    BytesMap *map;
    int oom;
} CountCtx;

static int count_piece(const char *p, size_t n, void *user) {
    CountCtx *c = user;
    if (bm_add(c->map, p, n, 1) < 0) return c->oom = 1, -1;
    return 0;
}

static int count_words(const char *const *texts, const size_t *lens, size_t n_docs, int threads,
                       BytesMap *words, size_t *n_pieces, ElmError *err) {
    ElmPretok pt;
    if (elm_pretok_init(&pt, err)) return -1;
    if (threads < 1) threads = 1;
    BytesMap *local = calloc((size_t)threads, sizeof *local);
    int failed = 0;
    ElmError first = {{0}};
#pragma omp parallel num_threads(threads)
    {
        int me = 0;
#ifdef _OPENMP
        me = omp_get_thread_num();
#endif
        ElmError e = {{0}};
        ElmPretokState st = {0};
        int ok =
            local && bm_init(&local[me], 1 << 14) == 0 && elm_pretok_state_init(&pt, &st, &e) == 0;
        if (!ok && !e.msg[0]) elm_err(&e, "out of memory counting words");
        CountCtx c = {local ? &local[me] : NULL, 0};
#pragma omp for schedule(dynamic, 512)
        for (size_t d = 0; d < n_docs; d++) {
            if (!ok) continue;
            if (elm_pretok_split(&pt, &st, texts[d], lens[d], count_piece, &c, &e)) {
                if (c.oom) elm_err(&e, "out of memory counting words");
                ok = 0;
            }
        }
        if (!ok) {
#pragma omp critical(elm_train_err)
            if (!failed) failed = 1, first = e;
        }
        if (st.md) elm_pretok_state_free(&st);
    }
    elm_pretok_free(&pt);
    size_t total = 0;
    for (int i = 0; !failed && i < threads; i++)
        for (size_t s = 0; !failed && s <= local[i].mask; s++) {
            if (!local[i].hash[s]) continue;
            total += (size_t)local[i].val[s];
            if (bm_add(words, local[i].arena + local[i].koff[s], local[i].klen[s],
                       local[i].val[s]) < 0)
                failed = 1, elm_err(&first, "out of memory counting words");
        }
    for (int i = 0; local && i < threads; i++) bm_free(&local[i]);
    free(local);
    if (failed) {
        *err = first;
        return -1;
    }
    *n_pieces = total;
    return 0;
}

// ---- writing GPT-2's two files ----

static int write_files(const Trainer *t, const int32_t (*merges)[2], int n_merges,
                       const char *out_dir, ElmError *err) {
    if (elm_mkdirs(out_dir, err)) return -1;
    size_t longest = 16;
    for (size_t id = 0; id < t->n_tokens; id++)
        if (t->off[id + 1] - t->off[id] > longest) longest = t->off[id + 1] - t->off[id];
    // A byte is at most 2 bytes of UTF-8 in the alphabet, and at most 2 more when JSON-escaped.
    char *s = elm_malloc(4 * longest, err), *a = s ? elm_malloc(2 * longest, err) : NULL;
    char *b = a ? elm_malloc(2 * longest, err) : NULL;
    if (!b) {
        free(s), free(a);
        return -1;
    }
    char path[4096];
    ElmAtomicFile af;
    // encoder.json: {"token": id, ...} in id order, tokens spelt in the byte alphabet.
    elm_path_join(path, sizeof path, out_dir, "encoder.json");
    int ok = elm_atomic_open(&af, path, err) == 0;
    int opened = ok;
    ok = ok && fputc('{', af.f) != EOF;
    for (size_t id = 0; ok && id < t->n_tokens; id++) {
        size_t n = t->off[id + 1] - t->off[id], m;
        char *q = s;
        if (id + 1 == t->n_tokens) {
            memcpy(a, "<|endoftext|>", 13), m = 13; // the special token, spelt as itself
        } else {
            m = elm_bytes_to_gpt2((const unsigned char *)t->blob + t->off[id], n, a);
        }
        for (size_t i = 0; i < m; i++) {
            if (a[i] == '"' || a[i] == '\\') *q++ = '\\';
            *q++ = a[i];
        }
        ok = fprintf(af.f, "%s\"", id ? ", " : "") > 0 &&
             fwrite(s, 1, (size_t)(q - s), af.f) == (size_t)(q - s) &&
             fprintf(af.f, "\": %zu", id) > 0;
    }
    ok = ok && fputc('}', af.f) != EOF;
    if (!ok) {
        free(s), free(a), free(b);
        return opened ? elm_atomic_fail(&af, err) : -1;
    }
    if (elm_atomic_commit(&af, err)) {
        free(s), free(a), free(b);
        return -1;
    }
    // vocab.bpe: a version line, then one "left right" merge per line, by rank.
    elm_path_join(path, sizeof path, out_dir, "vocab.bpe");
    ok = opened = elm_atomic_open(&af, path, err) == 0;
    ok = ok && fputs("#version: 0.2\n", af.f) != EOF;
    for (int i = 0; ok && i < n_merges; i++) {
        int32_t l = merges[i][0], r = merges[i][1];
        size_t la = elm_bytes_to_gpt2((const unsigned char *)t->blob + t->off[l],
                                      t->off[l + 1] - t->off[l], a);
        size_t lb = elm_bytes_to_gpt2((const unsigned char *)t->blob + t->off[r],
                                      t->off[r + 1] - t->off[r], b);
        ok = fwrite(a, 1, la, af.f) == la && fputc(' ', af.f) != EOF &&
             fwrite(b, 1, lb, af.f) == lb && fputc('\n', af.f) != EOF;
    }
    free(s), free(a), free(b);
    if (!ok) return opened ? elm_atomic_fail(&af, err) : -1;
    return elm_atomic_commit(&af, err);
}

// ---- the merge loop ----

static void trainer_free(Trainer *t) {
    free(t->sym), free(t->start), free(t->len), free(t->wcount), free(t->seen);
    free(t->pkey), free(t->pidx);
    for (size_t i = 0; i < t->n_pairs; i++) free(t->pairs[i].words);
    free(t->pairs), free(t->touched), free(t->heap);
    free(t->blob), free(t->off);
    bm_free(&t->tok);
}

// The trainer's word arrays for the counted words, an empty pair table and token map.
static int trainer_alloc(Trainer *t, const BytesMap *words, ElmError *err) {
    size_t total_sym = words->used;
    t->n_words = words->n;
    t->pmask = (1 << 16) - 1;
    if (!(t->sym = elm_malloc((total_sym ? total_sym : 1) * sizeof *t->sym, err)) ||
        !(t->start = elm_malloc((t->n_words + 1) * sizeof *t->start, err)) ||
        !(t->len = elm_malloc((t->n_words + 1) * sizeof *t->len, err)) ||
        !(t->wcount = elm_malloc((t->n_words + 1) * sizeof *t->wcount, err)) ||
        !(t->seen = elm_calloc(t->n_words + 1, sizeof *t->seen, err)) ||
        !(t->pkey = elm_malloc((t->pmask + 1) * sizeof *t->pkey, err)) ||
        !(t->pidx = elm_malloc((t->pmask + 1) * sizeof *t->pidx, err)))
        return -1;
    if (bm_init(&t->tok, 1 << 12)) return elm_err(err, "out of memory");
    memset(t->pkey, 0xFF, (t->pmask + 1) * sizeof *t->pkey);
    return 0;
}

// The byte tokens (id r is the r-th byte in GPT-2's order), then every word as byte tokens.
static int load_words(Trainer *t, const BytesMap *words, ElmError *err) {
    int32_t byte_id[256];
    for (int r = 0; r < 256; r++) {
        char c = (char)elm_byte_of_rank(r);
        byte_id[(unsigned char)c] = r;
        if (add_token(t, &c, 1)) return elm_err(err, "out of memory");
    }
    // The word order (hash order) does not matter: merges are chosen by count, then ids.
    size_t w = 0, o = 0;
    for (size_t s = 0; s <= words->mask; s++) {
        if (!words->hash[s]) continue;
        t->start[w] = o;
        t->len[w] = words->klen[s];
        t->wcount[w] = words->val[s];
        const unsigned char *p = (const unsigned char *)words->arena + words->koff[s];
        for (uint32_t i = 0; i < words->klen[s]; i++) t->sym[o++] = byte_id[p[i]];
        w++;
    }
    return 0;
}

// Every adjacent pair of every word, counted, and a heap of the pairs by count.
static void count_pairs(Trainer *t) {
    for (size_t i = 0; i < t->n_words; i++) {
        const int32_t *s = t->sym + t->start[i];
        for (uint32_t k = 0; k + 1 < t->len[i]; k++)
            count_change(t, s[k], s[k + 1], t->wcount[i], (int32_t)i, 0);
    }
    for (size_t i = 0; i < t->n_pairs; i++)
        if (t->pairs[i].count > 0)
            heap_push(t, (HeapItem){t->pairs[i].count, t->pairs[i].a, t->pairs[i].b});
}

// Rewrites every word holding the pair pi = (a, b) with the token nid, moving the counts of
// the neighbouring pairs, and pushes the pairs that gained count.
static void apply_merge(Trainer *t, long pi, int32_t a, int32_t b, int32_t nid, uint32_t stamp) {
    // The pair's word list cannot grow below: new pairs all hold nid, never (a, b).
    Pair *pp = &t->pairs[pi];
    int32_t *list = pp->words;
    uint32_t nl = pp->n_words;
    pp->words = NULL, pp->n_words = pp->cap_words = 0;
    for (uint32_t k = 0; k < nl; k++) {
        int32_t wi = list[k];
        if (t->seen[wi] == stamp) continue;
        t->seen[wi] = stamp;
        int32_t *s = t->sym + t->start[wi];
        uint32_t n = t->len[wi], i = 0, out = 0;
        int64_t c = t->wcount[wi];
        while (i < n) {
            if (i + 1 < n && s[i] == a && s[i + 1] == b) {
                if (out > 0) {
                    count_change(t, s[out - 1], a, -c, wi, stamp);
                    count_change(t, s[out - 1], nid, c, wi, stamp);
                }
                if (i + 2 < n) {
                    count_change(t, b, s[i + 2], -c, wi, stamp);
                    count_change(t, nid, s[i + 2], c, wi, stamp);
                }
                s[out++] = nid;
                i += 2;
            } else {
                s[out++] = s[i++];
            }
        }
        t->len[wi] = out;
    }
    free(list);
    t->pairs[pi].count = 0;
    // Push every pair that gained count (they all hold nid) with its final count.
    for (size_t k = 0; k < t->n_touched; k++) {
        const Pair *p = &t->pairs[t->touched[k]];
        if (p->count > 0) heap_push(t, (HeapItem){p->count, p->a, p->b});
    }
}

// Merges the most frequent pair until the vocabulary is full but for <|endoftext|>, writing
// each new token's pair into merges. Returns the number of merges; t->oom when out of memory.
static int merge_pairs(Trainer *t, int vocab_size, int32_t (*merges)[2], ElmBpeTrainInfo *info,
                       int quiet) {
    ElmProgress prog;
    elm_progress_start(&prog, "bpe train", "merges", (uint64_t)(vocab_size - 257), quiet);
    uint32_t stamp = 0;
    int n_merges = 0;
    char *tmp = NULL;
    size_t tmp_cap = 0;
    while ((int)t->n_tokens < vocab_size - 1 && t->n_heap && !t->oom) {
        HeapItem top = heap_pop(t);
        long pi = pair_find(t, top.a, top.b, 0);
        if (pi < 0) continue;
        int64_t cur = t->pairs[pi].count;
        if (cur <= 0) continue;
        if (cur != top.count) { // stale: counts only fell since the push
            heap_push(t, (HeapItem){cur, top.a, top.b});
            continue;
        }
        // The new token's bytes; if they are already a token (reached through another split),
        // apply the merge with that id and write no merge line, as tiktoken merges by bytes.
        size_t la = t->off[top.a + 1] - t->off[top.a], lb = t->off[top.b + 1] - t->off[top.b];
        if (la + lb > tmp_cap) {
            tmp_cap = 2 * (la + lb);
            char *q = realloc(tmp, tmp_cap);
            if (!q) {
                t->oom = 1;
                break;
            }
            tmp = q;
        }
        memcpy(tmp, t->blob + t->off[top.a], la);
        memcpy(tmp + la, t->blob + t->off[top.b], lb);
        if (la + lb == 13 && memcmp(tmp, "<|endoftext|>", 13) == 0) {
            t->pairs[pi].count = 0; // that spelling belongs to the special token
            continue;
        }
        int64_t have = bm_get(&t->tok, tmp, la + lb, -1);
        int32_t nid;
        if (have >= 0) {
            nid = (int32_t)have;
            info->n_reused++;
        } else {
            nid = (int32_t)t->n_tokens;
            if (add_token(t, tmp, la + lb)) {
                t->oom = 1;
                break;
            }
            merges[n_merges][0] = top.a, merges[n_merges][1] = top.b;
            n_merges++;
        }
        stamp++;
        t->n_touched = 0;
        apply_merge(t, pi, top.a, top.b, nid, stamp);
        elm_progress_update(&prog, (uint64_t)(t->n_tokens - 256));
    }
    free(tmp);
    elm_progress_finish(&prog);
    return n_merges;
}

int elm_bpe_train(const char *const *texts, const size_t *lens, size_t n_docs, int vocab_size,
                  int threads, int quiet, const char *out_dir, ElmBpeTrainInfo *info,
                  ElmError *err) {
    double t0 = elm_now();
    memset(info, 0, sizeof *info);
    if (vocab_size < 257)
        return elm_err(err, "vocab_size %d is too small: 256 bytes + <|endoftext|> need 257",
                       vocab_size);
    if (vocab_size > 4096 * 1024) return elm_err(err, "vocab_size %d is too large", vocab_size);
    BytesMap words;
    if (bm_init(&words, 1 << 16)) return elm_err(err, "out of memory");
    if (count_words(texts, lens, n_docs, threads, &words, &info->n_words, err)) {
        bm_free(&words);
        return -1;
    }
    info->count_seconds = elm_now() - t0;
    Trainer t = {0};
    int rc = -1;
    int32_t(*merges)[2] = elm_malloc((size_t)vocab_size * sizeof *merges, err);
    if (!merges || trainer_alloc(&t, &words, err) || load_words(&t, &words, err)) goto out;
    info->n_unique = t.n_words;
    bm_free(&words);
    count_pairs(&t);
    if (t.oom) {
        elm_err(err, "out of memory");
        goto out;
    }
    int n_merges = merge_pairs(&t, vocab_size, merges, info, quiet);
    if (t.oom) {
        elm_err(err, "out of memory training the vocabulary");
        goto out;
    }
    {
        char eot[] = "<|endoftext|>";
        if (add_token(&t, eot, 13)) {
            elm_err(err, "out of memory");
            goto out;
        }
    }
    if (write_files(&t, (const int32_t(*)[2])merges, n_merges, out_dir, err)) goto out;
    info->vocab_size = (int)t.n_tokens;
    info->n_merges = n_merges;
    info->seconds = elm_now() - t0;
    rc = 0;
out:
    free(merges);
    trainer_free(&t);
    return rc;
}
