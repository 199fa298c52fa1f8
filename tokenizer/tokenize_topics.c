// tokenize_topics.c — topicfit's names and per-line topics for the tokenize stage.
#include "tokenizer/tokenize_topics.h"
#include "engine/base/fsutil.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void elm_tokenize_topics_free(ElmTokenizeTopics *t) {
    for (int i = 0; t->name && i < t->k; i++) free(t->name[i]);
    free(t->name), free(t->by_line);
    memset(t, 0, sizeof *t);
}

static int load_names(const char *path, ElmTokenizeTopics *t, ElmError *err) {
    char *data;
    size_t n;
    if (!elm_file_exists(path))
        return elm_err(err,
                       "%s: not found (run `elm topicfit`: train.condition = account+topic "
                       "tags documents with its topics)",
                       path);
    if (elm_read_file(path, &data, &n, err)) return -1;
    cJSON *j = cJSON_ParseWithLength(data, n), *o;
    free(data);
    const cJSON *topics = cJSON_GetObjectItemCaseSensitive(j, "topics");
    int rc = 0;
    if (!cJSON_IsArray(topics) || cJSON_GetArraySize(topics) < 1)
        rc = elm_err(err, "%s: no \"topics\" list (rerun `elm topicfit`)", path);
    else if (!(t->name = elm_calloc((size_t)cJSON_GetArraySize(topics), sizeof *t->name, err)))
        rc = -1;
    cJSON_ArrayForEach(o, topics) if (rc == 0) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "name"));
        if (!name || !name[0] || strpbrk(name, "[]: \t\n"))
            rc = elm_err(err, "%s: topic %d has no usable name", path, t->k);
        else if (!(t->name[t->k++] = strdup(name)))
            rc = elm_err(err, "out of memory");
    }
    cJSON_Delete(j);
    return rc;
}

static int load_lines(const char *path, ElmTokenizeTopics *t, ElmError *err) {
    char *data;
    size_t n;
    if (elm_read_file(path, &data, &n, err)) return -1;
    size_t cap = 1;
    for (size_t i = 0; i < n; i++) cap += data[i] == '\n';
    int rc = 0;
    if (!(t->by_line = elm_malloc(cap * sizeof *t->by_line, err))) rc = -1;
    for (char *p = data, *end = data + n; rc == 0 && p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *e;
        long v = strtol(p, &e, 10);
        if (e == p || (nl ? e != nl : e != end) || v < -1 || v >= t->k)
            rc = elm_err(err, "%s:%zu: not a topic id of the %d topics (rerun `elm topicfit`)",
                         path, t->n_lines + 1, t->k);
        else
            t->by_line[t->n_lines++] = (int)v;
        p = nl ? nl + 1 : end;
    }
    free(data);
    return rc;
}

int elm_tokenize_topics_load(const ElmRun *run, ElmTokenizeTopics *t, ElmError *err) {
    memset(t, 0, sizeof *t);
    char names[4096], lines[4096];
    elm_run_path(run, "topicfit/topicfit.json", names, sizeof names);
    elm_run_path(run, "topicfit/doc_topics.txt", lines, sizeof lines);
    if (load_names(names, t, err) || load_lines(lines, t, err)) {
        elm_tokenize_topics_free(t);
        return -1;
    }
    return 0;
}

int elm_tokenize_topics_of_line(const ElmTokenizeTopics *t, size_t line, ElmError *err) {
    if (line < 1 || line > t->n_lines || t->by_line[line - 1] < 0)
        return elm_err(err,
                       "topicfit/doc_topics.txt has no topic for clean.jsonl:%zu (rerun "
                       "`elm topicfit`)",
                       line);
    return t->by_line[line - 1];
}
