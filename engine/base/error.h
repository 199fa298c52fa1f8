// error.h — ElmError: the one way elm reports failures up the call stack, and the allocations
// that report into it. Every library function takes an ElmError* and returns non-zero/NULL on
// failure; only main prints.
#ifndef ELM_ERROR_H
#define ELM_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ELM_ERROR_MAX 1024

typedef struct ElmError {
    char msg[ELM_ERROR_MAX];
} ElmError;

// Formats the message into e (if e is non-NULL) and returns -1, so callers can write
// `return elm_err(e, "%s:%d: ...", file, line);`.
int elm_err(ElmError *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int elm_verr(ElmError *e, const char *fmt, va_list ap);

// Prepends "prefix: " to an existing message (used to add the stage or file name).
void elm_err_prefix(ElmError *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// malloc, calloc and realloc that fill e with "out of memory" when they return NULL (a zero
// size is allocated as one byte, so NULL always means failure). elm_realloc leaves p as it was
// on failure, as realloc does.
void *elm_malloc(size_t n, ElmError *e);
void *elm_calloc(size_t count, size_t size, ElmError *e);
void *elm_realloc(void *p, size_t n, ElmError *e);

#ifdef __cplusplus
}
#endif

#endif
