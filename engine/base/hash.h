// hash.h — elm's hashes: the content hash of files and buffers that caches and manifests record,
// FNV-1a for checksums in file formats, mixers for hash tables, and SHA-256 (FIPS 180-4) for
// checking downloads against the digest their server publishes.
#ifndef ELM_HASH_H
#define ELM_HASH_H

#include "engine/base/error.h"

#include <stddef.h>
#include <stdint.h>

// MurmurHash3's 64-bit finaliser: every input bit reaches every output bit.
static inline uint64_t elm_hash_mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 33;
    return h;
}

// The content hash, continued from h over n more bytes: 8 bytes a step through
// elm_hash_mix64, so that hashing a large checkpoint costs little next to reading it.
uint64_t elm_hash_bytes(uint64_t h, const void *data, size_t n);

// elm_hash_bytes of a file's bytes, read 1 MiB at a time from ELM_HASH_FILE_SEED, as 16 hex
// digits (what manifest.json records for inputs and outputs).
#define ELM_HASH_FILE_SEED 0x243F6A8885A308D3ull
int elm_hash_file(const char *path, char hex[17], ElmError *err);

// A short key (a token's bytes, a word) for in-memory hash tables, from h0: one multiply and
// shift per 8 bytes. Not stable across versions: never stored.
uint64_t elm_hash_key(uint64_t h0, const void *data, size_t n);

// FNV-1a 64-bit, continued from h over n more bytes (start from ELM_HASH_FNV_OFFSET); the
// checksum of training-state files (state.bin) and the seeded hash of ingest's id sets.
#define ELM_HASH_FNV_OFFSET 1469598103934665603ull
uint64_t elm_hash_fnv1a(uint64_t h, const void *data, size_t n);

// SHA-256, streamed: init, update over any split of the bytes, final (which leaves the state
// spent). The Hugging Face Hub names an LFS file by its SHA-256; a download is checked with it.
typedef struct ElmSha256 {
    uint32_t h[8];
    uint64_t n_bytes; // message bytes so far
    unsigned char block[64];
    size_t fill; // bytes in block
} ElmSha256;

void elm_hash_sha256_init(ElmSha256 *s);
void elm_hash_sha256_update(ElmSha256 *s, const void *data, size_t n);
void elm_hash_sha256_final(ElmSha256 *s, unsigned char digest[32]);
// The digest of a file's bytes (read as they are, no gzip), as 64 lower-case hex digits.
int elm_hash_sha256_file(const char *path, char hex[65], ElmError *err);

#endif
