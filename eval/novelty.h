// novelty.h — how much of a generated text is copied: the longest run of words it shares with
// any training text (a suffix automaton over word ids) and its n-gram overlap. Used by viable.c.
#ifndef ELM_NOVELTY_H
#define ELM_NOVELTY_H

#include "engine/base/error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ElmNovelty ElmNovelty;

// n: the n-gram size for elm_novelty_overlap (e.g. 4).
ElmNovelty *elm_novelty_new(int ngram, ElmError *err);
void elm_novelty_free(ElmNovelty *nv);

// Splits text into lowercase word ids (letters, digits, apostrophes; other bytes separate words;
// UTF-8 multibyte sequences count as letters). Returns the count written (at most cap).
int elm_novelty_words(ElmNovelty *nv, const char *text, uint32_t *ids, int cap);

// Adds one document to the reference set (documents never match across their boundary).
int elm_novelty_add(ElmNovelty *nv, const char *text, ElmError *err);

typedef struct ElmNoveltyScore {
    int words;            // words in the candidate
    int longest_run;      // longest run of consecutive words found in one reference document
    double ngram_overlap; // fraction of the candidate's n-grams present in the references
} ElmNoveltyScore;

ElmNoveltyScore elm_novelty_score(ElmNovelty *nv, const char *text);

#endif
