// hash.h — elm's non-cryptographic hashes: the content hash of files and buffers that caches
// and manifests record, FNV-1a for checksums in file formats, and mixers for hash tables.
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

#endif
