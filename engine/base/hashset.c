// hashset.c — a set of 64-bit hashes (hashset.h); the table doubles at half full.
#include "engine/base/hashset.h"

#include <stdlib.h>

static int hashset_grow(ElmHashSet *s) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    uint64_t *slot = calloc(cap, sizeof *slot);
    if (!slot) return -1;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slot[i]) continue;
        size_t j = s->slot[i] & (cap - 1);
        while (slot[j]) j = (j + 1) & (cap - 1);
        slot[j] = s->slot[i];
    }
    free(s->slot);
    s->slot = slot, s->cap = cap;
    return 0;
}

int elm_hashset_insert(ElmHashSet *s, uint64_t h) {
    if (h == 0) h = 1;
    if ((s->n + 1) * 2 > s->cap && hashset_grow(s)) return -1;
    size_t j = h & (s->cap - 1);
    while (s->slot[j]) {
        if (s->slot[j] == h) return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slot[j] = h;
    s->n++;
    return 1;
}

int elm_hashset_has(const ElmHashSet *s, uint64_t h) {
    if (h == 0) h = 1;
    if (!s->cap) return 0;
    for (size_t j = h & (s->cap - 1); s->slot[j]; j = (j + 1) & (s->cap - 1))
        if (s->slot[j] == h) return 1;
    return 0;
}

void elm_hashset_free(ElmHashSet *s) {
    free(s->slot);
    s->slot = NULL;
    s->cap = s->n = 0;
}
