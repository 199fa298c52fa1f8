// bench_bpe.c — times elm's BPE for bench/tokenizer/bench.py (not a test, not part of the build:
// bench.py compiles it against build/libelmcore.a).
//   bench_bpe encode VOCAB_DIR DOCS_FILE THREADS  -> one JSON line: seconds, tokens, bytes
//   bench_bpe train DOCS_FILE VOCAB_SIZE THREADS OUT_DIR -> one JSON line: seconds, merges
// DOCS_FILE holds the documents separated by NUL bytes.
#include "engine/base/fsutil.h"
#include "tokenizer/bpe.h"
#include "tokenizer/bpe_corpus.h"
#include "tokenizer/bpe_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t split_docs(char *data, size_t n, const char ***texts, size_t **lens) {
    size_t k = 0, cap = 1024;
    *texts = malloc(cap * sizeof **texts);
    *lens = malloc(cap * sizeof **lens);
    for (size_t i = 0; i < n;) {
        char *z = memchr(data + i, '\0', n - i);
        size_t e = z ? (size_t)(z - data) : n;
        if (k == cap) {
            cap *= 2;
            *texts = realloc(*texts, cap * sizeof **texts);
            *lens = realloc(*lens, cap * sizeof **lens);
        }
        (*texts)[k] = data + i, (*lens)[k] = e - i, k++;
        i = e + 1;
    }
    return k;
}

int main(int argc, char **argv) {
    ElmError err = {{0}};
    if (argc == 5 && strcmp(argv[1], "encode") == 0) {
        ElmBpe *b = elm_bpe_load_dir(argv[2], &err);
        char *data;
        size_t n;
        if (!b || elm_read_file(argv[3], &data, &n, &err)) goto fail;
        const char **texts;
        size_t *lens, k = split_docs(data, n, &texts, &lens);
        int threads = atoi(argv[4]);
        int32_t *ids;
        size_t *off;
        double t0 = elm_now();
        if (elm_bpe_encode_docs(b, texts, lens, k, 0, threads, NULL, &ids, &off, &err)) goto fail;
        double dt = elm_now() - t0;
        printf("{\"seconds\": %.6f, \"tokens\": %zu, \"bytes\": %zu, \"docs\": %zu}\n", dt, off[k],
               n - (k - 1), k);
        return 0;
    }
    if (argc == 6 && strcmp(argv[1], "train") == 0) {
        char *data;
        size_t n;
        if (elm_read_file(argv[2], &data, &n, &err)) goto fail;
        const char **texts;
        size_t *lens, k = split_docs(data, n, &texts, &lens);
        ElmBpeTrainInfo info;
        if (elm_bpe_train(texts, lens, k, atoi(argv[3]), atoi(argv[4]), 1, argv[5], &info, &err))
            goto fail;
        printf("{\"seconds\": %.6f, \"count_seconds\": %.6f, \"merges\": %d, \"unique_words\": "
               "%zu}\n",
               info.seconds, info.count_seconds, info.n_merges, info.n_unique);
        return 0;
    }
    fprintf(stderr, "usage: bench_bpe encode VOCAB DOCS THREADS | train DOCS SIZE THREADS OUT\n");
    return 2;
fail:
    fprintf(stderr, "bench_bpe: %s\n", err.msg);
    return 1;
}
