// utf8.c — UTF-8 decoding per Unicode 15 §3.9 (Table 3-7, well-formed byte sequences).
#include "engine/base/utf8.h"

#include <string.h>

int elm_utf8_decode(const unsigned char *s, size_t n, int32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = (int32_t)c;
        return 1;
    }
    int need;
    unsigned lo = 0x80, hi = 0xBF; // allowed range of the second byte
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1, v = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2, v = c & 0x0F;
        if (c == 0xE0) lo = 0xA0; // no overlong forms
        if (c == 0xED) hi = 0x9F; // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3, v = c & 0x07;
        if (c == 0xF0) lo = 0x90; // no overlong forms
        if (c == 0xF4) hi = 0x8F; // nothing above U+10FFFF
    } else {
        *cp = -1;
        return 1;
    }
    for (int i = 1; i <= need; i++) {
        if ((size_t)i >= n) {
            *cp = -1;
            return i;
        }
        unsigned b = s[i];
        unsigned l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (b < l || b > h) {
            *cp = -1;
            return i;
        }
        v = (v << 6) | (b & 0x3F);
    }
    *cp = (int32_t)v;
    return need + 1;
}

size_t elm_utf8_check(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        // ASCII fast path, 8 bytes at a time
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ULL) break;
            i += 8;
        }
        if (i >= n) break;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        int32_t cp;
        int len = elm_utf8_decode(p + i, n - i, &cp);
        if (cp < 0) return i;
        i += (size_t)len;
    }
    return n;
}

size_t elm_utf8_repair(const char *s, size_t n, char *out, size_t *n_bad) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0, bad = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            out[o++] = (char)p[i++];
            continue;
        }
        int32_t cp;
        int len = elm_utf8_decode(p + i, n - i, &cp);
        if (cp < 0) {
            out[o++] = (char)0xEF, out[o++] = (char)0xBF, out[o++] = (char)0xBD;
            bad++;
        } else {
            memcpy(out + o, p + i, (size_t)len);
            o += (size_t)len;
        }
        i += (size_t)len;
    }
    if (n_bad) *n_bad = bad;
    return o;
}

int elm_utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp > 0x10FFFF) return 0;
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t elm_utf8_length(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, count = 0;
    while (i < n) {
        int32_t cp;
        i += p[i] < 0x80 ? 1 : (size_t)elm_utf8_decode(p + i, n - i, &cp);
        count++;
    }
    return count;
}

size_t elm_utf8_cp_index(const char *s, size_t off) {
    return elm_utf8_length(s, off);
}
