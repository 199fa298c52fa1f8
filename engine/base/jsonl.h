// jsonl.h — reading JSON Lines files one object at a time, with the line number for errors.
// Used by the stages that read another stage's *.jsonl output.
#ifndef ELM_JSONL_H
#define ELM_JSONL_H

#include "engine/base/error.h"

#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct ElmJsonl {
    char *data;
    size_t n, pos;
    int line;
    char path[4096];
} ElmJsonl;

int elm_jsonl_open(ElmJsonl *r, const char *path, ElmError *err);
// Next object (caller deletes), or NULL at the end (err->msg empty) or on a malformed line
// (err names path:line). Blank lines are skipped.
cJSON *elm_jsonl_next(ElmJsonl *r, ElmError *err);
void elm_jsonl_close(ElmJsonl *r);

// A string field, or NULL when missing or not a string.
const char *elm_json_str(const cJSON *obj, const char *key);
// A number field, or `def`.
double elm_json_num(const cJSON *obj, const char *key, double def);

#endif
