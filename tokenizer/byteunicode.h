// byteunicode.h — GPT-2's byte <-> unicode alphabet: how encoder.json and vocab.bpe spell bytes
// as printable characters, and the order of the 256 single-byte tokens. Used by bpe.c, bpe_train.c.
#ifndef ELM_BYTEUNICODE_H
#define ELM_BYTEUNICODE_H

#include <stddef.h>
#include <stdint.h>

// Code point that spells byte b: b itself for the 188 printable bytes ('!'..'~', U+00A1..U+00AC,
// U+00AE..U+00FF), 256 + k for the k-th other byte (so ' ' is U+0120 'Ġ').
uint32_t elm_byte_to_cp(uint8_t b);
// The byte a code point spells, or -1 when it is outside the alphabet.
int elm_cp_to_byte(uint32_t cp);
// The byte of single-byte token rank r (0..255): the printable bytes in order, then the others;
// GPT-2's encoder.json and tiktoken give the byte tokens ids in this order.
uint8_t elm_byte_of_rank(int r);

// Spells bytes as GPT-2 alphabet UTF-8 into out (up to 2 bytes per input byte); returns length.
size_t elm_bytes_to_gpt2(const unsigned char *b, size_t n, char *out);
// Reads a GPT-2 alphabet string back to bytes (out needs n bytes); -1 on a foreign character.
long elm_gpt2_to_bytes(const char *s, size_t n, unsigned char *out);

#endif
