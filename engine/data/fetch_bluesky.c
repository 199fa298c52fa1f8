// fetch_bluesky.c — Bluesky's public AppView: app.bsky.feed.getAuthorFeed's URL and a strict
// parser of its answer, telling reposts (a "reason") and replies (record.reply) apart.
#include "engine/base/http.h"
#include "engine/data/fetch_internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

void elm_fetch_bluesky_page_url(const char *base, const char *actor, const char *cursor,
                                int replies, char *out, size_t n) {
    char a[512], c[1024 * 3];
    elm_http_escape(actor, a, sizeof a);
    elm_http_escape(cursor, c, sizeof c);
    snprintf(out, n, "%s/xrpc/app.bsky.feed.getAuthorFeed?actor=%s&limit=100&filter=%s%s%s", base,
             a, replies ? "posts_with_replies" : "posts_no_replies", c[0] ? "&cursor=" : "", c);
}

static const char *bsky_str(const cJSON *o, const char *key) {
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

// One element of "feed" into the page; an item with a reason other than a repost (reasonPin)
// is skipped.
static int bsky_item(const cJSON *item, ElmFetchPage *pg, ElmError *err) {
    const cJSON *post = cJSON_GetObjectItemCaseSensitive(item, "post");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(item, "reason");
    const cJSON *record = cJSON_GetObjectItemCaseSensitive(post, "record");
    const char *uri = bsky_str(post, "uri");
    if (!cJSON_IsObject(item) || !cJSON_IsObject(post) || !uri || !uri[0])
        return elm_err(err, "a feed item has no post.uri");
    if (!cJSON_IsObject(record)) return elm_err(err, "post %s has no record", uri);
    const char *text = bsky_str(record, "text");
    const char *when = bsky_str(record, "createdAt");
    const cJSON *langs = cJSON_GetObjectItemCaseSensitive(record, "langs");
    if (!text || !when) return elm_err(err, "post %s: record has no text or createdAt", uri);
    if (langs && !cJSON_IsArray(langs)) return elm_err(err, "post %s: langs is not an array", uri);
    const char *lang = cJSON_GetStringValue(cJSON_GetArrayItem(langs, 0));
    int reply = cJSON_GetObjectItemCaseSensitive(record, "reply") != NULL;
    if (!reason) return elm_fetch_page_add(pg, uri, when, text, lang, reply, 0, err);
    const char *type = bsky_str(reason, "$type");
    if (!cJSON_IsObject(reason) || !type) return elm_err(err, "post %s: reason has no $type", uri);
    // A pinned post comes again at its own time; a reason of a kind this reader does not know
    // is not the account's own post either.
    if (strcmp(type, "app.bsky.feed.defs#reasonRepost") != 0) return 0;
    // A repost is the account's at the time it reposted; its id is the repost record's.
    const char *at = bsky_str(reason, "indexedAt");
    if (!at) return elm_err(err, "post %s: the repost has no indexedAt", uri);
    char id[1024];
    const char *ruri = bsky_str(reason, "uri");
    if (ruri && ruri[0])
        snprintf(id, sizeof id, "%s", ruri);
    else
        snprintf(id, sizeof id, "%s#repost", uri);
    return elm_fetch_page_add(pg, id, at, text, lang, reply, 1, err);
}

int elm_fetch_bluesky_parse_page(const char *body, size_t n, ElmFetchPage *pg, ElmError *err) {
    cJSON *root = cJSON_ParseWithLength(body, n);
    const cJSON *feed = cJSON_GetObjectItemCaseSensitive(root, "feed");
    const cJSON *cursor = cJSON_GetObjectItemCaseSensitive(root, "cursor");
    int rc = 0;
    if (!cJSON_IsObject(root))
        rc = elm_err(err, "the page is not a JSON object");
    else if (!cJSON_IsArray(feed))
        rc = elm_err(err, "the page has no feed array");
    else if (cursor && !cJSON_IsNull(cursor) &&
             (!cJSON_IsString(cursor) || strlen(cursor->valuestring) >= sizeof pg->next))
        rc = elm_err(err, "cursor is not a short string");
    if (rc == 0) {
        const cJSON *item;
        cJSON_ArrayForEach(item, feed) {
            if (bsky_item(item, pg, err) != 0) {
                rc = -1;
                break;
            }
        }
    }
    // An empty feed ends the account even when a cursor comes with it.
    if (rc == 0 && cJSON_IsString(cursor) && cJSON_GetArraySize(feed) > 0)
        snprintf(pg->next, sizeof pg->next, "%s", cursor->valuestring);
    cJSON_Delete(root);
    return rc;
}
