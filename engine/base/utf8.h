// utf8.h — UTF-8 validation, decoding and repair (invalid bytes -> U+FFFD, counted), code-point
// iteration and byte <-> code-point offsets.
#ifndef ELM_UTF8_H
#define ELM_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define ELM_UTF8_REPLACEMENT 0xFFFDu

// Decodes the code point at s[0..n). Returns its length in bytes (1-4) and sets *cp; for an
// ill-formed sequence returns the length of its maximal subpart (>= 1, the bytes one U+FFFD
// replaces, as Unicode's "best practice" and Python's errors="replace" do) and sets *cp = -1.
int elm_utf8_decode(const unsigned char *s, size_t n, int32_t *cp);

// Byte offset of the first ill-formed sequence, or n when all of s[0..n) is valid UTF-8.
size_t elm_utf8_check(const char *s, size_t n);

// Copies s[0..n) to out, replacing each maximal ill-formed subpart with U+FFFD (EF BF BD).
// out must hold 3 * n bytes. Returns the output length; *n_bad (if non-NULL) gets the number of
// replacements.
size_t elm_utf8_repair(const char *s, size_t n, char *out, size_t *n_bad);

// Encodes cp (<= 0x10FFFF, not a surrogate) into out; returns 1-4 (0 if cp is invalid).
int elm_utf8_encode(uint32_t cp, char out[4]);

// Number of code points in valid UTF-8 s[0..n) (each ill-formed subpart counts as one).
size_t elm_utf8_length(const char *s, size_t n);

// Code-point index of byte offset `off` in s (off <= n, at a code-point boundary).
size_t elm_utf8_cp_index(const char *s, size_t off);

#endif
