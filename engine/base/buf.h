// buf.h — a growable byte string with printf-style appends.
// Used by the report and SVG writers to build pages in memory before one atomic write.
#ifndef ELM_STRBUF_H
#define ELM_STRBUF_H

#include <stddef.h>

typedef struct ElmBuf {
    char *data;
    size_t len, cap;
    int oom; // set once an allocation failed; later appends are dropped
} ElmBuf;

void elm_buf_printf(ElmBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void elm_buf_append(ElmBuf *b, const char *s, size_t n);
// Appends s with &, <, >, " and ' escaped for HTML/SVG text and attributes.
void elm_buf_html(ElmBuf *b, const char *s);
void elm_buf_free(ElmBuf *b);

#endif
