// json_write.h — writing JSON strings straight to a FILE (escaping without allocating).
// Used by the JSON Lines writers of ingest and clean.
#ifndef ELM_JSON_WRITE_H
#define ELM_JSON_WRITE_H

#include <stddef.h>
#include <stdio.h>

// Writes s[0..n) as a quoted JSON string: '"' and '\\' escaped, control characters as \n, \t,
// \uXXXX; other bytes (UTF-8) as they are.
void elm_json_write_string(FILE *f, const char *s, size_t n);

// Writes `"key":` followed by the string value, preceded by a comma unless `first`.
void elm_json_write_field(FILE *f, const char *key, const char *s, size_t n, int first);

#endif
