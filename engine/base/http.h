// http.h — HTTP GET over libcurl: HTTPS with certificate checks, bounded bodies, redirects followed
// by hand (each hop checked), errors that never carry request headers or query strings.
// Serves `elm fetch` (the platforms' APIs) and the Hugging Face Hub download (ranges, files).
#ifndef ELM_HTTP_H
#define ELM_HTTP_H

#include "engine/base/buf.h"
#include "engine/base/error.h"

#include <stddef.h>
#include <stdio.h>

// One GET's options; a zeroed struct is a valid request (bounds and timeouts take the defaults
// below).
typedef struct ElmHttpRequest {
    const char *const *headers; // extra request headers ("Name: value"), NULL-terminated, or NULL
    size_t max_body;            // bound of a body kept in memory (0 = ELM_HTTP_MAX_BODY)
    long connect_timeout_s;     // 0 = 30 s
    long timeout_s;             // whole transfer (0 = none: use stall_s for large files)
    long stall_s;               // abort when under 1 byte/s for this long (0 = 60 s)
    FILE *sink;                 // non-NULL: a 2xx body is written here instead of memory
    long long max_sink;         // bound of the bytes written to sink (0 = none)
    long long range_from;       // > 0: "Range: bytes=N-" (the caller checks for 206)
    int follow_redirects; // follow up to 10 redirects, each URL checked by elm_http_url_check;
                          // an "Authorization:" header is dropped when the host changes
    // Optional progress (body bytes of this response so far, and the total when known, else -1);
    // a non-zero return aborts the transfer ("interrupted").
    int (*progress)(void *ctx, long long done, long long total);
    void *progress_ctx;
} ElmHttpRequest;

#define ELM_HTTP_MAX_BODY (64u << 20)

typedef struct ElmHttpResponse {
    long status;          // the final response's status (0 when none arrived)
    ElmBuf body;          // the body when not streamed to a sink (a non-2xx body always lands here)
    long long sink_bytes; // bytes written to the sink
    char *headers;        // the final response's raw header block ("Name: value\r\n"...)
    char *redirect_headers; // the header blocks of the redirect responses followed, in order
    char url[4096];         // the final URL (after redirects)
    int transient; // on failure: the error may pass on a retry (reset, timeout, refused, partial)
} ElmHttpResponse;

// A client: one curl handle, so successive requests reuse the connection. Not thread-safe; one
// per thread.
typedef struct ElmHttp ElmHttp;

// Once per process, before any thread is started (curl_global_init). Called by the CLI; a
// library user calls it itself. elm_http_create works without it (curl then initialises lazily,
// which is not thread-safe).
int elm_http_global_init(ElmError *err);
void elm_http_global_cleanup(void);

ElmHttp *elm_http_create(ElmError *err);
void elm_http_free(ElmHttp *h);

// GET url. Returns 0 when a complete response arrived, whatever its status (check resp->status);
// -1 on a refused URL, a transport failure (resp->transient says whether a retry may help), a
// body over its bound, or an abort. The error names the URL's host and path only (no query) and
// curl's reason. resp is reset first; free it with elm_http_response_free either way.
int elm_http_get(ElmHttp *h, const char *url, const ElmHttpRequest *rq, ElmHttpResponse *resp,
                 ElmError *err);
void elm_http_response_free(ElmHttpResponse *r);

// The value of header `name` (case-insensitive) in the final response, trimmed, into out;
// 0 = found, -1 = absent (out set to ""). The last occurrence wins.
int elm_http_header(const ElmHttpResponse *r, const char *name, char *out, size_t n);
// The same over the redirect responses followed (the Hub's X-Linked-Etag sits on its 302); the
// last hop that has it wins.
int elm_http_redirect_header(const ElmHttpResponse *r, const char *name, char *out, size_t n);
// The same over a raw header block.
int elm_http_header_in(const char *block, const char *name, char *out, size_t n);

// https:// anywhere; http:// only to loopback (127.0.0.0/8, localhost, [::1]). Anything else,
// or a URL curl cannot parse, is refused with a message naming the URL's host.
int elm_http_url_check(const char *url, ElmError *err);
// "host/path" of url (no scheme, userinfo, query or fragment), for messages.
void elm_http_url_display(const char *url, char *out, size_t n);

// The target of rel="next" in a Link header value ("<url>; rel=\"next\", ..."), into out;
// 0 = found, -1 = none.
int elm_http_link_next(const char *link, char *out, size_t n);

// Percent-encodes s for a query value or path segment (RFC 3986 unreserved kept).
void elm_http_escape(const char *s, char *out, size_t n);

#endif
