// hashset.h — a set of 64-bit hashes (open addressing, linear probing): the de-duplication sets
// of ingest (ids, texts) and fetch (post ids already stored).
#ifndef ELM_HASHSET_H
#define ELM_HASHSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct ElmHashSet {
    uint64_t *slot; // 0 marks an empty slot (a hash of 0 is stored as 1)
    size_t cap, n;
} ElmHashSet;

// Adds h: 1 if it was new, 0 if already present, -1 out of memory (the set unchanged).
int elm_hashset_insert(ElmHashSet *s, uint64_t h);
// 1 if h is in the set.
int elm_hashset_has(const ElmHashSet *s, uint64_t h);
void elm_hashset_free(ElmHashSet *s);

#endif
