// elmtest.h — the few macros elm's C tests use: checks that count, and a summary line.
// Include once per test program; call ELM_TEST_DONE() at the end of main.
#ifndef ELM_TEST_H
#define ELM_TEST_H

#include <stdio.h>
#include <stdlib.h>

static int elm_test_pass, elm_test_fail;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            elm_test_pass++;                                                                       \
        } else {                                                                                   \
            elm_test_fail++;                                                                       \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define ELM_TEST_DONE()                                                                            \
    do {                                                                                           \
        printf("%d passed, %d failed\n", elm_test_pass, elm_test_fail);                            \
        return elm_test_fail ? 1 : 0;                                                              \
    } while (0)

// The ../shared folder (ELM_SHARED), or NULL with a message.
static inline const char *elm_test_shared(void) {
    const char *s = getenv("ELM_SHARED");
    if (!s) fprintf(stderr, "ELM_SHARED is not set (run through ctest)\n");
    return s;
}

#endif
