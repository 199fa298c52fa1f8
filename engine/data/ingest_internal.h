// ingest_internal.h — what the format readers (ingest_csv.c, ingest_json.c, ingest_text.c)
// share with the ingest driver (ingest.c): one post as read, and the sink that takes it.
#ifndef ELM_INGEST_INTERNAL_H
#define ELM_INGEST_INTERNAL_H

#include "engine/base/error.h"

#include <stddef.h>

// One post as a reader found it. Strings point into the reader's buffers and are valid only
// during the call to the sink; NULL means absent. Lengths are in bytes.
typedef struct ElmRawPost {
    const char *id;
    size_t id_len;
    const char *account; // the author's user name in the file, if any
    size_t account_len;
    const char *created_at;
    size_t created_len;
    const char *text;
    size_t text_len;
    const char *lang;
    size_t lang_len;
    int is_retweet; // 1, 0, or -1 unknown (then decided from the text)
    int is_reply;   // 1, 0, or -1 unknown
    int line;       // line in the source file where the post starts
} ElmRawPost;

typedef struct ElmIngestSink ElmIngestSink;

// Takes one post; returns 0, or -1 with err set (naming file and line) to stop reading.
int elm_ingest_emit(ElmIngestSink *sink, const ElmRawPost *post, ElmError *err);

typedef enum {
    ELM_FMT_CSV,
    ELM_FMT_TWEETS_JS,
    ELM_FMT_JSON_ARRAY,
    ELM_FMT_JSONL,
    ELM_FMT_TEXT,
} ElmIngestFormat;

const char *elm_ingest_format_name(ElmIngestFormat f);

// Decides the format of a file's content (after gzip); `data` is NUL-terminated.
ElmIngestFormat elm_ingest_detect(const char *data, size_t n);

// Readers: each parses data[0..n) (NUL-terminated) of file `path` and emits every post.
int elm_ingest_read_csv(const char *path, const char *data, size_t n, ElmIngestSink *sink,
                        ElmError *err);
int elm_ingest_read_json(const char *path, const char *data, size_t n, ElmIngestFormat fmt,
                         ElmIngestSink *sink, ElmError *err);
int elm_ingest_read_text(const char *path, const char *data, size_t n, ElmIngestSink *sink,
                         ElmError *err);

#endif
