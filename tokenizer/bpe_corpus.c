// bpe_corpus.c — multi-threaded document encoding (see bpe_corpus.h). Documents are cut into chunks
// of about CHUNK_BYTES; threads take chunks as they free up, each with its own BPE worker (its own
// pre-tokeniser state and word cache), and the chunks are concatenated in order at the end.
#include "tokenizer/bpe_corpus.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define CHUNK_BYTES (256 * 1024)

typedef struct Chunk {
    size_t first, last; // documents [first, last)
    int32_t *ids;
    size_t n, cap;
    size_t *counts; // ids per document
} Chunk;

int elm_bpe_encode_docs(const ElmBpe *bpe, const char *const *texts, const size_t *lens,
                        size_t n_docs, int allow_special, int threads, ElmProgress *prog,
                        int32_t **ids, size_t **doc_off, ElmError *err) {
    *ids = NULL;
    *doc_off = NULL;
    size_t n_chunks = 0;
    for (size_t i = 0, acc = 0; i < n_docs; i++) {
        acc += lens[i] + 64;
        if (acc >= CHUNK_BYTES || i + 1 == n_docs) n_chunks++, acc = 0;
    }
    Chunk *chunks = calloc(n_chunks ? n_chunks : 1, sizeof *chunks);
    size_t *off = malloc((n_docs + 1) * sizeof *off);
    if (!chunks || !off) {
        free(chunks), free(off);
        return elm_err(err, "out of memory for %zu documents", n_docs);
    }
    for (size_t i = 0, acc = 0, c = 0, first = 0; i < n_docs; i++) {
        acc += lens[i] + 64;
        if (acc >= CHUNK_BYTES || i + 1 == n_docs) {
            chunks[c].first = first, chunks[c].last = i + 1;
            c++, first = i + 1, acc = 0;
        }
    }
    int failed = 0;
    ElmError first_err = {{0}};
    uint64_t bytes_done = 0;
    if (threads < 1) threads = 1;
#pragma omp parallel num_threads(threads)
    {
        ElmError e = {{0}};
        ElmBpeWorker *w = elm_bpe_worker_new(bpe, &e);
        if (!w) {
#pragma omp critical(elm_corpus_err)
            if (!failed) failed = 1, first_err = e;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t c = 0; c < n_chunks; c++) {
            int stop;
#pragma omp atomic read
            stop = failed;
            if (stop || !w) continue;
            Chunk *ch = &chunks[c];
            ch->counts = elm_malloc((ch->last - ch->first) * sizeof *ch->counts, &e);
            int rc = ch->counts ? 0 : -1;
            uint64_t chunk_bytes = 0;
            for (size_t d = ch->first; !rc && d < ch->last; d++) {
                size_t before = ch->n;
                rc = elm_bpe_worker_encode(w, texts[d], lens[d], allow_special, &ch->ids, &ch->n,
                                           &ch->cap, &e);
                ch->counts[d - ch->first] = ch->n - before;
                chunk_bytes += lens[d];
            }
            if (rc) {
                elm_err_prefix(&e, "document %zu", ch->first + 1);
#pragma omp critical(elm_corpus_err)
                if (!failed) failed = 1, first_err = e;
            }
            uint64_t done;
#pragma omp atomic capture
            done = bytes_done += chunk_bytes;
#ifdef _OPENMP
            if (prog && omp_get_thread_num() == 0) elm_progress_update(prog, done);
#else
            if (prog) elm_progress_update(prog, done);
#endif
        }
        elm_bpe_worker_free(w);
    }
    size_t total = 0;
    off[0] = 0;
    for (size_t c = 0; !failed && c < n_chunks; c++) {
        for (size_t d = chunks[c].first; d < chunks[c].last; d++)
            off[d + 1] = off[d] + chunks[c].counts[d - chunks[c].first];
        total += chunks[c].n;
    }
    int32_t *all = failed ? NULL : malloc((total ? total : 1) * sizeof *all);
    if (!failed && !all) failed = 1, elm_err(&first_err, "out of memory for %zu ids", total);
    for (size_t c = 0, o = 0; c < n_chunks; c++) {
        if (!failed) memcpy(all + o, chunks[c].ids, chunks[c].n * sizeof *all);
        o += chunks[c].n;
        free(chunks[c].ids), free(chunks[c].counts);
    }
    free(chunks);
    if (failed) {
        free(off);
        *err = first_err;
        return -1;
    }
    if (prog) elm_progress_update(prog, bytes_done);
    *ids = all;
    *doc_off = off;
    return 0;
}
