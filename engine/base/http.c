// http.c — HTTP GET over libcurl (http.h). Redirects are followed here rather than by curl, so
// each hop's URL is checked and an Authorization header never goes to another host.
#include "engine/base/http.h"

#include "engine/base/version.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ELM_HTTP_MAX_HEADERS (256u << 10)
#define ELM_HTTP_MAX_REDIRECTS 10

struct ElmHttp {
    CURL *curl;
};

// What the callbacks of one transfer (one hop) share.
typedef struct HttpXfer {
    const ElmHttpRequest *rq;
    ElmHttpResponse *resp;
    ElmBuf head; // this hop's header block
    long status; // from the latest status line
    size_t max_body;
    int too_big;     // 1: memory body over its bound, 2: sink over its bound, 3: headers
    int sink_failed; // fwrite to the sink failed
} HttpXfer;

int elm_http_global_init(ElmError *err) {
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) return elm_err(err, "curl_global_init: %s", curl_easy_strerror(rc));
    return 0;
}

void elm_http_global_cleanup(void) {
    curl_global_cleanup();
}

ElmHttp *elm_http_create(ElmError *err) {
    ElmHttp *h = elm_calloc(1, sizeof *h, err);
    if (!h) return NULL;
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        elm_err(err, "curl_easy_init failed");
        return NULL;
    }
    return h;
}

void elm_http_free(ElmHttp *h) {
    if (!h) return;
    curl_easy_cleanup(h->curl);
    free(h);
}

void elm_http_response_free(ElmHttpResponse *r) {
    if (!r) return;
    elm_buf_free(&r->body);
    free(r->headers);
    free(r->redirect_headers);
    memset(r, 0, sizeof *r);
}

static size_t http_on_header(char *p, size_t size, size_t n, void *ud) {
    HttpXfer *x = ud;
    size_t len = size * n;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) { // a new response (1xx, then the real one)
        x->head.len = 0;
        const char *sp = memchr(p, ' ', len);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    }
    if (x->head.len + len > ELM_HTTP_MAX_HEADERS) {
        x->too_big = 3;
        return 0;
    }
    elm_buf_append(&x->head, p, len);
    return x->head.oom ? 0 : len;
}

static size_t http_on_body(char *p, size_t size, size_t n, void *ud) {
    HttpXfer *x = ud;
    size_t len = size * n;
    ElmHttpResponse *r = x->resp;
    if (x->rq->sink && x->status >= 200 && x->status < 300) {
        if (x->rq->max_sink > 0 && r->sink_bytes + (long long)len > x->rq->max_sink) {
            x->too_big = 2;
            return 0;
        }
        if (fwrite(p, 1, len, x->rq->sink) != len) {
            x->sink_failed = 1;
            return 0;
        }
        r->sink_bytes += (long long)len;
        return len;
    }
    if (r->body.len + len > x->max_body) {
        x->too_big = 1;
        return 0;
    }
    elm_buf_append(&r->body, p, len);
    return r->body.oom ? 0 : len;
}

static int http_on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow) {
    (void)ultotal;
    (void)ulnow;
    HttpXfer *x = ud;
    if (!x->rq->progress) return 0;
    return x->rq->progress(x->rq->progress_ctx, (long long)dlnow,
                           dltotal > 0 ? (long long)dltotal : -1);
}

void elm_http_url_display(const char *url, char *out, size_t n) {
    if (n == 0) return;
    const char *s = strstr(url, "://");
    s = s ? s + 3 : url;
    const char *at = strpbrk(s, "@/?#"); // drop userinfo
    if (at && *at == '@') s = at + 1;
    size_t k = strcspn(s, "?#");
    if (k >= n) k = n - 1;
    memcpy(out, s, k);
    out[k] = '\0';
}

static int http_host_is_loopback(const char *host) {
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0) return 1;
    if (strncmp(host, "127.", 4) != 0) return 0;
    int dots = 0;
    for (const char *p = host; *p; p++) {
        if (*p == '.')
            dots++;
        else if (!isdigit((unsigned char)*p))
            return 0;
    }
    return dots == 3;
}

int elm_http_url_check(const char *url, ElmError *err) {
    char shown[512];
    elm_http_url_display(url, shown, sizeof shown);
    CURLU *u = curl_url();
    if (!u) return elm_err(err, "out of memory");
    char *scheme = NULL, *host = NULL;
    int rc = -1;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        elm_err(err, "not a valid URL: %s", shown);
    else if (strcasecmp(scheme, "https") == 0)
        rc = 0;
    else if (strcasecmp(scheme, "http") == 0 && http_host_is_loopback(host))
        rc = 0;
    else if (strcasecmp(scheme, "http") == 0)
        elm_err(err,
                "refusing plain http:// to %s (only https://, or http:// to 127.0.0.1, "
                "localhost or [::1])",
                host);
    else
        elm_err(err, "refusing URL scheme '%s' (%s): only https://", scheme, shown);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

static void http_host_of(const char *url, char *out, size_t n) {
    out[0] = '\0';
    CURLU *u = curl_url();
    char *host = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        snprintf(out, n, "%s", host);
    curl_free(host);
    curl_url_cleanup(u);
}

// The request headers for one hop: the caller's, less Authorization when the host changed.
static int http_header_list(const ElmHttpRequest *rq, int drop_auth, struct curl_slist **out,
                            ElmError *err) {
    struct curl_slist *list = NULL;
    for (const char *const *hd = rq->headers; hd && *hd; hd++) {
        if (drop_auth && strncasecmp(*hd, "Authorization:", 14) == 0) continue;
        struct curl_slist *next = curl_slist_append(list, *hd);
        if (!next) {
            curl_slist_free_all(list);
            return elm_err(err, "out of memory");
        }
        list = next;
    }
    *out = list;
    return 0;
}

static void http_setopts(CURL *c, const char *url, const ElmHttpRequest *rq, HttpXfer *x,
                         struct curl_slist *hdrs, char *errbuf) {
    char agent[64];
    snprintf(agent, sizeof agent, "elm/%s", elm_version);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, agent);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
                     rq->connect_timeout_s > 0 ? rq->connect_timeout_s : 30L);
    if (rq->timeout_s > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT, rq->timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, rq->stall_s > 0 ? rq->stall_s : 60L);
    if (!rq->sink) curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); // what curl can decode
    if (rq->range_from > 0) {
        char range[32];
        snprintf(range, sizeof range, "%lld-", rq->range_from);
        curl_easy_setopt(c, CURLOPT_RANGE, range); // copied by curl
    }
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, http_on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, rq->progress ? 0L : 1L);
}

static int http_transient(CURLcode rc) {
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

// The one-line failure of a hop: host/path and curl's reason (or the bound that was hit).
static int http_fail(const char *url, CURLcode rc, const HttpXfer *x, const char *errbuf,
                     ElmError *err) {
    char shown[512];
    elm_http_url_display(url, shown, sizeof shown);
    if (x->too_big == 1)
        return elm_err(err, "GET %s: response body over %zu bytes", shown, x->max_body);
    if (x->too_big == 2)
        return elm_err(err, "GET %s: download over %lld bytes", shown, x->rq->max_sink);
    if (x->too_big == 3) return elm_err(err, "GET %s: response headers too large", shown);
    if (x->sink_failed) return elm_err(err, "GET %s: writing the download failed", shown);
    if (rc == CURLE_ABORTED_BY_CALLBACK) return elm_err(err, "GET %s: interrupted", shown);
    if (x->head.oom || x->resp->body.oom) return elm_err(err, "GET %s: out of memory", shown);
    // errbuf may quote the URL with its query: drop anything after a '?'.
    char reason[CURL_ERROR_SIZE];
    snprintf(reason, sizeof reason, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    char *q = strchr(reason, '?');
    if (q) *q = '\0';
    size_t k = strlen(reason);
    while (k > 0 && (reason[k - 1] == '\n' || reason[k - 1] == ' ')) reason[--k] = '\0';
    return elm_err(err, "GET %s: %s", shown, reason);
}

// One hop: fills resp->status and resp->headers (this hop's block) or fails.
static int http_hop(ElmHttp *h, const char *url, const ElmHttpRequest *rq, int drop_auth,
                    ElmHttpResponse *resp, ElmError *err) {
    if (elm_http_url_check(url, err) != 0) return -1;
    struct curl_slist *hdrs = NULL;
    if (http_header_list(rq, drop_auth, &hdrs, err) != 0) return -1;
    HttpXfer x = {.rq = rq, .resp = resp};
    x.max_body = rq->max_body ? rq->max_body : ELM_HTTP_MAX_BODY;
    char errbuf[CURL_ERROR_SIZE] = {0};
    http_setopts(h->curl, url, rq, &x, hdrs, errbuf);
    resp->body.len = 0;
    CURLcode rc = curl_easy_perform(h->curl);
    curl_slist_free_all(hdrs);
    free(resp->headers);
    resp->headers = NULL;
    if (rc != CURLE_OK || x.head.oom) {
        resp->transient = http_transient(rc) && !x.too_big && !x.sink_failed;
        http_fail(url, rc, &x, errbuf, err);
        elm_buf_free(&x.head);
        return -1;
    }
    long code = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    resp->status = code;
    elm_buf_append(&x.head, "", 1);     // NUL-terminated (and an empty block is still a string)
    elm_buf_append(&resp->body, "", 1); // the body too, for parsers of text (not counted)
    if (x.head.oom || resp->body.oom) {
        elm_buf_free(&x.head);
        return elm_err(err, "out of memory");
    }
    resp->body.len--;
    resp->headers = x.head.data;
    return 0;
}

static int http_keep_redirect_headers(ElmHttpResponse *resp, ElmError *err) {
    size_t old = resp->redirect_headers ? strlen(resp->redirect_headers) : 0;
    size_t add = strlen(resp->headers);
    char *p = elm_realloc(resp->redirect_headers, old + add + 1, err);
    if (!p) return -1;
    memcpy(p + old, resp->headers, add + 1);
    resp->redirect_headers = p;
    return 0;
}

int elm_http_get(ElmHttp *h, const char *url, const ElmHttpRequest *rq, ElmHttpResponse *resp,
                 ElmError *err) {
    static const ElmHttpRequest none = {0};
    if (!rq) rq = &none;
    memset(resp, 0, sizeof *resp);
    char host0[512], cur[4096];
    http_host_of(url, host0, sizeof host0);
    snprintf(cur, sizeof cur, "%s", url);
    for (int hop = 0;; hop++) {
        char host[512];
        http_host_of(cur, host, sizeof host);
        if (http_hop(h, cur, rq, strcasecmp(host, host0) != 0, resp, err) != 0) return -1;
        snprintf(resp->url, sizeof resp->url, "%s", cur);
        char *next = NULL;
        int redirect = resp->status >= 300 && resp->status < 400 &&
                       curl_easy_getinfo(h->curl, CURLINFO_REDIRECT_URL, &next) == CURLE_OK && next;
        if (!rq->follow_redirects || !redirect) return 0;
        if (hop == ELM_HTTP_MAX_REDIRECTS) {
            char shown[512];
            elm_http_url_display(url, shown, sizeof shown);
            return elm_err(err, "GET %s: more than %d redirects", shown, ELM_HTTP_MAX_REDIRECTS);
        }
        if (http_keep_redirect_headers(resp, err) != 0) return -1;
        snprintf(cur, sizeof cur, "%s", next); // next belongs to the handle: copy it out first
    }
}

int elm_http_header_in(const char *block, const char *name, char *out, size_t n) {
    if (n) out[0] = '\0';
    if (!block) return -1;
    size_t k = strlen(name);
    int found = -1;
    for (const char *line = block; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > k && strncasecmp(line, name, k) == 0 && line[k] == ':') {
            const char *v = line + k + 1;
            const char *e = line + len;
            while (v < e && (*v == ' ' || *v == '\t')) v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
            size_t m = (size_t)(e - v);
            if (n) {
                if (m >= n) m = n - 1;
                memcpy(out, v, m);
                out[m] = '\0';
            }
            found = 0;
        }
        if (!end) break;
        line = end + 1;
    }
    return found;
}

int elm_http_header(const ElmHttpResponse *r, const char *name, char *out, size_t n) {
    return elm_http_header_in(r->headers, name, out, n);
}

int elm_http_redirect_header(const ElmHttpResponse *r, const char *name, char *out, size_t n) {
    return elm_http_header_in(r->redirect_headers, name, out, n);
}

int elm_http_link_next(const char *link, char *out, size_t n) {
    if (n) out[0] = '\0';
    for (const char *p = link; p && *p;) {
        const char *lt = strchr(p, '<');
        if (!lt) return -1;
        const char *gt = strchr(lt + 1, '>');
        if (!gt) return -1;
        const char *end = strchr(gt, ','); // the params of this link run to the next comma
        size_t plen = end ? (size_t)(end - gt) : strlen(gt);
        char params[256];
        snprintf(params, sizeof params, "%.*s", (int)(plen < 255 ? plen : 255), gt + 1);
        if (strstr(params, "rel=\"next\"") || strstr(params, "rel=next")) {
            size_t m = (size_t)(gt - lt - 1);
            if (m >= n) return -1;
            memcpy(out, lt + 1, m);
            out[m] = '\0';
            return 0;
        }
        p = end ? end + 1 : NULL;
    }
    return -1;
}

void elm_http_escape(const char *s, char *out, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    if (n == 0) return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int plain = (*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= 'a' && *p <= 'z') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (o + (plain ? 1 : 3) >= n) break;
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}
