#include "error.h"

#include <stdio.h>
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
