// pretok.h — GPT-2's pre-tokenisation: splits text into the pieces BPE runs on, with the regex
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ through PCRE2 JIT.
// Used by bpe.c (encoding) and bpe_train.c (word counts).
#ifndef ELM_PRETOK_H
#define ELM_PRETOK_H

#include "engine/base/error.h"

#include <stddef.h>

// The pattern exactly as tiktoken's "gpt2" encoding spells it (\s there is Unicode White_Space).
#define ELM_GPT2_PATTERN                                                                           \
    "'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

// The compiled pattern: read-only after elm_pretok_init, shared by every thread.
typedef struct ElmPretok {
    void *code; // pcre2_code_8
    int jit;    // 1 when JIT-compiled
} ElmPretok;

// One thread's matching state (match data, JIT stack, scratch for invalid UTF-8).
typedef struct ElmPretokState {
    void *md, *mctx, *jstack;
    char *sub;   // text with invalid bytes replaced by U+FFFD
    size_t *map; // sub offset -> text offset
    size_t cap;  // capacity of sub/map
} ElmPretokState;

int elm_pretok_init(ElmPretok *pt, ElmError *err);
void elm_pretok_free(ElmPretok *pt);
int elm_pretok_state_init(const ElmPretok *pt, ElmPretokState *st, ElmError *err);
void elm_pretok_state_free(ElmPretokState *st);

// Called for each piece, in order; a non-zero return stops the split with that status.
typedef int (*ElmPieceFn)(const char *piece, size_t len, void *user);

// Splits text[0..n) into pieces that cover it exactly. Any bytes are accepted: for splitting, a
// byte that is not part of a valid UTF-8 sequence counts as U+FFFD (neither letter, number nor
// space), while the piece handed to fn keeps the original bytes.
int elm_pretok_split(const ElmPretok *pt, ElmPretokState *st, const char *text, size_t n,
                     ElmPieceFn fn, void *user, ElmError *err);

// Length of the valid UTF-8 sequence starting at p (1..4), or 0 when p[0] does not start one
// (strict: no overlongs, no surrogates, nothing above U+10FFFF).
int elm_utf8_seq_len(const unsigned char *p, size_t avail);
// 1 when all of text[0..n) is valid UTF-8.
int elm_utf8_valid(const char *text, size_t n);

#endif
