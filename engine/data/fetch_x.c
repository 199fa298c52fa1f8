// fetch_x.c — X API v2: the user lookup and user-timeline URLs, and strict parsers of their
// answers (docs/fetch.md). A missing or mistyped field is an error naming it, never a crash.
#include "engine/base/http.h"
#include "engine/data/fetch_internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

void elm_fetch_x_user_url(const char *base, const char *username, char *out, size_t n) {
    char u[256];
    elm_http_escape(username, u, sizeof u);
    snprintf(out, n, "%s/2/users/by/username/%s", base, u);
}

void elm_fetch_x_page_url(const char *base, const char *user_id, const char *cursor,
                          const char *since_id, const char *start_time, int replies, int reposts,
                          char *out, size_t n) {
    char id[128], c[1024 * 3], s[128], t[128];
    elm_http_escape(user_id, id, sizeof id);
    elm_http_escape(cursor, c, sizeof c);
    elm_http_escape(since_id, s, sizeof s);
    elm_http_escape(start_time, t, sizeof t);
    const char *exclude = !replies && !reposts ? "&exclude=retweets%2Creplies"
                          : !replies           ? "&exclude=replies"
                          : !reposts           ? "&exclude=retweets"
                                               : "";
    snprintf(out, n,
             "%s/2/users/%s/tweets?max_results=100"
             "&tweet.fields=created_at%%2Clang%%2Creferenced_tweets%%2Centities%%2Cnote_tweet%s"
             "%s%s%s%s%s%s",
             base, id, exclude, c[0] ? "&pagination_token=" : "", c, s[0] ? "&since_id=" : "", s,
             t[0] ? "&start_time=" : "", t);
}

// The first error's detail (or title) of an {"errors": [...]} answer, into out.
static void x_error_detail(const cJSON *root, char *out, size_t n) {
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "errors"), 0);
    const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "detail"));
    if (!d) d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "title"));
    snprintf(out, n, "%s", d ? d : "an error without detail");
}

static int x_is_id(const char *s) {
    if (!s || !*s || strlen(s) > 32) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

int elm_fetch_x_parse_user(const char *body, size_t n, char *id, size_t cap, ElmError *err) {
    cJSON *root = cJSON_ParseWithLength(body, n);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return elm_err(err, "the user lookup is not a JSON object");
    }
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "id"));
    int rc = 0;
    if (!data && cJSON_GetObjectItemCaseSensitive(root, "errors")) {
        char d[256];
        x_error_detail(root, d, sizeof d);
        rc = elm_err(err, "not found: %s", d);
    } else if (!cJSON_IsObject(data) || !x_is_id(v)) {
        rc = elm_err(err, "the user lookup has no data.id");
    } else {
        snprintf(id, cap, "%s", v);
    }
    cJSON_Delete(root);
    return rc;
}

// The tweet's text: note_tweet.text (posts over 280 characters) or text, entities decoded,
// t.co links replaced by entities.urls' expanded_url. NULL (err set) when it has none.
static char *x_text(const cJSON *t, ElmError *err) {
    const cJSON *note = cJSON_GetObjectItemCaseSensitive(t, "note_tweet");
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(note, "text"));
    if (!s) s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "text"));
    if (!s) {
        elm_err(err, "a post has no text");
        return NULL;
    }
    ElmBuf b = {0};
    elm_fetch_html_unescape(s, strlen(s), &b);
    const cJSON *urls =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "entities"), "urls");
    const cJSON *u;
    int n_urls = 0;
    if (!cJSON_IsArray(urls)) urls = NULL;
    cJSON_ArrayForEach(u, urls) {
        const char *from = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(u, "url"));
        const char *to = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(u, "expanded_url"));
        // X's links are t.co, at most a few per post: a page of made-up entities cannot make
        // this quadratic.
        if (!from || !to || strncmp(from, "https://t.co/", 13) != 0 || strlen(from) > 64 ||
            strlen(to) > 4096 || b.oom || ++n_urls > 32)
            continue;
        ElmBuf r = {0};
        elm_buf_append(&r, "", 0);
        size_t fl = strlen(from);
        for (const char *p = b.data, *hit; (hit = strstr(p, from)); p = hit + fl) {
            elm_buf_append(&r, p, (size_t)(hit - p));
            elm_buf_append(&r, to, strlen(to));
            if (!strstr(hit + fl, from)) elm_buf_append(&r, hit + fl, strlen(hit + fl));
        }
        if (r.len) {
            elm_buf_free(&b);
            b = r;
        } else {
            elm_buf_free(&r);
        }
    }
    if (b.oom) {
        elm_buf_free(&b);
        elm_err(err, "out of memory");
        return NULL;
    }
    return b.data;
}

// One element of "data" into the page.
static int x_post(const cJSON *t, ElmFetchPage *pg, ElmError *err) {
    if (!cJSON_IsObject(t)) return elm_err(err, "data[] holds a non-object");
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "id"));
    const char *when = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "created_at"));
    const cJSON *lang = cJSON_GetObjectItemCaseSensitive(t, "lang");
    const cJSON *refs = cJSON_GetObjectItemCaseSensitive(t, "referenced_tweets");
    if (!x_is_id(id)) return elm_err(err, "a post has no numeric id");
    if (!when) return elm_err(err, "post %s has no created_at", id);
    if (lang && !cJSON_IsString(lang)) return elm_err(err, "post %s: lang is not a string", id);
    if (refs && !cJSON_IsArray(refs))
        return elm_err(err, "post %s: referenced_tweets is not an array", id);
    int reply = 0, repost = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, refs) {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "type"));
        if (!type) return elm_err(err, "post %s: a referenced tweet has no type", id);
        reply |= strcmp(type, "replied_to") == 0;
        repost |= strcmp(type, "retweeted") == 0;
    }
    char *text = x_text(t, err);
    if (!text) {
        elm_err_prefix(err, "post %s", id);
        return -1;
    }
    int rc = elm_fetch_page_add(pg, id, when, text, cJSON_GetStringValue(lang), reply, repost, err);
    free(text);
    return rc;
}

int elm_fetch_x_parse_page(const char *body, size_t n, ElmFetchPage *pg, ElmError *err) {
    cJSON *root = cJSON_ParseWithLength(body, n);
    int rc = 0;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "meta");
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(meta, "next_token");
    if (!cJSON_IsObject(root)) {
        rc = elm_err(err, "the page is not a JSON object");
    } else if (!data && !meta && cJSON_GetObjectItemCaseSensitive(root, "errors")) {
        char d[256];
        x_error_detail(root, d, sizeof d);
        rc = elm_err(err, "the API answered an error: %s", d);
    } else if ((data && !cJSON_IsArray(data)) || !cJSON_IsObject(meta)) {
        rc = elm_err(err, "the page has no data array or meta object");
    } else if (next && (!cJSON_IsString(next) || strlen(next->valuestring) >= sizeof pg->next)) {
        rc = elm_err(err, "meta.next_token is not a short string");
    } else {
        const cJSON *t;
        cJSON_ArrayForEach(t, data) {
            if (x_post(t, pg, err) != 0) {
                rc = -1;
                break;
            }
        }
        if (rc == 0) snprintf(pg->next, sizeof pg->next, "%s", next ? next->valuestring : "");
    }
    cJSON_Delete(root);
    return rc;
}
