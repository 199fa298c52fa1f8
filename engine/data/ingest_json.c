// ingest_json.c — JSON sources with cJSON: the X archive's data/tweets.js
// (`window.YTD.tweets.part0 = [{"tweet": {...}}, ...]`), plain JSON arrays of posts, and JSON
// Lines from snscrape-style scrapers. Array elements are parsed one at a time so errors can
// name the line, and no tree of the whole file is ever built.
#include "engine/data/ingest_internal.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

// Counts lines forward through one buffer (offsets only ever grow).
typedef struct Lines {
    const char *data;
    size_t off;
    int line;
} Lines;

static int line_at(Lines *l, size_t off) {
    if (off < l->off) l->off = 0, l->line = 1;
    for (const char *p = l->data + l->off; (p = memchr(p, '\n', (size_t)(l->data + off - p))); p++)
        l->line++;
    l->off = off;
    return l->line;
}

static const char *str_of(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int present(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return v && !cJSON_IsNull(v) && !(cJSON_IsString(v) && !v->valuestring[0]);
}

// Where the value of top-level key `key` starts in the object text [a, b) (which begins at the
// object's '{'), or NULL.
static const char *key_value(const char *a, const char *b, const char *key) {
    int depth = 0;
    size_t klen = strlen(key);
    for (const char *p = a; p < b; p++) {
        if (*p == '"') {
            const char *s = ++p;
            while (p < b && *p != '"') p += *p == '\\' ? 2 : 1;
            if (depth != 1 || p >= b || (size_t)(p - s) != klen || memcmp(s, key, klen)) continue;
            const char *q = p + 1;
            while (q < b && isspace((unsigned char)*q)) q++;
            if (q >= b || *q != ':') continue;
            q++;
            while (q < b && isspace((unsigned char)*q)) q++;
            return q < b ? q : NULL;
        }
        if (*p == '{' || *p == '[') depth++;
        if (*p == '}' || *p == ']') depth--;
    }
    return NULL;
}

// The end (one past the closing '}') of the object starting at p, or NULL.
static const char *object_end(const char *p, const char *b) {
    int depth = 0;
    for (; p < b; p++) {
        if (*p == '"') {
            for (p++; p < b && *p != '"'; p += *p == '\\' ? 2 : 1) {
            }
            continue;
        }
        if (*p == '{' || *p == '[') depth++;
        if ((*p == '}' || *p == ']') && --depth == 0) return p + 1;
    }
    return NULL;
}

// The digits of a number-valued top-level key in the object text [a, b): tweet ids exceed the
// 53 bits a double holds, so they are taken from the source, not from cJSON's double.
static size_t raw_number(const char *a, const char *b, const char *key, char *out, size_t cap) {
    const char *q = key_value(a, b, key);
    if (!q) return 0;
    size_t n = 0;
    while (q + n < b && isdigit((unsigned char)q[n])) n++;
    if (n == 0 || n >= cap) return 0;
    memcpy(out, q, n);
    out[n] = '\0';
    return n;
}

static int emit_object(const char *path, const cJSON *item, const char *a, const char *b, int line,
                       ElmIngestSink *sink, ElmError *err) {
    const cJSON *t = item;
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(item, "tweet");
    if (cJSON_IsObject(inner)) t = inner;
    if (!cJSON_IsObject(t))
        return elm_err(err, "%s:%d: expected a post (a JSON object)", path, line);
    static const char *text_keys[] = {"full_text", "text", "rawContent", "content", NULL};
    const char *text = NULL;
    for (int i = 0; text_keys[i] && !text; i++) text = str_of(t, text_keys[i]);
    if (!text)
        return elm_err(err, "%s:%d: the post has no text (full_text, text, rawContent or content)",
                       path, line);
    ElmRawPost p;
    memset(&p, 0, sizeof p);
    p.line = line;
    p.text = text, p.text_len = strlen(text);
    char idbuf[64];
    const char *id = str_of(t, "id_str");
    if (!id) id = str_of(t, "id");
    if (!id && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(t, "id"))) {
        // a wrapped post ({"tweet": {...}}): its id is one level down in the source text
        const char *ta = t == item ? a : key_value(a, b, "tweet");
        const char *tb = ta && *ta == '{' ? object_end(ta, b) : NULL;
        if (ta && tb && raw_number(ta, tb, "id", idbuf, sizeof idbuf))
            id = idbuf;
        else { // not from the source (should not happen): the double, at most 17 digits right
            snprintf(idbuf, sizeof idbuf, "%.0f",
                     cJSON_GetObjectItemCaseSensitive(t, "id")->valuedouble);
            id = idbuf;
        }
    }
    if (id) p.id = id, p.id_len = strlen(id);
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(t, "user");
    if (!cJSON_IsObject(user)) user = cJSON_GetObjectItemCaseSensitive(t, "author");
    const char *acc = NULL;
    if (cJSON_IsObject(user)) {
        acc = str_of(user, "screen_name");
        if (!acc) acc = str_of(user, "username");
    }
    static const char *user_keys[] = {"username", "screen_name", "user", "author", "account", NULL};
    for (int i = 0; user_keys[i] && !acc; i++) acc = str_of(t, user_keys[i]);
    if (acc) p.account = acc, p.account_len = strlen(acc);
    const char *when = str_of(t, "created_at");
    if (!when) when = str_of(t, "date");
    if (when) p.created_at = when, p.created_len = strlen(when);
    const char *lang = str_of(t, "lang");
    if (!lang) lang = str_of(t, "language");
    if (lang) p.lang = lang, p.lang_len = strlen(lang);
    p.is_retweet = present(t, "retweeted_status") || present(t, "retweetedTweet") ? 1 : -1;
    p.is_reply = present(t, "in_reply_to_status_id_str") || present(t, "in_reply_to_status_id") ||
                         present(t, "inReplyToTweetId") || present(t, "inReplyToUser")
                     ? 1
                     : -1;
    // elm's own JSONL (corpus.jsonl, `elm fetch`'s files) says it in booleans.
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(t, "is_repost");
    if (!cJSON_IsBool(rt)) rt = cJSON_GetObjectItemCaseSensitive(t, "is_retweet");
    if (cJSON_IsBool(rt)) p.is_retweet = cJSON_IsTrue(rt);
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(t, "is_reply");
    if (cJSON_IsBool(rp)) p.is_reply = cJSON_IsTrue(rp);
    return elm_ingest_emit(sink, &p, err);
}

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && isspace((unsigned char)*p)) p++;
    return p;
}

static int json_error(const char *path, Lines *lines, const char *data, const char *at,
                      const char *what, ElmError *err) {
    int line = line_at(lines, (size_t)(at - data));
    return elm_err(err, "%s:%d: %s", path, line, what);
}

static int read_array(const char *path, const char *data, size_t n, const char *p, int js,
                      ElmIngestSink *sink, ElmError *err) {
    const char *end = data + n;
    Lines lines = {data, 0, 1};
    p++; // '['
    p = skip_ws(p, end);
    if (p < end && *p == ']') {
        p++;
    } else {
        for (;;) {
            p = skip_ws(p, end);
            if (p >= end)
                return json_error(path, &lines, data, end, "the array is never closed", err);
            const char *stop = NULL;
            cJSON *item = cJSON_ParseWithLengthOpts(p, (size_t)(end - p), &stop, 0);
            if (!item) {
                const char *at = cJSON_GetErrorPtr();
                if (!at || at < data || at > end) at = p;
                return json_error(path, &lines, data, at, "malformed JSON", err);
            }
            int line = line_at(&lines, (size_t)(p - data));
            int rc = emit_object(path, item, p, stop, line, sink, err);
            cJSON_Delete(item);
            if (rc) return -1;
            p = skip_ws(stop, end);
            if (p < end && *p == ',') {
                p++;
                continue;
            }
            if (p < end && *p == ']') {
                p++;
                break;
            }
            return json_error(path, &lines, data, p < end ? p : end,
                              p < end ? "malformed JSON (expected ',' or ']')"
                                      : "the array is never closed (truncated file?)",
                              err);
        }
    }
    p = skip_ws(p, end);
    if (js && p < end && *p == ';') p = skip_ws(p + 1, end);
    if (p < end) return json_error(path, &lines, data, p, "unexpected text after the array", err);
    return 0;
}

static int read_lines(const char *path, const char *data, size_t n, ElmIngestSink *sink,
                      ElmError *err) {
    size_t pos = 0;
    int line = 1;
    while (pos < n) {
        const char *e = memchr(data + pos, '\n', n - pos);
        size_t end = e ? (size_t)(e - data) : n;
        const char *a = skip_ws(data + pos, data + end);
        if (a < data + end) {
            const char *stop = NULL;
            cJSON *item = cJSON_ParseWithLengthOpts(a, (size_t)(data + end - a), &stop, 0);
            if (!item) return elm_err(err, "%s:%d: malformed JSON", path, line);
            if (skip_ws(stop, data + end) != data + end) {
                cJSON_Delete(item);
                return elm_err(err, "%s:%d: unexpected text after the JSON object", path, line);
            }
            int rc = emit_object(path, item, a, stop, line, sink, err);
            cJSON_Delete(item);
            if (rc) return -1;
        }
        pos = end + 1;
        line++;
    }
    return 0;
}

int elm_ingest_read_json(const char *path, const char *data, size_t n, ElmIngestFormat fmt,
                         ElmIngestSink *sink, ElmError *err) {
    if (fmt == ELM_FMT_JSONL) return read_lines(path, data, n, sink, err);
    const char *p = memchr(data, '[', n);
    if (!p) return elm_err(err, "%s:1: expected a JSON array", path);
    return read_array(path, data, n, p, fmt == ELM_FMT_TWEETS_JS, sink, err);
}
