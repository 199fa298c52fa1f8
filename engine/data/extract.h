// extract.h — finds tweet entities in UTF-8 text: URLs, @mentions (and lists), #hashtags and
// $cashtags as twitter-text defines them (its conformance suite is the test), plus emoji, ASCII
// smileys, reserved words (RT, FAV) and numbers. Used by the cleaner (clean.c) and its tests.
#ifndef ELM_ENTITIES_H
#define ELM_ENTITIES_H

#include "engine/base/error.h"

#include <stddef.h>

typedef enum {
    ELM_ENT_URL,
    ELM_ENT_MENTION,
    ELM_ENT_HASHTAG,
    ELM_ENT_CASHTAG,
    ELM_ENT_EMOJI,
    ELM_ENT_SMILEY,
    ELM_ENT_RESERVED,
    ELM_ENT_NUMBER,
    ELM_ENT_COUNT,
} ElmEntityType;

#define ELM_ENT_BIT(t) (1u << (t))
#define ELM_ENT_ALL ((1u << ELM_ENT_COUNT) - 1u)

// One entity; all offsets are bytes into the text. [start, end) is the whole entity
// ("@user/list", "#tag", "$TSLA", the URL); [vstart, vend) its value (the screen name, the tag
// without '#', ...). For a mention of a list, [lstart, end) is the "/slug" part (else lstart=end).
typedef struct ElmEntity {
    int type;
    int start, end;
    int vstart, vend;
    int lstart;
} ElmEntity;

// The compiled (JIT) regular expressions and reusable match buffers. Not thread-safe: one per
// thread. Results returned by the functions below live in it until the next call.
typedef struct ElmEntities ElmEntities;

ElmEntities *elm_extract_create(ElmError *err);
void elm_extract_free(ElmEntities *x);

// twitter-text's extractors over valid UTF-8 s[0..n); each returns the number of entities and
// points *out at them (in text order). Mentions exclude lists unless `lists` is set; hashtags
// that overlap a URL are dropped, as twitter-text does.
int elm_extract_urls(ElmEntities *x, const char *s, size_t n, const ElmEntity **out);
int elm_extract_mentions(ElmEntities *x, const char *s, size_t n, int lists, const ElmEntity **out);
int elm_extract_hashtags(ElmEntities *x, const char *s, size_t n, const ElmEntity **out);
int elm_extract_cashtags(ElmEntities *x, const char *s, size_t n, const ElmEntity **out);

// All entities whose type bit is in `mask`, sorted by start with overlaps removed (an entity
// that starts inside an earlier one is dropped, as twitter-text's extractEntitiesWithIndices
// does). URLs shield their text from the other types even when not in the mask.
int elm_extract_find(ElmEntities *x, const char *s, size_t n, unsigned mask, const ElmEntity **out);

// The name of a type ("urls", "mentions", ...), as used in config keys and reports.
const char *elm_extract_entity_name(int type);

#endif
