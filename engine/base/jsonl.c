#include "engine/base/jsonl.h"
#include "engine/base/fsutil.h"

#include <stdlib.h>
#include <string.h>

int elm_jsonl_open(ElmJsonl *r, const char *path, ElmError *err) {
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", path);
    return elm_read_file(path, &r->data, &r->n, err);
}

cJSON *elm_jsonl_next(ElmJsonl *r, ElmError *err) {
    if (err) err->msg[0] = '\0';
    while (r->pos < r->n) {
        char *line = r->data + r->pos;
        char *nl = memchr(line, '\n', r->n - r->pos);
        size_t len = nl ? (size_t)(nl - line) : r->n - r->pos;
        r->pos += len + (nl ? 1 : 0);
        r->line++;
        size_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
        if (k == len) continue;
        cJSON *obj = cJSON_ParseWithLength(line, len);
        if (!obj || !cJSON_IsObject(obj)) {
            cJSON_Delete(obj);
            elm_err(err, "%s:%d: not a JSON object", r->path, r->line);
            return NULL;
        }
        return obj;
    }
    return NULL;
}

void elm_jsonl_close(ElmJsonl *r) {
    free(r->data);
    r->data = NULL;
}

const char *elm_json_str(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double elm_json_num(const cJSON *obj, const char *key, double def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}
