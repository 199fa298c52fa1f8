// fuzz_state.c — libFuzzer harness for the training-state reader (elm_checkpoint_state_read,
// state.bin) and the token-shard reader (elm_shard_read). Built by tests/fuzz/build.sh.
//
// The input is read as given and, so the fuzzer gets past the checksum, a second time with its
// magic and checksum (bytes 120..128) made right; then as a token shard.
#include "engine/model/checkpoint.h"
#include "engine/base/hash.h"
#include "engine/base/fsutil.h"
#include "engine/base/le.h"
#include "tokenizer/shard.h"
#include "fuzz_util.h"

#include <assert.h>

static void read_state(const unsigned char *data, size_t size) {
    const char *path = fuzz_write_tmp(data, size, ".bin");
    if (!path) return;
    ElmTrainState st;
    float *m, *v;
    ElmError err;
    if (elm_checkpoint_state_read(path, &st, &m, &v, &err) == 0) {
        assert(size == ELM_STATE_HEADER_BYTES + 8 * st.n_params);
        volatile float sum = 0;
        for (uint64_t i = 0; i < st.n_params; i++) sum += m[i] + v[i];
        free(m), free(v);
    } else {
        assert(!m && !v);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    read_state(data, size);
    if (size >= ELM_STATE_HEADER_BYTES) {
        unsigned char *fixed = malloc(size);
        if (!fixed) return 0;
        memcpy(fixed, data, size);
        memcpy(fixed, ELM_STATE_MAGIC, 8);
        uint64_t sum = elm_hash_fnv1a(ELM_HASH_FNV_OFFSET, fixed, 120);
        sum = elm_hash_fnv1a(sum, fixed + ELM_STATE_HEADER_BYTES, size - ELM_STATE_HEADER_BYTES);
        elm_le_put64(fixed + 120, sum);
        read_state(fixed, size);
        free(fixed);
    }
    const char *path = fuzz_write_tmp(data, size, ".bin");
    ElmShardHeader hdr;
    int32_t *ids = NULL;
    ElmError err;
    if (path && elm_shard_read(path, &hdr, &ids, &err) == 0) {
        assert(size == ELM_SHARD_HEADER_BYTES + hdr.n_tokens * hdr.dtype_bytes);
        for (uint64_t i = 0; i < hdr.n_tokens; i++)
            assert(ids[i] >= 0 && (uint32_t)ids[i] < hdr.vocab_size);
        free(ids);
    }
    return 0;
}
