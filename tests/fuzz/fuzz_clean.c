// fuzz_clean.c — libFuzzer harness for the tweet cleaner (elm_clean_text, elm_html_decode).
// Built by tests/fuzz/build.sh.
//
// The input (made valid UTF-8, as the cleaner's contract asks) is cleaned with elm's default
// options and with each action applied to every entity type; the output must be valid UTF-8,
// NUL-terminated and no longer than the input (cleaning only drops or collapses bytes).
#include "engine/data/clean.h"
#include "engine/base/utf8.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    static ElmCleaner *c[4];
    if (!c[0]) {
        ElmCleanOptions opt;
        ElmError err;
        elm_clean_options_default(&opt);
        c[0] = elm_cleaner_new(&opt, &err);
        for (int a = 0; a < 3; a++) { // keep, remove, word for every type
            for (int t = 0; t < ELM_ENT_COUNT; t++) opt.action[t] = a;
            opt.html_entities = a != 0;
            c[1 + a] = elm_cleaner_new(&opt, &err);
        }
        for (int i = 0; i < 4; i++)
            if (!c[i]) abort();
    }
    char *s = malloc(3 * size + 1);
    if (!s) return 0;
    size_t n = elm_utf8_repair((const char *)data, size, s, NULL);
    for (int i = 0; i < 4; i++) {
        unsigned long long found[ELM_ENT_COUNT] = {0};
        size_t len = (size_t)-1;
        const char *out = elm_clean_text(c[i], s, n, &len, found);
        assert(out && len <= n && out[len] == '\0');
        assert(elm_utf8_check(out, len) == len);
    }
    char *dec = malloc(n + 1);
    if (dec) {
        size_t m = elm_html_decode(s, n, dec);
        assert(m <= n);
    }
    free(dec);
    free(s);
    return 0;
}
