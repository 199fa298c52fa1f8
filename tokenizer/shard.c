#include "tokenizer/shard.h"
#include "engine/base/le.h"
#include "engine/base/fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int elm_shard_write(const char *path, const int32_t *ids, size_t n, uint32_t vocab_size,
                    uint32_t eot, uint64_t n_docs, ElmError *err) {
    uint32_t dtype = vocab_size <= 65536u ? 2u : 4u;
    if (vocab_size == 0 || vocab_size > (uint32_t)INT32_MAX + 1)
        return elm_err(err, "%s: vocab_size %u is not in 1..2^31", path, vocab_size);
    unsigned char hdr[ELM_SHARD_HEADER_BYTES] = {0};
    memcpy(hdr, ELM_SHARD_MAGIC, 8);
    elm_le_put32(hdr + 8, ELM_SHARD_VERSION);
    elm_le_put32(hdr + 12, vocab_size);
    elm_le_put32(hdr + 16, dtype);
    elm_le_put32(hdr + 20, eot);
    elm_le_put64(hdr + 24, (uint64_t)n);
    elm_le_put64(hdr + 32, n_docs);
    ElmAtomicFile af;
    if (elm_atomic_open(&af, path, err)) return -1;
    int ok = fwrite(hdr, 1, sizeof hdr, af.f) == sizeof hdr;
    unsigned char buf[1 << 14];
    size_t fill = 0;
    for (size_t i = 0; ok && i < n; i++) {
        if (ids[i] < 0 || (uint32_t)ids[i] >= vocab_size) {
            elm_atomic_abort(&af);
            return elm_err(err, "%s: token id %d at %zu is outside the vocabulary (%u)", path,
                           ids[i], i, vocab_size);
        }
        if (dtype == 2) {
            buf[fill++] = (unsigned char)ids[i];
            buf[fill++] = (unsigned char)(ids[i] >> 8);
        } else {
            elm_le_put32(buf + fill, (uint32_t)ids[i]);
            fill += 4;
        }
        if (fill + 4 > sizeof buf) {
            ok = fwrite(buf, 1, fill, af.f) == fill;
            fill = 0;
        }
    }
    if (ok && fill) ok = fwrite(buf, 1, fill, af.f) == fill;
    if (!ok) return elm_atomic_fail(&af, err);
    return elm_atomic_commit(&af, err);
}

int elm_shard_read(const char *path, ElmShardHeader *hdr, int32_t **ids, ElmError *err) {
    *ids = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return elm_err(err, "%s: cannot open token shard: %s", path, strerror(errno));
    unsigned char h[ELM_SHARD_HEADER_BYTES];
    if (fread(h, 1, sizeof h, f) != sizeof h) {
        fclose(f);
        return elm_err(err, "%s: not a token shard (file shorter than its header)", path);
    }
    if (memcmp(h, ELM_SHARD_MAGIC, 8) != 0) {
        fclose(f);
        return elm_err(err, "%s: not a token shard (bad magic)", path);
    }
    hdr->version = elm_le_get32(h + 8);
    hdr->vocab_size = elm_le_get32(h + 12);
    hdr->dtype_bytes = elm_le_get32(h + 16);
    hdr->eot = elm_le_get32(h + 20);
    hdr->n_tokens = elm_le_get64(h + 24);
    hdr->n_docs = elm_le_get64(h + 32);
    const char *bad = NULL;
    if (hdr->version != ELM_SHARD_VERSION)
        bad = "unsupported version";
    else if (hdr->dtype_bytes != 2 && hdr->dtype_bytes != 4)
        bad = "dtype must be 2 or 4 bytes";
    else if (hdr->vocab_size == 0)
        bad = "vocab_size is 0";
    else if (hdr->vocab_size > (uint32_t)INT32_MAX + 1)
        bad = "vocab_size past 2^31 (ids are read as int32)";
    else if (hdr->dtype_bytes == 2 && hdr->vocab_size > 65536)
        bad = "vocab too big for uint16";
    else if (hdr->eot != 0xFFFFFFFFu && hdr->eot >= hdr->vocab_size)
        bad = "eot outside vocab";
    if (bad) {
        fclose(f);
        return elm_err(err, "%s: bad token shard header: %s", path, bad);
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return elm_err(err, "%s: cannot seek", path);
    }
    long size = ftell(f);
    uint64_t want = ELM_SHARD_HEADER_BYTES + hdr->n_tokens * hdr->dtype_bytes;
    if (size < 0 || (uint64_t)size != want || hdr->n_tokens > ((uint64_t)1 << 40)) {
        fclose(f);
        return elm_err(err, "%s: header says %llu tokens (%llu bytes) but the file has %ld bytes",
                       path, (unsigned long long)hdr->n_tokens, (unsigned long long)want, size);
    }
    fseek(f, ELM_SHARD_HEADER_BYTES, SEEK_SET);
    size_t n = (size_t)hdr->n_tokens;
    int32_t *out = malloc(sizeof(int32_t) * (n ? n : 1));
    unsigned char *raw = malloc(n * hdr->dtype_bytes + 1);
    if (!out || !raw) {
        free(out), free(raw), fclose(f);
        return elm_err(err, "%s: out of memory for %zu tokens", path, n);
    }
    if (fread(raw, hdr->dtype_bytes, n, f) != n) {
        free(out), free(raw), fclose(f);
        return elm_err(err, "%s: short read", path);
    }
    fclose(f);
    for (size_t i = 0; i < n; i++) {
        uint32_t v = hdr->dtype_bytes == 2 ? (uint32_t)(raw[2 * i] | (raw[2 * i + 1] << 8))
                                           : elm_le_get32(raw + 4 * i);
        if (v >= hdr->vocab_size) {
            free(out), free(raw);
            return elm_err(err, "%s: token %zu has id %u, outside the vocabulary (%u)", path, i, v,
                           hdr->vocab_size);
        }
        out[i] = (int32_t)v;
    }
    free(raw);
    *ids = out;
    return 0;
}
