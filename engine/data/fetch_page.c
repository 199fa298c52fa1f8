// fetch_page.c — one page of parsed posts (fetch_internal.h): adding a post with its time
// normalised and its text made valid UTF-8.
#include "engine/base/utf8.h"
#include "engine/data/fetch_internal.h"

#include <stdlib.h>
#include <string.h>

static char *page_strdup(const char *s, ElmError *err) {
    size_t n = strlen(s);
    char *c = elm_malloc(n + 1, err);
    if (c) memcpy(c, s, n + 1);
    return c;
}

// s as valid UTF-8 (ill-formed bytes as U+FFFD), malloc'd.
static char *page_utf8(const char *s, ElmError *err) {
    size_t n = strlen(s);
    if (elm_utf8_check(s, n) == n) return page_strdup(s, err);
    char *c = elm_malloc(3 * n + 1, err);
    if (c) c[elm_utf8_repair(s, n, c, NULL)] = '\0';
    return c;
}

int elm_fetch_page_add(ElmFetchPage *pg, const char *id, const char *created_at, const char *text,
                       const char *lang, int is_reply, int is_repost, ElmError *err) {
    char when[21];
    if (elm_fetch_time_norm(created_at, when, NULL) != 0)
        return elm_err(err, "post %.200s: created_at '%.40s' is not an ISO 8601 time", id,
                       created_at);
    if (strlen(id) > 512) return elm_err(err, "a post id is over 512 bytes");
    if (lang && strlen(lang) > 64) lang = NULL;
    if (pg->n == pg->cap) {
        int cap = pg->cap ? pg->cap * 2 : 64;
        ElmFetchPost *p = elm_realloc(pg->posts, (size_t)cap * sizeof *p, err);
        if (!p) return -1;
        pg->posts = p, pg->cap = cap;
    }
    ElmFetchPost *p = &pg->posts[pg->n];
    memset(p, 0, sizeof *p);
    p->id = page_utf8(id, err);
    p->created_at = page_strdup(when, err);
    p->text = page_utf8(text, err);
    p->lang = lang && lang[0] ? page_utf8(lang, err) : NULL;
    p->is_reply = is_reply, p->is_repost = is_repost;
    pg->n++; // counted before the check, so elm_fetch_page_free frees what was allocated
    if (!p->id || !p->created_at || !p->text || (lang && lang[0] && !p->lang)) return -1;
    return 0;
}

void elm_fetch_page_free(ElmFetchPage *pg) {
    for (int i = 0; i < pg->n; i++) {
        free(pg->posts[i].id);
        free(pg->posts[i].created_at);
        free(pg->posts[i].text);
        free(pg->posts[i].lang);
    }
    free(pg->posts);
    memset(pg, 0, sizeof *pg);
}
