// byteunicode.c — GPT-2's byte <-> unicode alphabet (see byteunicode.h).
#include "tokenizer/byteunicode.h"

static int printable(int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t elm_byte_to_cp(uint8_t b) {
    // The 68 others, in order: 0x00..0x20, 0x7F..0xA0, 0xAD.
    if (printable(b)) return b;
    if (b <= 0x20) return 256u + b;
    if (b <= 0xA0) return 256u + 33u + (b - 0x7Fu);
    return 256u + 67u;
}

int elm_cp_to_byte(uint32_t cp) {
    if (cp < 256) return printable((int)cp) ? (int)cp : -1;
    uint32_t k = cp - 256;
    if (k < 33) return (int)k;
    if (k < 67) return (int)(0x7F + k - 33);
    return k == 67 ? 0xAD : -1;
}

uint8_t elm_byte_of_rank(int r) {
    int k = 0;
    for (int b = 0; b < 256; b++)
        if (printable(b) && k++ == r) return (uint8_t)b;
    for (int b = 0; b < 256; b++)
        if (!printable(b) && k++ == r) return (uint8_t)b;
    return 0;
}

size_t elm_bytes_to_gpt2(const unsigned char *b, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = elm_byte_to_cp(b[i]);
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else {
            out[o++] = (char)(0xC0 | (cp >> 6));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    return o;
}

long elm_gpt2_to_bytes(const char *s, size_t n, unsigned char *out) {
    const unsigned char *p = (const unsigned char *)s;
    long o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        if (p[i] < 0x80) {
            cp = p[i++];
        } else if ((p[i] & 0xE0) == 0xC0 && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
            cp = ((uint32_t)(p[i] & 0x1F) << 6) | (p[i + 1] & 0x3F);
            i += 2;
        } else {
            return -1; // every alphabet character is 1 or 2 UTF-8 bytes
        }
        int b = elm_cp_to_byte(cp);
        if (b < 0) return -1;
        out[o++] = (unsigned char)b;
    }
    return o;
}
