// fetch_mastodon.c — a Mastodon instance's public API: the account lookup and statuses URLs,
// strict parsers of their answers, and the Link header's next page (its max_id).
#include "engine/base/http.h"
#include "engine/data/fetch_internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

void elm_fetch_mastodon_lookup_url(const char *base, const char *acct, char *out, size_t n) {
    char a[512];
    elm_http_escape(acct, a, sizeof a);
    snprintf(out, n, "%s/api/v1/accounts/lookup?acct=%s", base, a);
}

void elm_fetch_mastodon_page_url(const char *base, const char *account_id, const char *max_id,
                                 const char *since_id, int replies, int reposts, char *out,
                                 size_t n) {
    char id[128], m[128], s[128];
    elm_http_escape(account_id, id, sizeof id);
    elm_http_escape(max_id, m, sizeof m);
    elm_http_escape(since_id, s, sizeof s);
    snprintf(out, n,
             "%s/api/v1/accounts/%s/statuses?limit=40&exclude_replies=%s"
             "&exclude_reblogs=%s%s%s%s%s",
             base, id, replies ? "false" : "true", reposts ? "false" : "true",
             m[0] ? "&max_id=" : "", m, s[0] ? "&since_id=" : "", s);
}

static int mastodon_is_id(const char *s) {
    if (!s || !*s || strlen(s) > 32) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

int elm_fetch_mastodon_parse_account(const char *body, size_t n, char *id, size_t cap,
                                     ElmError *err) {
    cJSON *root = cJSON_ParseWithLength(body, n);
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "id"));
    int rc = 0;
    if (!cJSON_IsObject(root))
        rc = elm_err(err, "the account lookup is not a JSON object");
    else if (!mastodon_is_id(v))
        rc = elm_err(err, "the account lookup has no numeric id");
    else
        snprintf(id, cap, "%s", v);
    cJSON_Delete(root);
    return rc;
}

// max_id=... of the rel="next" URL in a Link header into out ("" when there is none).
static int mastodon_next(const char *link, char *out, size_t n, ElmError *err) {
    out[0] = '\0';
    char url[4096];
    if (!link || !link[0] || elm_http_link_next(link, url, sizeof url) != 0) return 0;
    const char *q = strchr(url, '?');
    for (const char *p = q; p && *p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, "max_id=", 7) != 0) continue;
        size_t k = strcspn(p + 8, "&#");
        char v[128];
        if (k == 0 || k >= sizeof v) break;
        memcpy(v, p + 8, k);
        v[k] = '\0';
        if (!mastodon_is_id(v) || strlen(v) >= n) break;
        snprintf(out, n, "%s", v);
        return 0;
    }
    return elm_err(err, "the Link header's next page has no numeric max_id");
}

// One status into the page: a reblog's text and language are the reblogged status's.
static int mastodon_status(const cJSON *s, ElmFetchPage *pg, ElmError *err) {
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "id"));
    if (!cJSON_IsObject(s) || !mastodon_is_id(id))
        return elm_err(err, "a status has no numeric id");
    const char *when = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "created_at"));
    const cJSON *reblog = cJSON_GetObjectItemCaseSensitive(s, "reblog");
    const cJSON *reply = cJSON_GetObjectItemCaseSensitive(s, "in_reply_to_id");
    int repost = cJSON_IsObject(reblog);
    if (reblog && !repost && !cJSON_IsNull(reblog))
        return elm_err(err, "status %s: reblog is not an object", id);
    const cJSON *src = repost ? reblog : s;
    const char *html = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(src, "content"));
    const cJSON *lang = cJSON_GetObjectItemCaseSensitive(src, "language");
    if (!when || !html) return elm_err(err, "status %s has no created_at or content", id);
    if (lang && !cJSON_IsString(lang) && !cJSON_IsNull(lang))
        return elm_err(err, "status %s: language is not a string", id);
    if (reply && !cJSON_IsNull(reply) && !cJSON_IsString(reply))
        return elm_err(err, "status %s: in_reply_to_id is not a string", id);
    ElmBuf text = {0};
    elm_fetch_html_text(html, strlen(html), &text);
    int rc = text.oom ? elm_err(err, "out of memory")
                      : elm_fetch_page_add(pg, id, when, text.data, cJSON_GetStringValue(lang),
                                           cJSON_IsString(reply), repost, err);
    elm_buf_free(&text);
    return rc;
}

int elm_fetch_mastodon_parse_page(const char *body, size_t n, const char *link, ElmFetchPage *pg,
                                  ElmError *err) {
    cJSON *root = cJSON_ParseWithLength(body, n);
    int rc = 0;
    if (!cJSON_IsArray(root)) {
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "error"));
        rc = e ? elm_err(err, "the API answered an error: %.200s", e)
               : elm_err(err, "the page is not a JSON array of statuses");
    } else {
        const cJSON *s;
        cJSON_ArrayForEach(s, root) {
            if (mastodon_status(s, pg, err) != 0) {
                rc = -1;
                break;
            }
        }
    }
    // An empty page ends the account whatever its Link says.
    if (rc == 0 && pg->n > 0) rc = mastodon_next(link, pg->next, sizeof pg->next, err);
    cJSON_Delete(root);
    return rc;
}
