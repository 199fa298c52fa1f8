// fuzz_fetch.c — libFuzzer harness for `elm fetch`'s response parsers: X API v2 (user lookup,
// timeline page), Bluesky's getAuthorFeed page, Mastodon (account lookup, statuses page with a
// Link header), the HTML-to-text converter, the Link header and time parsers. Built by
// tests/fuzz/build.sh.
//
// Every input goes through all of them (the body as given; for Mastodon also with the input as
// its Link header). Beyond "no crash, no UB, no leak": a parsed page's posts have ids, texts in
// valid UTF-8 and times in "YYYY-MM-DDTHH:MM:SSZ"; a failure has a message; the HTML text of
// valid UTF-8 is valid UTF-8 and no longer than the HTML; a normalised time normalises to itself.
#include "engine/base/http.h"
#include "engine/base/utf8.h"
#include "engine/data/fetch_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void check_page(const ElmFetchPage *pg, int rc, const ElmError *err) {
    if (rc != 0) {
        assert(err->msg[0] != '\0');
        return;
    }
    assert(strlen(pg->next) < sizeof pg->next);
    for (int i = 0; i < pg->n; i++) {
        const ElmFetchPost *p = &pg->posts[i];
        assert(p->id && p->id[0] && p->text && p->created_at);
        assert(strlen(p->created_at) == 20 && p->created_at[10] == 'T' && p->created_at[19] == 'Z');
        assert(elm_utf8_check(p->text, strlen(p->text)) == strlen(p->text));
        assert(elm_utf8_check(p->id, strlen(p->id)) == strlen(p->id));
        assert(!p->lang || elm_utf8_check(p->lang, strlen(p->lang)) == strlen(p->lang));
    }
}

static void parse_pages(const char *s, size_t n) {
    ElmError err = {{0}};
    ElmFetchPage pg = {0};
    check_page(&pg, elm_fetch_x_parse_page(s, n, &pg, &err), &err);
    elm_fetch_page_free(&pg);
    err.msg[0] = '\0';
    check_page(&pg, elm_fetch_bluesky_parse_page(s, n, &pg, &err), &err);
    elm_fetch_page_free(&pg);
    err.msg[0] = '\0';
    check_page(&pg, elm_fetch_mastodon_parse_page(s, n, NULL, &pg, &err), &err);
    elm_fetch_page_free(&pg);
    err.msg[0] = '\0';
    // A real page with the input as its Link header.
    static const char page[] = "[{\"id\":\"1\",\"created_at\":\"2020-01-01T00:00:00Z\","
                               "\"content\":\"<p>a</p>\"}]";
    int rc = elm_fetch_mastodon_parse_page(page, sizeof page - 1, s, &pg, &err);
    check_page(&pg, rc, &err);
    assert(rc != 0 || pg.n == 1);
    elm_fetch_page_free(&pg);
}

static void parse_lookups(const char *s, size_t n) {
    char id[64];
    ElmError err = {{0}};
    if (elm_fetch_x_parse_user(s, n, id, sizeof id, &err) == 0)
        assert(id[0] && strspn(id, "0123456789") == strlen(id));
    else
        assert(err.msg[0]);
    err.msg[0] = '\0';
    if (elm_fetch_mastodon_parse_account(s, n, id, sizeof id, &err) == 0)
        assert(id[0] && strspn(id, "0123456789") == strlen(id));
    else
        assert(err.msg[0]);
}

static void parse_text(const char *s, size_t n) {
    ElmBuf out = {0};
    elm_fetch_html_text(s, n, &out);
    assert(out.data && strlen(out.data) == out.len);
    if (elm_utf8_check(s, n) == n) {
        assert(elm_utf8_check(out.data, out.len) == out.len);
        assert(out.len <= n);
    }
    elm_buf_free(&out);
    elm_fetch_html_unescape(s, n, &out);
    assert(out.data && out.len <= n);
    elm_buf_free(&out);
    char next[256], t1[21], t2[21];
    if (elm_http_link_next(s, next, sizeof next) == 0) assert(strlen(next) < sizeof next);
    long long a, b;
    if (elm_fetch_time_norm(s, t1, &a) == 0) {
        assert(elm_fetch_time_norm(t1, t2, &b) == 0 && strcmp(t1, t2) == 0 && a == b);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    char *s = malloc(size + 1); // the parsers take NUL-terminated text, as http.c delivers it
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    parse_pages(s, size);
    parse_lookups(s, size);
    parse_text(s, strlen(s));
    free(s);
    return 0;
}
