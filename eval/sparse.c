// sparse.c — CSR allocation, transpose and row selection.
#include "eval/sparse.h"

#include <stdlib.h>
#include <string.h>

int elm_csr_alloc(ElmCsr *m, int n_rows, int n_cols, int64_t nnz, ElmError *err) {
    memset(m, 0, sizeof *m);
    m->n_rows = n_rows;
    m->n_cols = n_cols;
    m->nnz = nnz;
    m->indptr = calloc((size_t)n_rows + 1, sizeof *m->indptr);
    m->indices = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *m->indices);
    m->data = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *m->data);
    if (!m->indptr || !m->indices || !m->data) {
        elm_csr_free(m);
        return elm_err(err, "out of memory for a %d x %d sparse matrix", n_rows, n_cols);
    }
    return 0;
}

void elm_csr_free(ElmCsr *m) {
    free(m->indptr);
    free(m->indices);
    free(m->data);
    memset(m, 0, sizeof *m);
}

int elm_csr_transpose(const ElmCsr *a, ElmCsr *out, ElmError *err) {
    if (elm_csr_alloc(out, a->n_cols, a->n_rows, a->nnz, err)) return -1;
    for (int64_t k = 0; k < a->nnz; k++) out->indptr[a->indices[k] + 1]++;
    for (int c = 0; c < a->n_cols; c++) out->indptr[c + 1] += out->indptr[c];
    int64_t *next = malloc(((size_t)a->n_cols + 1) * sizeof *next);
    if (!next) {
        elm_csr_free(out);
        return elm_err(err, "out of memory transposing a sparse matrix");
    }
    memcpy(next, out->indptr, ((size_t)a->n_cols + 1) * sizeof *next);
    // Rows are visited in order, so each column's row indices come out ascending.
    for (int r = 0; r < a->n_rows; r++)
        for (int64_t k = a->indptr[r]; k < a->indptr[r + 1]; k++) {
            int64_t dst = next[a->indices[k]]++;
            out->indices[dst] = r;
            out->data[dst] = a->data[k];
        }
    free(next);
    return 0;
}

int elm_csr_take_rows(const ElmCsr *a, const int *rows, int n, ElmCsr *out, ElmError *err) {
    int64_t nnz = 0;
    for (int i = 0; i < n; i++) nnz += a->indptr[rows[i] + 1] - a->indptr[rows[i]];
    if (elm_csr_alloc(out, n, a->n_cols, nnz, err)) return -1;
    int64_t k = 0;
    for (int i = 0; i < n; i++) {
        int64_t b = a->indptr[rows[i]], e = a->indptr[rows[i] + 1];
        memcpy(out->indices + k, a->indices + b, (size_t)(e - b) * sizeof *out->indices);
        memcpy(out->data + k, a->data + b, (size_t)(e - b) * sizeof *out->data);
        k += e - b;
        out->indptr[i + 1] = k;
    }
    return 0;
}
