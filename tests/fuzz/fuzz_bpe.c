// fuzz_bpe.c — libFuzzer harness for the GPT-2 BPE encoder and decoder on arbitrary bytes.
// Built by tests/fuzz/build.sh; needs $ELM_SHARED/data/gpt2-vocab (encoder.json, vocab.bpe).
//
// Byte-level BPE is lossless: decode(encode(x)) must give back x exactly, invalid UTF-8 and
// "<|endoftext|>" (as plain text or as the special id) included.
#include "tokenizer/bpe.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ElmBpe *bpe;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *shared = getenv("ELM_SHARED");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data/gpt2-vocab", shared && shared[0] ? shared : "../shared");
    ElmError err;
    bpe = elm_bpe_load_dir(dir, &err);
    if (!bpe) {
        fprintf(stderr, "fuzz_bpe: %s (set ELM_SHARED)\n", err.msg);
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    const char *text = (const char *)data;
    for (int special = 0; special < 2; special++) {
        int32_t *ids = NULL;
        size_t n = 0, cap = 0, len = 0;
        ElmError err;
        int rc = elm_bpe_encode(bpe, text, size, special, &ids, &n, &cap, &err);
        assert(rc == 0);
        for (size_t i = 0; i < n; i++) assert(ids[i] >= 0 && ids[i] < elm_bpe_vocab_size(bpe));
        if (!special)
            for (size_t i = 0; i < n; i++) assert(ids[i] != elm_bpe_eot(bpe));
        char *back = elm_bpe_decode(bpe, ids, n, &len, &err);
        assert(back && len == size && memcmp(back, text, size) == 0 && back[len] == '\0');
        free(back);
        free(ids);
    }
    return 0;
}
