// clean.h — the tweet cleaner: per-entity actions (remove / keep the word / keep), HTML entity
// decoding, whitespace normalisation, length filters. `elm clean` (cmd_clean.c) runs it over
// <run>/corpus.jsonl; the library API cleans one string at a time (tests, benchmarks).
#ifndef ELM_CLEAN_H
#define ELM_CLEAN_H

#include "engine/config/config.h"
#include "engine/data/extract.h"
#include "engine/base/error.h"
#include "engine/config/run.h"

#include <stddef.h>

typedef enum { ELM_CLEAN_KEEP, ELM_CLEAN_REMOVE, ELM_CLEAN_WORD } ElmCleanAction;

typedef struct ElmCleanOptions {
    int action[ELM_ENT_COUNT]; // ElmCleanAction per ElmEntityType
    int html_entities;         // decode &amp; &lt; &#39; ... before anything else
    long long min_chars;       // in code points, after cleaning
    long long max_chars;
} ElmCleanOptions;

// elm's defaults: the [clean] defaults of config_schema.c.
void elm_clean_options_default(ElmCleanOptions *opt);
// The options of a loaded config's [clean] section.
void elm_clean_options_from_config(const ElmConfig *cfg, ElmCleanOptions *opt);

// A cleaner: compiled patterns and reusable buffers; one per thread.
typedef struct ElmCleaner ElmCleaner;

ElmCleaner *elm_cleaner_new(const ElmCleanOptions *opt, ElmError *err);
void elm_cleaner_free(ElmCleaner *c);

// Cleans valid UTF-8 s[0..n). Returns the cleaned text (NUL-terminated, owned by the cleaner,
// valid until the next call) and its length in *out_len. Entities acted on are added to
// found[type] when found is non-NULL.
const char *elm_clean_text(ElmCleaner *c, const char *s, size_t n, size_t *out_len,
                           unsigned long long found[ELM_ENT_COUNT]);

// Decodes HTML character references (&amp; &#39; &#x1F600; and common names) in s[0..n) into
// out (at least n + 1 bytes; decoding never grows text). Returns the output length.
size_t elm_html_decode(const char *s, size_t n, char *out);

// `elm clean`: <run>/corpus.jsonl -> <run>/clean.jsonl and <run>/clean.json (atomically).
int elm_clean_run(ElmRun *run, ElmError *err);

#endif
