// sparse.h — ElmCsr: compressed sparse rows (a CSC matrix is the CSR of the transpose).
// Built by textfeat.c; read by naive_bayes.c, forest.c, lda.c and the validate/topics stages.
#ifndef ELM_SPARSE_H
#define ELM_SPARSE_H

#include "engine/base/error.h"

#include <stdint.h>

typedef struct ElmCsr {
    int n_rows, n_cols;
    int64_t nnz;
    int64_t *indptr;  // (n_rows + 1)
    int32_t *indices; // (nnz) column of each value, ascending within a row
    double *data;     // (nnz)
} ElmCsr;

// Allocates an n_rows x n_cols matrix with room for nnz values (indptr zeroed).
int elm_csr_alloc(ElmCsr *m, int n_rows, int n_cols, int64_t nnz, ElmError *err);
void elm_csr_free(ElmCsr *m);
// out = transpose(a): the CSC form of a, with row indices ascending in each column.
int elm_csr_transpose(const ElmCsr *a, ElmCsr *out, ElmError *err);
// out = the rows `rows[0..n)` of a, in that order.
int elm_csr_take_rows(const ElmCsr *a, const int *rows, int n, ElmCsr *out, ElmError *err);

#endif
