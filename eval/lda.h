// lda.h — latent Dirichlet allocation by batch variational Bayes (Blei et al. 2003; the
// updates of Hoffman et al. 2010 that scikit-learn's LatentDirichletAllocation runs with
// learning_method="batch"), threaded over documents; held-out perplexity from the same
// variational bound scikit-learn reports. Used by topics.c.
#ifndef ELM_LDA_H
#define ELM_LDA_H

#include "eval/sparse.h"

#include <stdint.h>

struct ElmProgress;

typedef struct ElmLdaOpts {
    int k;            // topics
    double alpha;     // document-topic prior (0 = 1/k)
    double beta;      // topic-word prior (0 = 1/k)
    int iterations;   // EM passes over the corpus
    int max_doc_iter; // E-step iterations per document (100)
    double doc_tol;   // stop a document's E-step when gamma moves less than this (1e-3)
    uint64_t seed;
    int threads;
} ElmLdaOpts;

typedef struct ElmLda {
    int k, V;
    double alpha, beta;
    double *lambda;        // (k, V) variational topic-word parameters (sklearn's components_)
    double *exp_elog_beta; // (k, V) exp(E[log beta])
} ElmLda;

void elm_lda_defaults(ElmLdaOpts *o);
// Fits on a (documents, vocabulary) count matrix. progress may be NULL.
int elm_lda_fit(ElmLda *lda, const ElmLdaOpts *o, const ElmCsr *counts,
                struct ElmProgress *progress, ElmError *err);
// gamma (n_docs, k): unnormalised document-topic parameters of new documents.
int elm_lda_transform(const ElmLda *lda, const ElmCsr *counts, uint64_t seed, int threads,
                      double *gamma, ElmError *err);
// out (n_docs): each document's dominant topic, the argmax of its gamma (first of ties), -1 for
// a document without words.
int elm_lda_dominant(const ElmLda *lda, const ElmCsr *counts, uint64_t seed, int threads, int *out,
                     ElmError *err);
// exp(-bound / words): scikit-learn's LatentDirichletAllocation.perplexity for these counts.
double elm_lda_perplexity(const ElmLda *lda, const ElmCsr *counts, const double *gamma,
                          int threads);
// The n word ids of topic t by weight, heaviest first.
void elm_lda_top_words(const ElmLda *lda, int t, int n, int *ids);
// A fitted model from its saved parameters: lambda (k, V) is copied; exp_elog_beta is computed.
int elm_lda_from_lambda(ElmLda *lda, int k, int V, double alpha, double beta, const double *lambda,
                        ElmError *err);
void elm_lda_free(ElmLda *lda);

#endif
