// test_http.c — engine/base/http: the URL policy, header and Link parsing, escaping, and a
// transport failure's message (a closed loopback port; no server needed).
#include "elmtest.h"
#include "engine/base/http.h"

#include <string.h>

static void test_url_check(void) {
    static const char *ok[] = {"https://api.x.com/2/users", "http://127.0.0.1:8080/x",
                               "http://127.3.4.5/",         "http://localhost:1/a?b=c",
                               "http://[::1]:99/",          "HTTPS://Example.org"};
    static const char *bad[] = {"http://api.x.com/2", "http://127.0.0.1.evil.com/",
                                "http://10.0.0.1/",   "ftp://127.0.0.1/",
                                "file:///etc/passwd", "not a url",
                                "http://[::2]/",      "gopher://localhost/"};
    ElmError err;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        CHECK(elm_http_url_check(ok[i], &err) == 0, "%s refused: %s", ok[i], err.msg);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err.msg[0] = '\0';
        CHECK(elm_http_url_check(bad[i], &err) != 0, "%s accepted", bad[i]);
        CHECK(err.msg[0] != '\0', "%s: no message", bad[i]);
    }
}

static void test_display(void) {
    char out[128];
    elm_http_url_display("https://user:pw@api.x.com/2/users?token=SECRET#frag", out, sizeof out);
    CHECK(strcmp(out, "api.x.com/2/users") == 0, "got '%s'", out);
    elm_http_url_display("http://127.0.0.1:5/a/b", out, sizeof out);
    CHECK(strcmp(out, "127.0.0.1:5/a/b") == 0, "got '%s'", out);
    elm_http_url_display("https://h/p?q", out, 3);
    CHECK(strcmp(out, "h/") == 0, "bounded: got '%s'", out);
}

static void test_headers(void) {
    const char *block = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                        "x-rate-limit-reset:  1700000000 \r\nX-Dup: a\r\nx-dup: b\r\n\r\n";
    char v[64];
    CHECK(elm_http_header_in(block, "content-type", v, sizeof v) == 0 &&
              strcmp(v, "text/plain") == 0,
          "got '%s'", v);
    CHECK(elm_http_header_in(block, "X-Rate-Limit-Reset", v, sizeof v) == 0 &&
              strcmp(v, "1700000000") == 0,
          "got '%s'", v);
    CHECK(elm_http_header_in(block, "x-dup", v, sizeof v) == 0 && strcmp(v, "b") == 0,
          "last wins: got '%s'", v);
    CHECK(elm_http_header_in(block, "x-rate", v, sizeof v) == -1 && v[0] == '\0', "prefix matched");
    CHECK(elm_http_header_in(block, "Content", v, sizeof v) == -1, "prefix matched");
    CHECK(elm_http_header_in(NULL, "a", v, sizeof v) == -1, "NULL block");
}

static void test_link(void) {
    char out[256];
    const char *l = "<https://m.social/api/v1/accounts/1/statuses?max_id=5,6>; rel=\"next\", "
                    "<https://m.social/api/v1/accounts/1/statuses?min_id=9>; rel=\"prev\"";
    CHECK(elm_http_link_next(l, out, sizeof out) == 0 &&
              strcmp(out, "https://m.social/api/v1/accounts/1/statuses?max_id=5,6") == 0,
          "got '%s'", out);
    const char *prev_first = "<https://a/p>; rel=\"prev\", <https://a/n>; rel=\"next\"";
    CHECK(elm_http_link_next(prev_first, out, sizeof out) == 0 && strcmp(out, "https://a/n") == 0,
          "got '%s'", out);
    CHECK(elm_http_link_next("<https://a/p>; rel=\"prev\"", out, sizeof out) == -1, "no next");
    CHECK(elm_http_link_next("<unterminated; rel=\"next\"", out, sizeof out) == -1, "bad");
    CHECK(elm_http_link_next("", out, sizeof out) == -1, "empty");
}

static void test_escape(void) {
    char out[64];
    elm_http_escape("a b/c@d.e~_-é", out, sizeof out);
    CHECK(strcmp(out, "a%20b%2Fc%40d.e~_-%C3%A9") == 0, "got '%s'", out);
    elm_http_escape("abc%", out, 5);
    CHECK(strcmp(out, "abc") == 0, "bounded: got '%s'", out);
}

static void test_refused_connection(void) {
    ElmError err;
    ElmHttp *h = elm_http_create(&err);
    CHECK(h != NULL, "%s", err.msg);
    if (!h) return;
    ElmHttpResponse r;
    // Port 1 on loopback: nothing listens there on a test machine.
    const char *hdrs[] = {"Authorization: Bearer SECRETTOKEN", NULL};
    ElmHttpRequest rq = {.headers = hdrs, .connect_timeout_s = 5};
    int rc = elm_http_get(h, "http://127.0.0.1:1/2/users?pagination_token=QSECRET", &rq, &r, &err);
    CHECK(rc == -1, "a closed port answered");
    CHECK(r.transient == 1, "refused connection not transient");
    CHECK(strstr(err.msg, "127.0.0.1:1/2/users") != NULL, "message '%s'", err.msg);
    CHECK(strstr(err.msg, "SECRET") == NULL, "secret in '%s'", err.msg);
    elm_http_response_free(&r);
    rc = elm_http_get(h, "http://example.com/x", NULL, &r, &err);
    CHECK(rc == -1 && strstr(err.msg, "refusing plain http://") != NULL, "got '%s'", err.msg);
    elm_http_response_free(&r);
    elm_http_free(h);
}

int main(void) {
    ElmError err;
    if (elm_http_global_init(&err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    test_url_check();
    test_display();
    test_headers();
    test_link();
    test_escape();
    test_refused_connection();
    elm_http_global_cleanup();
    ELM_TEST_DONE();
}
