// buf.h — a growable byte string with printf-style appends.
// Pages, settings texts, CSV fields and command output are built in one and written at once.
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
