#include "engine/base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int elm_verr(ElmError *e, const char *fmt, va_list ap) {
    if (e) vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return -1;
}

int elm_err(ElmError *e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    elm_verr(e, fmt, ap);
    va_end(ap);
    return -1;
}

void elm_err_prefix(ElmError *e, const char *fmt, ...) {
    if (!e) return;
    char prefix[256], old[ELM_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    snprintf(e->msg, sizeof e->msg, "%s: %s", prefix, old);
}

void *elm_malloc(size_t n, ElmError *e) {
    void *p = malloc(n ? n : 1);
    if (!p) elm_err(e, "out of memory");
    return p;
}

void *elm_calloc(size_t count, size_t size, ElmError *e) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) elm_err(e, "out of memory");
    return p;
}

void *elm_realloc(void *p, size_t n, ElmError *e) {
    void *q = realloc(p, n ? n : 1);
    if (!q) elm_err(e, "out of memory");
    return q;
}
