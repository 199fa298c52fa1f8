// hash.c — the content hash, the table-key hash, FNV-1a and SHA-256 (see hash.h).
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

// ---- SHA-256 (FIPS 180-4, section 6.2) -----------------------------------------------------

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr32(uint32_t x, int r) {
    return (x >> r) | (x << (32 - r));
}

// One 64-byte block into the state.
static void sha256_block(uint32_t h[8], const unsigned char *p) {
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr32(w[t - 15], 7) ^ rotr32(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr32(w[t - 2], 17) ^ rotr32(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = k + (rotr32(e, 6) ^ rotr32(e, 11) ^ rotr32(e, 25)) + ((e & f) ^ (~e & g)) +
                      sha256_k[t] + w[t];
        uint32_t t2 =
            (rotr32(a, 2) ^ rotr32(a, 13) ^ rotr32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

void elm_hash_sha256_init(ElmSha256 *s) {
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->n_bytes = 0;
    s->fill = 0;
}

void elm_hash_sha256_update(ElmSha256 *s, const void *data, size_t n) {
    const unsigned char *p = data;
    s->n_bytes += n;
    if (s->fill) {
        size_t take = 64 - s->fill < n ? 64 - s->fill : n;
        memcpy(s->block + s->fill, p, take);
        s->fill += take, p += take, n -= take;
        if (s->fill < 64) return;
        sha256_block(s->h, s->block);
        s->fill = 0;
    }
    for (; n >= 64; p += 64, n -= 64) sha256_block(s->h, p);
    memcpy(s->block, p, n);
    s->fill = n;
}

// Padding: a 1 bit, zeros to 56 mod 64 bytes, the message length in bits (big-endian).
void elm_hash_sha256_final(ElmSha256 *s, unsigned char digest[32]) {
    uint64_t bits = s->n_bytes * 8;
    unsigned char pad[72] = {0x80};
    size_t n_pad = (s->fill < 56 ? 56 : 120) - s->fill;
    for (int i = 0; i < 8; i++) pad[n_pad + i] = (unsigned char)(bits >> (56 - 8 * i));
    elm_hash_sha256_update(s, pad, n_pad + 8);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++) digest[4 * i + j] = (unsigned char)(s->h[i] >> (24 - 8 * j));
}

int elm_hash_sha256_file(const char *path, char hex[65], ElmError *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return elm_err(err, "%s: cannot read: %s", path, strerror(errno));
    static const size_t CH = 1 << 20;
    unsigned char *buf = elm_malloc(CH, err);
    if (!buf) {
        fclose(f);
        return -1;
    }
    ElmSha256 s;
    elm_hash_sha256_init(&s);
    size_t got;
    while ((got = fread(buf, 1, CH, f)) > 0) elm_hash_sha256_update(&s, buf, got);
    int bad = ferror(f);
    free(buf);
    fclose(f);
    if (bad) return elm_err(err, "%s: read error", path);
    unsigned char d[32];
    elm_hash_sha256_final(&s, d);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return 0;
}
