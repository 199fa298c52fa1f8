// textfeat.h — text features as scikit-learn's CountVectorizer / TfidfVectorizer compute them:
// lowercase, word tokens of 2+ word characters, optional stop words, n-grams, vocabulary limits
// (min_df, max_df, max_features), counts / binary / TF-IDF (smooth idf, l2 rows). Sparse CSR out.
// Used by the validate and topics stages (validate.c, topics.c).
#ifndef ELM_TEXTFEAT_H
#define ELM_TEXTFEAT_H

#include "eval/sparse.h"
#include "eval/termmap.h"

typedef struct ElmTextFeatOpts {
    int ngram_min, ngram_max; // word n-gram range, inclusive (1, 1)
    int max_features;         // keep the most frequent terms (0 = all)
    double min_df;            // < 1: fraction of documents, else a document count (1)
    double max_df;            // <= 1: fraction of documents, else a document count (1.0)
    int stop_words;           // drop English stop words (0)
    int binary;               // term present = 1 instead of its count (0)
    int tfidf;                // tf * idf with smooth idf, rows scaled to unit l2 norm (1)
} ElmTextFeatOpts;

typedef struct ElmTextFeat {
    ElmTextFeatOpts opts;
    int n_terms;
    ElmTermMap vocab; // term -> column; ids are alphabetical (byte order), like scikit-learn
    double *idf;      // (n_terms) when opts.tfidf
    void *locale;     // a C.UTF-8 locale_t for Unicode lowercasing (NULL: ASCII only)
} ElmTextFeat;

void elm_textfeat_defaults(ElmTextFeatOpts *o);
// Checks ranges; messages name the option.
int elm_textfeat_check(const ElmTextFeatOpts *o, ElmError *err);

// Learns the vocabulary (and idf) from docs and writes their features: X is (n_docs, n_terms).
int elm_textfeat_fit(ElmTextFeat *tf, const ElmTextFeatOpts *o, const char *const *docs, int n_docs,
                     ElmCsr *X, ElmError *err);
// Features of new docs with a fitted vocabulary (unknown terms are dropped).
int elm_textfeat_transform(const ElmTextFeat *tf, const char *const *docs, int n_docs, ElmCsr *X,
                           ElmError *err);
// A vocabulary saved earlier: terms[i] is column i (counts only: opts->tfidf must be 0).
int elm_textfeat_from_terms(ElmTextFeat *tf, const ElmTextFeatOpts *o, const char *const *terms,
                            int n_terms, ElmError *err);
void elm_textfeat_free(ElmTextFeat *tf);
const char *elm_textfeat_term(const ElmTextFeat *tf, int id);

// Word tokens of one document: lowercased, 2+ word characters, stop words dropped when
// `stop_words`. Each token is written NUL-terminated into buf; tok[i] points into it. Returns
// the number of tokens (at most max_tok) or -1 when buf is too small. locale may be NULL.
typedef struct ElmTokens {
    char *buf;
    size_t cap;
    char **tok;
    int n, max_tok;
} ElmTokens;
int elm_tokens_init(ElmTokens *t, ElmError *err);
void elm_tokens_free(ElmTokens *t);
int elm_tokenize(ElmTokens *t, const char *doc, int stop_words, void *locale, ElmError *err);
// A C.UTF-8 locale handle for elm_tokenize (NULL when the system has none), and its release.
void *elm_textfeat_locale(void);
void elm_textfeat_locale_free(void *locale);

#endif
