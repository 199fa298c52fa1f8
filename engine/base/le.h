// le.h — little-endian integers in byte buffers, for elm's binary headers (token shards,
// training state). Header-only: used by tokenizer/shard.c and engine/model/checkpoint.c.
#ifndef ELM_LE_H
#define ELM_LE_H

#include <stdint.h>

static inline void elm_le_put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void elm_le_put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t elm_le_get32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static inline uint64_t elm_le_get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

#endif
