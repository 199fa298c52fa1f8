// termmap.h — ElmTermMap: an open-addressing hash map from byte strings to dense ids 0..n-1.
// Used by textfeat.c (vocabulary building) and topwords.c (word counts).
#ifndef ELM_TERMMAP_H
#define ELM_TERMMAP_H

#include "engine/base/error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ElmTermMap {
    int32_t *slots; // (cap) id + 1, 0 = empty
    size_t cap;     // power of two
    char **terms;   // (n) NUL-terminated copies, by id
    uint64_t *hashes;
    int n, n_cap;
} ElmTermMap;

int elm_termmap_init(ElmTermMap *m, ElmError *err);
void elm_termmap_free(ElmTermMap *m);
// The id of term s[0..len) or -1 when absent.
int elm_termmap_find(const ElmTermMap *m, const char *s, size_t len);
// The id of term s[0..len), adding it when absent; -1 on out of memory.
int elm_termmap_add(ElmTermMap *m, const char *s, size_t len, ElmError *err);

#endif
