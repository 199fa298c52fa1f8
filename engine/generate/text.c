// text.c — character counts and the tweet/story cuts of text.h.
#include "engine/generate/text.h"

#include <stdlib.h>
#include <string.h>

// Bytes of the character at s[0] (n > 0): a well-formed UTF-8 sequence, else 1.
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t k;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF)
        k = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        k = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        k = 4, min = 0x10000;
    else
        return 1;
    if (n < k) return 1;
    unsigned cp = c & (0x7F >> k);
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 1;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 1;
    return k;
}

size_t elm_text_chars(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i += utf8_len((const unsigned char *)s + i, n - i)) c++;
    return c;
}

int elm_text_is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Byte offset after the first max_chars characters of s (n when s is shorter).
static size_t char_limit(const char *s, size_t n, int max_chars) {
    size_t i = 0;
    for (int c = 0; c < max_chars && i < n; c++) i += utf8_len((const unsigned char *)s + i, n - i);
    return i;
}

size_t elm_text_cut_words(const char *s, size_t n, size_t keep_min, int max_chars, int whole) {
    size_t lim = char_limit(s, n, max_chars);
    if (whole && lim == n) return n;
    size_t best = 0;
    int found = 0;
    for (size_t i = keep_min + 1; i <= lim && i < n; i++)
        if (elm_text_is_space((unsigned char)s[i]) && !elm_text_is_space((unsigned char)s[i - 1]))
            best = i, found = 1;
    if (found) return best;
    return lim > keep_min ? lim : keep_min;
}

// Length of a closing quote or bracket at s[0], or 0.
static size_t closer_len(const char *s, size_t n) {
    if (n >= 1 && strchr("\"')]}", s[0]) && s[0]) return 1;
    if (n >= 3 && (memcmp(s, "\xE2\x80\x9D", 3) == 0 || memcmp(s, "\xE2\x80\x99", 3) == 0))
        return 3;
    if (n >= 2 && memcmp(s, "\xC2\xBB", 2) == 0) return 2;
    return 0;
}

size_t elm_text_cut_sentence(const char *s, size_t n, size_t keep_min, int max_chars) {
    size_t lim = char_limit(s, n, max_chars);
    size_t best = 0;
    for (size_t i = 0; i < lim;) {
        size_t t = 0;
        if (s[i] == '.' || s[i] == '!' || s[i] == '?')
            t = 1;
        else if (lim - i >= 3 && memcmp(s + i, "\xE2\x80\xA6", 3) == 0)
            t = 3;
        if (!t) {
            i += utf8_len((const unsigned char *)s + i, n - i);
            continue;
        }
        size_t j = i + t, c;
        while (j < lim && (c = closer_len(s + j, lim - j)) > 0) j += c;
        if (j > keep_min && (j == n || (j < n && elm_text_is_space((unsigned char)s[j])))) best = j;
        i += t;
    }
    if (best) return best;
    return elm_text_cut_words(s, n, keep_min, max_chars, 0);
}

char *elm_text_sanitize(const char *s, size_t n) {
    char *out = malloc(3 * n + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len((const unsigned char *)s + i, n - i);
        if (k == 1 && (unsigned char)s[i] >= 0x80) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
        } else {
            memcpy(out + o, s + i, k);
            o += k;
        }
        i += k;
    }
    out[o] = '\0';
    return out;
}
