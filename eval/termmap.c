// termmap.c — string -> id hash map (FNV-1a, linear probing, load factor <= 1/2).
#include "eval/termmap.h"
#include "engine/base/hash.h"

#include <stdlib.h>
#include <string.h>

static uint64_t term_hash(const char *s, size_t len) {
    uint64_t h = elm_hash_fnv1a(ELM_HASH_FNV_OFFSET, s, len);
    return h ^ (h >> 29);
}

int elm_termmap_init(ElmTermMap *m, ElmError *err) {
    memset(m, 0, sizeof *m);
    m->cap = 1024;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) return elm_err(err, "out of memory for a term map");
    return 0;
}

void elm_termmap_free(ElmTermMap *m) {
    for (int i = 0; i < m->n; i++) free(m->terms[i]);
    free(m->terms);
    free(m->hashes);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

int elm_termmap_find(const ElmTermMap *m, const char *s, size_t len) {
    uint64_t h = term_hash(s, len);
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        int32_t id = m->slots[i] - 1;
        if (id < 0) return -1;
        if (m->hashes[id] == h && strncmp(m->terms[id], s, len) == 0 && m->terms[id][len] == 0)
            return id;
    }
}

static int grow(ElmTermMap *m, ElmError *err) {
    size_t cap = m->cap * 2;
    int32_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return elm_err(err, "out of memory growing a term map");
    for (int id = 0; id < m->n; id++) {
        size_t i = m->hashes[id] & (cap - 1);
        while (slots[i]) i = (i + 1) & (cap - 1);
        slots[i] = id + 1;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int elm_termmap_add(ElmTermMap *m, const char *s, size_t len, ElmError *err) {
    uint64_t h = term_hash(s, len);
    size_t i = h & (m->cap - 1);
    for (;; i = (i + 1) & (m->cap - 1)) {
        int32_t id = m->slots[i] - 1;
        if (id < 0) break;
        if (m->hashes[id] == h && strncmp(m->terms[id], s, len) == 0 && m->terms[id][len] == 0)
            return id;
    }
    if (m->n == m->n_cap) {
        int nc = m->n_cap ? m->n_cap * 2 : 1024;
        char **t = realloc(m->terms, (size_t)nc * sizeof *t);
        if (!t) return elm_err(err, "out of memory growing a term map");
        m->terms = t;
        uint64_t *hs = realloc(m->hashes, (size_t)nc * sizeof *hs);
        if (!hs) return elm_err(err, "out of memory growing a term map");
        m->hashes = hs;
        m->n_cap = nc;
    }
    char *copy = malloc(len + 1);
    if (!copy) return elm_err(err, "out of memory adding a term");
    memcpy(copy, s, len);
    copy[len] = 0;
    int id = m->n++;
    m->terms[id] = copy;
    m->hashes[id] = h;
    m->slots[i] = id + 1;
    if ((size_t)m->n * 2 > m->cap && grow(m, err)) return -1;
    return id;
}
