// hash.c — the content hash, the table-key hash and FNV-1a (see hash.h).
#include "engine/base/hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t elm_hash_bytes(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = elm_hash_mix64(h ^ w) + 0x9E3779B97F4A7C15ull;
    }
    uint64_t tail = 0;
    memcpy(&tail, p + i, n - i);
    return elm_hash_mix64(h ^ tail ^ ((uint64_t)n << 56));
}

int elm_hash_file(const char *path, char hex[17], ElmError *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return elm_err(err, "%s: cannot read: %s", path, strerror(errno));
    static const size_t CH = 1 << 20;
    unsigned char *buf = elm_malloc(CH, err);
    if (!buf) {
        fclose(f);
        return -1;
    }
    uint64_t h = ELM_HASH_FILE_SEED;
    size_t got;
    while ((got = fread(buf, 1, CH, f)) > 0) h = elm_hash_bytes(h, buf, got);
    int bad = ferror(f);
    free(buf);
    fclose(f);
    if (bad) return elm_err(err, "%s: read error", path);
    snprintf(hex, 17, "%016llx", (unsigned long long)h);
    return 0;
}

uint64_t elm_hash_key(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        p += 8, n -= 8;
    }
    uint64_t v = 0;
    memcpy(&v, p, n);
    h = (h ^ v) * 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 29);
}

uint64_t elm_hash_fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}
