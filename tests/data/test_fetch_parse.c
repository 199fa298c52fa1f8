// test_fetch_parse.c — `elm fetch`'s parsers one by one: Mastodon HTML to text, entities, times,
// and each platform's page parser on valid shapes and on the malformed ones it must refuse
// (with a message naming what is wrong, never a crash).
#include "elmtest.h"
#include "engine/data/fetch_internal.h"

#include <string.h>

static void html(const char *in, const char *want) {
    ElmBuf b = {0};
    elm_fetch_html_text(in, strlen(in), &b);
    CHECK(b.data && strcmp(b.data, want) == 0, "html %s: got '%s', want '%s'", in,
          b.data ? b.data : "(null)", want);
    elm_buf_free(&b);
}

static void test_html(void) {
    html("<p>Hello <b>world</b></p>", "Hello world");
    html("<p>one</p><p>two</p>", "one\n\ntwo");
    html("a<br>b<br/>c<br />d<BR>e", "a\nb\nc\nd\ne");
    html("<p>x &amp; y &lt;z&gt; &quot;q&quot; &#39;s&#39; &apos;</p>", "x & y <z> \"q\" 's' '");
    html("&#233;&#xE9;&#X1F600; &hellip;&mdash;&nbsp;.", "\xC3\xA9\xC3\xA9\xF0\x9F\x98\x80 "
                                                         "\xE2\x80\xA6\xE2\x80\x94\xC2\xA0.");
    html("&unknown; &amp &#xZZ; &#; & x", "&unknown; &amp &#xZZ; &#; & x");
    html("&#xD800;&#0;&#x110000;", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    html("<p><a href=\"https://e.com/a\" class=\"x\"><span class=\"invisible\">https://</span>"
         "<span class=\"ellipsis\">e.com/a</span><span class=\"invisible\">bc</span></a></p>",
         "https://e.com/abc");
    html("<p>hi <span class=\"h-card\"><a href=\"https://m/@bob\" class=\"u-url mention\">@"
         "<span>bob</span></a></span> <a href=\"https://m/tags/x\" class=\"mention hashtag\">#"
         "<span>x</span></a></p>",
         "hi @bob #x");
    html("a<!-- <p>hidden</p> -->b", "ab");
    html("<p>  spaced  </p>\n<p>\nlines\n</p>", "spaced\n\nlines");
    html("", "");
    html("<p>unterminated <b", "unterminated");
    html("<ul><li>one</li><li>two</li></ul>", "one\ntwo");
}

static void test_time(void) {
    static const char *ok[][2] = {
        {"2024-03-01T12:34:56.789Z", "2024-03-01T12:34:56Z"},
        {"2024-03-01T12:34:56Z", "2024-03-01T12:34:56Z"},
        {"2024-03-01T12:34:56+05:30", "2024-03-01T07:04:56Z"},
        {"2024-03-01T00:10:00-0100", "2024-03-01T01:10:00Z"},
        {"2024-03-01T23:59:59.5-01:00", "2024-03-02T00:59:59Z"},
        {"2019-01-01", "2019-01-01T00:00:00Z"},
        {"2019-01-01 08:00", "2019-01-01T08:00:00Z"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char out[21];
        long long t;
        int rc = elm_fetch_time_norm(ok[i][0], out, &t);
        CHECK(rc == 0 && strcmp(out, ok[i][1]) == 0, "%s: got %s", ok[i][0], rc ? "error" : out);
    }
    static const char *bad[] = {"",
                                "2024",
                                "2024-13-01",
                                "2024-01-32",
                                "2024-01-01T25:00",
                                "2024-01-01T12:00:00Q",
                                "Mon, 01 Jan 2024",
                                "2024-01-01T12",
                                "1800-01-01",
                                "2024-01-01T12:00:00+5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char out[21];
        CHECK(elm_fetch_time_norm(bad[i], out, NULL) != 0, "'%s' accepted", bad[i]);
    }
}

typedef int (*Parse)(const char *, size_t, ElmFetchPage *, ElmError *);

static int parse_masto(const char *s, size_t n, ElmFetchPage *pg, ElmError *err) {
    return elm_fetch_mastodon_parse_page(s, n, "<https://m/api?max_id=5>; rel=\"next\"", pg, err);
}

// A malformed body: refused, with `word` in the message.
static void refused(Parse f, const char *body, const char *word) {
    ElmFetchPage pg = {0};
    ElmError err = {{0}};
    int rc = f(body, strlen(body), &pg, &err);
    CHECK(rc != 0 && strstr(err.msg, word), "%s: rc %d, message '%s' (want '%s')", body, rc,
          err.msg, word);
    elm_fetch_page_free(&pg);
}

static void test_x(void) {
    const char *page =
        "{\"data\":[{\"id\":\"20\",\"text\":\"a &amp; b https://t.co/x1\",\"created_at\":"
        "\"2023-01-02T03:04:05.000Z\",\"lang\":\"en\",\"entities\":{\"urls\":[{\"url\":"
        "\"https://t.co/x1\",\"expanded_url\":\"https://e.com/?a=1&b=2\"}]}},"
        "{\"id\":\"19\",\"text\":\"RT @o: t\",\"created_at\":\"2023-01-01T00:00:00.000Z\","
        "\"referenced_tweets\":[{\"type\":\"retweeted\",\"id\":\"1\"}]},"
        "{\"id\":\"18\",\"text\":\"short\",\"note_tweet\":{\"text\":\"the long text\"},"
        "\"created_at\":\"2023-01-01T00:00:00Z\",\"referenced_tweets\":[{\"type\":\"replied_to\","
        "\"id\":\"2\"},{\"type\":\"quoted\",\"id\":\"3\"}]}],"
        "\"meta\":{\"result_count\":3,\"next_token\":\"abc\"}}";
    ElmFetchPage pg = {0};
    ElmError err;
    int rc = elm_fetch_x_parse_page(page, strlen(page), &pg, &err);
    CHECK(rc == 0 && pg.n == 3 && strcmp(pg.next, "abc") == 0, "X page: %s", rc ? err.msg : "");
    if (rc == 0 && pg.n == 3) {
        CHECK(strcmp(pg.posts[0].text, "a & b https://e.com/?a=1&b=2") == 0, "text '%s'",
              pg.posts[0].text);
        CHECK(strcmp(pg.posts[0].created_at, "2023-01-02T03:04:05Z") == 0, "time");
        CHECK(!pg.posts[0].is_reply && !pg.posts[0].is_repost && pg.posts[1].is_repost &&
                  pg.posts[2].is_reply && !pg.posts[2].is_repost,
              "flags");
        CHECK(!pg.posts[1].lang && strcmp(pg.posts[2].text, "the long text") == 0, "lang, note");
    }
    elm_fetch_page_free(&pg);
    const char *empty = "{\"meta\":{\"result_count\":0}}";
    rc = elm_fetch_x_parse_page(empty, strlen(empty), &pg, &err);
    CHECK(rc == 0 && pg.n == 0 && !pg.next[0], "X empty page: %s", rc ? err.msg : "");
    elm_fetch_page_free(&pg);
    refused(elm_fetch_x_parse_page, "{\"data\":[]", "not a JSON object");
    refused(elm_fetch_x_parse_page, "[]", "not a JSON object");
    refused(elm_fetch_x_parse_page, "{\"data\":{}, \"meta\":{}}", "no data array");
    refused(elm_fetch_x_parse_page, "{\"data\":[]}", "meta");
    refused(elm_fetch_x_parse_page, "{\"data\":[1],\"meta\":{}}", "non-object");
    refused(elm_fetch_x_parse_page, "{\"data\":[{\"id\":20,\"text\":\"a\"}],\"meta\":{}}",
            "numeric id");
    refused(elm_fetch_x_parse_page, "{\"data\":[{\"id\":\"2\",\"text\":\"a\"}],\"meta\":{}}",
            "no created_at");
    refused(elm_fetch_x_parse_page,
            "{\"data\":[{\"id\":\"2\",\"created_at\":\"2020-01-01\"}],\"meta\":{}}", "no text");
    refused(elm_fetch_x_parse_page,
            "{\"data\":[{\"id\":\"2\",\"text\":\"a\",\"created_at\":\"yesterday\"}],\"meta\":{}}",
            "ISO 8601");
    refused(elm_fetch_x_parse_page, "{\"meta\":{\"next_token\":5}}", "next_token");
    refused(elm_fetch_x_parse_page, "{\"errors\":[{\"title\":\"Forbidden\"}]}", "Forbidden");
    char id[64];
    const char *user = "{\"data\":{\"id\":\"2244994945\",\"username\":\"x\"}}";
    CHECK(elm_fetch_x_parse_user(user, strlen(user), id, sizeof id, &err) == 0 &&
              strcmp(id, "2244994945") == 0,
          "X user");
    const char *nouser = "{\"errors\":[{\"detail\":\"Could not find user\"}]}";
    CHECK(elm_fetch_x_parse_user(nouser, strlen(nouser), id, sizeof id, &err) != 0 &&
              strstr(err.msg, "not found: Could not find user"),
          "X unknown user: %s", err.msg);
}

static void test_bluesky(void) {
    const char *page =
        "{\"feed\":[{\"post\":{\"uri\":\"at://d/p/1\",\"record\":{\"text\":\"hi \xF0\x9F\x8E\x89\","
        "\"createdAt\":\"2024-01-01T00:00:00.000Z\",\"langs\":[\"fr\"]}}},"
        "{\"post\":{\"uri\":\"at://d/p/2\",\"record\":{\"text\":\"re\",\"createdAt\":"
        "\"2024-01-01T00:00:00Z\",\"reply\":{}}}},"
        "{\"post\":{\"uri\":\"at://o/p/3\",\"record\":{\"text\":\"theirs\",\"createdAt\":"
        "\"2019-01-01T00:00:00Z\"}},\"reason\":{\"$type\":\"app.bsky.feed.defs#reasonRepost\","
        "\"indexedAt\":\"2024-02-02T00:00:00Z\"}},"
        "{\"post\":{\"uri\":\"at://d/p/4\",\"record\":{\"text\":\"pinned\",\"createdAt\":"
        "\"2020-01-01T00:00:00Z\"}},\"reason\":{\"$type\":\"app.bsky.feed.defs#reasonPin\"}}],"
        "\"cursor\":\"2024-01-01T00:00:00.000Z\"}";
    ElmFetchPage pg = {0};
    ElmError err;
    int rc = elm_fetch_bluesky_parse_page(page, strlen(page), &pg, &err);
    CHECK(rc == 0 && pg.n == 3 && strcmp(pg.next, "2024-01-01T00:00:00.000Z") == 0,
          "Bluesky page: %s (%d posts)", rc ? err.msg : "", pg.n);
    if (rc == 0 && pg.n == 3) {
        CHECK(strcmp(pg.posts[0].lang, "fr") == 0 && !pg.posts[0].is_reply, "post 1");
        CHECK(pg.posts[1].is_reply && !pg.posts[1].is_repost, "post 2 a reply");
        CHECK(pg.posts[2].is_repost && strcmp(pg.posts[2].id, "at://o/p/3#repost") == 0 &&
                  strcmp(pg.posts[2].created_at, "2024-02-02T00:00:00Z") == 0,
              "post 3 a repost at its repost time: %s %s", pg.posts[2].id, pg.posts[2].created_at);
    }
    elm_fetch_page_free(&pg);
    const char *last = "{\"feed\":[],\"cursor\":\"x\"}";
    rc = elm_fetch_bluesky_parse_page(last, strlen(last), &pg, &err);
    CHECK(rc == 0 && !pg.next[0], "an empty feed ends the account");
    elm_fetch_page_free(&pg);
    refused(elm_fetch_bluesky_parse_page, "{\"error\":\"InvalidRequest\"}", "no feed array");
    refused(elm_fetch_bluesky_parse_page, "{\"feed\":[{}]}", "post.uri");
    refused(elm_fetch_bluesky_parse_page, "{\"feed\":[{\"post\":{\"uri\":\"u\"}}]}", "no record");
    refused(elm_fetch_bluesky_parse_page,
            "{\"feed\":[{\"post\":{\"uri\":\"u\",\"record\":{\"text\":\"t\"}}}]}", "createdAt");
    refused(elm_fetch_bluesky_parse_page, "{\"feed\":[],\"cursor\":7}", "cursor");
    refused(elm_fetch_bluesky_parse_page,
            "{\"feed\":[{\"post\":{\"uri\":\"u\",\"record\":{\"text\":\"t\",\"createdAt\":"
            "\"2020-01-01\",\"langs\":\"en\"}}}]}",
            "langs");
}

static void test_mastodon(void) {
    const char *page =
        "[{\"id\":\"30\",\"created_at\":\"2023-05-05T05:05:05.000Z\",\"in_reply_to_id\":null,"
        "\"language\":\"de\",\"content\":\"<p>Gr&#252;&#223;e</p>\",\"reblog\":null},"
        "{\"id\":\"29\",\"created_at\":\"2023-05-05T05:00:00.000Z\",\"in_reply_to_id\":\"7\","
        "\"language\":null,\"content\":\"<p>re</p>\"},"
        "{\"id\":\"28\",\"created_at\":\"2023-05-04T00:00:00.000Z\",\"content\":\"\","
        "\"language\":null,\"reblog\":{\"id\":\"3\",\"created_at\":\"2020-01-01T00:00:00Z\","
        "\"content\":\"<p>boosted</p>\",\"language\":\"en\"}}]";
    ElmFetchPage pg = {0};
    ElmError err;
    int rc = elm_fetch_mastodon_parse_page(
        page, strlen(page),
        "<https://m/api/v1/accounts/1/statuses?limit=40&max_id=28>; rel=\"next\", "
        "<https://m/api/v1/accounts/1/statuses?min_id=30>; rel=\"prev\"",
        &pg, &err);
    CHECK(rc == 0 && pg.n == 3 && strcmp(pg.next, "28") == 0, "Mastodon page: %s (next '%s')",
          rc ? err.msg : "", pg.next);
    if (rc == 0 && pg.n == 3) {
        CHECK(strcmp(pg.posts[0].text, "Gr\xC3\xBC\xC3\x9F"
                                       "e") == 0 &&
                  strcmp(pg.posts[0].lang, "de") == 0,
              "text '%s'", pg.posts[0].text);
        CHECK(pg.posts[1].is_reply && !pg.posts[1].lang, "a reply");
        CHECK(pg.posts[2].is_repost && strcmp(pg.posts[2].id, "28") == 0 &&
                  strcmp(pg.posts[2].text, "boosted") == 0 && strcmp(pg.posts[2].lang, "en") == 0,
              "a reblog: the boosted text under the reblog's id");
    }
    elm_fetch_page_free(&pg);
    rc = elm_fetch_mastodon_parse_page("[]", 2, "<https://m/?max_id=1>; rel=\"next\"", &pg, &err);
    CHECK(rc == 0 && !pg.next[0], "an empty page ends the account");
    elm_fetch_page_free(&pg);
    refused(parse_masto, "{\"error\":\"Record not found\"}", "Record not found");
    refused(parse_masto, "{}", "not a JSON array");
    refused(parse_masto, "[{\"id\":30}]", "numeric id");
    refused(parse_masto, "[{\"id\":\"30\",\"created_at\":\"2020-01-01\"}]", "content");
    refused(parse_masto,
            "[{\"id\":\"30\",\"created_at\":\"2020-01-01\",\"content\":\"\","
            "\"reblog\":5}]",
            "reblog");
    refused(parse_masto,
            "[{\"id\":\"30\",\"created_at\":\"2020-01-01\",\"content\":\"\","
            "\"in_reply_to_id\":7}]",
            "in_reply_to_id");
    const char *one = "[{\"id\":\"30\",\"created_at\":\"2020-01-01\",\"content\":\"x\"}]";
    rc = elm_fetch_mastodon_parse_page(one, strlen(one), "<https://m/?max_id=abc>; rel=\"next\"",
                                       &pg, &err);
    CHECK(rc != 0 && strstr(err.msg, "max_id"), "a non-numeric max_id: %s", err.msg);
    elm_fetch_page_free(&pg);
    char id[64];
    const char *acc = "{\"id\":\"109302436954721982\",\"acct\":\"u\"}";
    CHECK(elm_fetch_mastodon_parse_account(acc, strlen(acc), id, sizeof id, &err) == 0 &&
              strcmp(id, "109302436954721982") == 0,
          "Mastodon account");
    CHECK(elm_fetch_mastodon_parse_account("{\"id\":1}", 8, id, sizeof id, &err) != 0,
          "a numeric account id accepted");
}

int main(void) {
    test_html();
    test_time();
    test_x();
    test_bluesky();
    test_mastodon();
    ELM_TEST_DONE();
}
