// text.h — characters of UTF-8 text and where tweets and stories are cut to their limits.
// Used by generate.c, the batcher and gen_device.c; no model involved.
#ifndef ELM_TEXTCUT_H
#define ELM_TEXTCUT_H

#include <stddef.h>

// Characters are code points; a byte that does not start a well-formed UTF-8 sequence counts
// as one character. White space is ASCII: space, \t, \n, \r, \v, \f.
size_t elm_text_chars(const char *s, size_t n);

int elm_text_is_space(unsigned char c);
// A malloc'd NUL-terminated copy of s[0..n) with every such invalid byte replaced by U+FFFD.
char *elm_text_sanitize(const char *s, size_t n);

// Both cuts return a byte length in [keep_min, n]; keep_min (the prompt) is never cut into.
// The longest prefix of at most max_chars characters that ends before white space (or at the
// end of s when s is within the limit and `whole` is set); a hard cut at max_chars characters
// when no such boundary lies beyond keep_min.
size_t elm_text_cut_words(const char *s, size_t n, size_t keep_min, int max_chars, int whole);
// The longest prefix of at most max_chars characters that ends a sentence: '.', '!', '?' or
// '…', then any closing quotes or brackets, then white space or the end of s. Falls back to
// elm_text_cut_words when there is none beyond keep_min.
size_t elm_text_cut_sentence(const char *s, size_t n, size_t keep_min, int max_chars);

#endif
