// coherence.h — topic coherence as gensim's CoherenceModel defines it: u_mass (document
// co-occurrence, one-preceding segmentation), c_npmi (boolean sliding window of 10, all pairs,
// normalised PMI) and c_v (window of 110, one-set segmentation, NPMI context vectors, cosine).
// Used by topics.c.
#ifndef ELM_COHERENCE_H
#define ELM_COHERENCE_H

#include "engine/base/error.h"

#include <stdint.h>

typedef struct ElmTokDocs {
    int32_t **tok; // tok[d][0..len[d]): word ids, -1 for words outside the vocabulary
    int *len;
    int n;
} ElmTokDocs;

// topics (k, n): word ids of each topic's top n words. Per-topic scores out (each may be NULL).
int elm_coherence(const ElmTokDocs *docs, int V, const int *topics, int k, int n, double *umass,
                  double *npmi, double *c_v, ElmError *err);

#endif
