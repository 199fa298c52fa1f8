#include "engine/base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(ElmBuf *b, size_t extra) {
    if (b->oom) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->oom = 1;
        return -1;
    }
    b->data = d, b->cap = cap;
    return 0;
}

void elm_buf_append(ElmBuf *b, const char *s, size_t n) {
    if (reserve(b, n)) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void elm_buf_printf(ElmBuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void elm_buf_html(ElmBuf *b, const char *s) {
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '&':
            elm_buf_append(b, "&amp;", 5);
            break;
        case '<':
            elm_buf_append(b, "&lt;", 4);
            break;
        case '>':
            elm_buf_append(b, "&gt;", 4);
            break;
        case '"':
            elm_buf_append(b, "&quot;", 6);
            break;
        case '\'':
            elm_buf_append(b, "&#39;", 5);
            break;
        default:
            elm_buf_append(b, p, 1);
        }
    }
}

void elm_buf_free(ElmBuf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
