// json_write.c — see json_write.h.
#include "engine/base/json_write.h"

// Single-threaded writers: the unlocked stdio calls (glibc) skip a lock per call.
#ifdef __GLIBC__
#define putc putc_unlocked
#define fwrite fwrite_unlocked
#define fputs fputs_unlocked
#endif

#include <string.h>

void elm_json_write_string(FILE *f, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    putc('"', f);
    size_t run = 0; // start of the pending span that needs no escaping
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        if (i > run) fwrite(s + run, 1, i - run, f);
        run = i + 1;
        char esc[7] = {'\\', 0};
        size_t len = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
            len = 6;
        }
        fwrite(esc, 1, len, f);
    }
    if (n > run) fwrite(s + run, 1, n - run, f);
    putc('"', f);
}

void elm_json_write_field(FILE *f, const char *key, const char *s, size_t n, int first) {
    if (!first) putc(',', f);
    putc('"', f);
    fputs(key, f);
    fputs("\":", f);
    elm_json_write_string(f, s, n);
}
