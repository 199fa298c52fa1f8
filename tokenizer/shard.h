// shard.h — token shards: the files `elm tokenize` writes and `elm train` reads.
// Layout (little-endian): a 64-byte header, then n_tokens ids of dtype_bytes each.
#ifndef ELM_SHARD_H
#define ELM_SHARD_H

#include "engine/base/error.h"

#include <stddef.h>
#include <stdint.h>

// Header, 64 bytes on disk:
//   0  char[8]  magic "ELMTOK1\0"
//   8  u32      version (1)
//  12  u32      vocab_size (1..2^31: every id fits an int32)
//  16  u32      dtype_bytes (2 = uint16 ids, 4 = uint32 ids; 2 whenever vocab_size <= 65536)
//  20  u32      eot (id of <|endoftext|>, the document separator; 0xFFFFFFFF if none)
//  24  u64      n_tokens
//  32  u64      n_docs
//  40  u8[24]   zero
#define ELM_SHARD_MAGIC "ELMTOK1"
#define ELM_SHARD_HEADER_BYTES 64
#define ELM_SHARD_VERSION 1u

typedef struct ElmShardHeader {
    uint32_t version, vocab_size, dtype_bytes, eot;
    uint64_t n_tokens, n_docs;
} ElmShardHeader;

// Writes ids atomically; every id must be < vocab_size.
int elm_shard_write(const char *path, const int32_t *ids, size_t n, uint32_t vocab_size,
                    uint32_t eot, uint64_t n_docs, ElmError *err);
// Reads and checks a shard: magic, version, dtype, the file size against n_tokens, every id
// against vocab_size. *ids is malloc'd (caller frees).
int elm_shard_read(const char *path, ElmShardHeader *hdr, int32_t **ids, ElmError *err);

#endif
