// json_line.h — reads chosen string fields of one JSON object (one line of a .jsonl file) into
// a reused buffer: no allocation per line once the buffer has grown. Used by `elm clean` for
// corpus.jsonl; any stage reading elm's JSON Lines (clean.jsonl: text, account) can use it.
#ifndef ELM_JSON_LINE_H
#define ELM_JSON_LINE_H

#include <stddef.h>

typedef struct ElmJsonLine {
    char *buf; // decoded strings, NUL-terminated, valid until the next call
    size_t cap;
    const char *error; // what was wrong, after a failed call
} ElmJsonLine;

// Parses the object in s[0..n) (strict JSON; nested values are skipped) and, for each of the
// nkeys keys, sets vals[i]/lens[i] to its string value (decoded: escapes, \uXXXX and surrogate
// pairs; a lone surrogate becomes U+FFFD), or NULL/0 when the key is absent or not a string.
// Returns 0, or -1 when s is not one well-formed JSON object (jl->error says why).
int elm_json_line_fields(ElmJsonLine *jl, const char *s, size_t n, const char *const *keys,
                         int nkeys, const char **vals, size_t *lens);
void elm_json_line_free(ElmJsonLine *jl);

#endif
