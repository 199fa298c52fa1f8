// topwords.h — the most frequent words of real vs generated texts (normalised frequencies,
// stop words dropped) and the top words exclusive to each side. Used by topics.c.
#ifndef ELM_TOPWORDS_H
#define ELM_TOPWORDS_H

#include "eval/termmap.h"

typedef struct ElmTopWord {
    const char *word; // points into ElmTopWords.terms
    long long count[2];
    double freq[2]; // count / all word tokens of that side (0 = generated, 1 = real)
} ElmTopWord;

typedef struct ElmTopWords {
    ElmTermMap terms;
    long long total[2];
    ElmTopWord *top[2]; // (n) most frequent words of each side
    int n_top[2];
    ElmTopWord *only[2]; // words of top[s] that are not in the other side's top list
    int n_only[2];
} ElmTopWords;

// labels: 1 real, 0 generated.
int elm_topwords(ElmTopWords *tw, const char *const *docs, const int *labels, int n_docs,
                 int stop_words, int top_n, ElmError *err);
void elm_topwords_free(ElmTopWords *tw);

#endif
