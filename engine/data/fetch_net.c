// fetch_net.c — the polite GET of `elm fetch` (fetch_internal.h): rate limits honoured
// (X's x-rate-limit-*, Mastodon's x-ratelimit-*, Bluesky's ratelimit-*, Retry-After), back-off with
// jitter on 429, 5xx and transport failures, bounded retries, and errors that say what the status
// means.
#include "engine/base/rng.h"
#include "engine/data/fetch_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double net_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void net_sleep(double s) {
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

// Sleeps until Unix time t, saying so on stderr when the wait is a rate limit's.
static void net_wait_until(ElmFetchNet *net, double t, const char *why) {
    double now = net_now();
    if (t <= now) return;
    if (!net->quiet && why) {
        time_t tt = (time_t)t + (t > (double)(time_t)t);
        struct tm tm;
        localtime_r(&tt, &tm);
        fprintf(stderr, "fetch %s: %s, waiting until %02d:%02d:%02d (%.0f s)\n", net->label, why,
                tm.tm_hour, tm.tm_min, tm.tm_sec, t - now);
    }
    net_sleep(t - now);
    net->waited_s += t - now;
}

// A reset header's value as Unix time: epoch seconds (X, Bluesky), seconds from now (a small
// number: the IETF draft's RateLimit-Reset), or an ISO 8601 time (Mastodon); 0 if unreadable.
static double net_reset_value(const char *v) {
    char *end;
    double t = strtod(v, &end);
    if (end != v && *end == '\0' && t >= 0) return t > 1e9 ? t : net_now() + t;
    char iso[21];
    long long u;
    return elm_fetch_time_norm(v, iso, &u) == 0 ? (double)u : 0;
}

// The rate-limit window's reset time from X's x-rate-limit-reset, Mastodon's x-ratelimit-reset
// or Bluesky's ratelimit-reset, else from Retry-After (seconds, or an HTTP date); 0 when none.
// *exhausted: the matching *-remaining header says 0.
static double net_reset_time(const ElmHttpResponse *r, int *exhausted) {
    static const char *const names[][2] = {{"x-rate-limit-reset", "x-rate-limit-remaining"},
                                           {"x-ratelimit-reset", "x-ratelimit-remaining"},
                                           {"ratelimit-reset", "ratelimit-remaining"}};
    char v[128];
    *exhausted = 0;
    for (int i = 0; i < 3; i++) {
        if (elm_http_header(r, names[i][0], v, sizeof v) != 0) continue;
        double t = net_reset_value(v);
        if (t <= 0) continue;
        *exhausted = elm_http_header(r, names[i][1], v, sizeof v) == 0 && atol(v) <= 0;
        return t;
    }
    if (elm_http_header(r, "retry-after", v, sizeof v) == 0) {
        char *end;
        double s = strtod(v, &end);
        if (end != v && *end == '\0' && s >= 0) return net_now() + s;
        struct tm tm = {0};
        if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm)) return (double)timegm(&tm);
    }
    return 0;
}

static double net_backoff(ElmFetchNet *net, int attempt) {
    double d = net->backoff * (double)(1u << (attempt < 10 ? attempt : 10));
    if (d > 300) d = 300;
    return d * (0.5 + elm_rng_unif(&net->rng));
}

static const char *net_status_meaning(long status) {
    switch (status) {
    case 400:
        return "bad request (is the account name right?)";
    case 401:
        return "unauthorized: a bad or missing token";
    case 403:
        return "forbidden: a protected account, or the token's access level";
    case 404:
        return "not found: no such account";
    case 410:
        return "gone: the account was deleted";
    case 429:
        return "rate limited";
    default:
        return status >= 500 ? "server error" : "unexpected status";
    }
}

// The outcome of one answered request: 0 done, 1 retry after *wait_until, -1 failed.
static int net_judge(ElmFetchNet *net, const char *url, const ElmHttpResponse *r, int attempt,
                     double *wait_until, ElmError *err) {
    char shown[512];
    elm_http_url_display(url, shown, sizeof shown);
    int exhausted;
    double reset = net_reset_time(r, &exhausted);
    if (exhausted) net->not_before = reset; // the next request waits for the window's reset
    if (r->status >= 200 && r->status < 300) return 0;
    int retryable = r->status == 429 || r->status == 500 || r->status == 502 || r->status == 503 ||
                    r->status == 504;
    if (!retryable || attempt >= net->retries)
        return elm_err(err, "GET %s: HTTP %ld, %s%s", shown, r->status,
                       net_status_meaning(r->status), retryable ? " (retries exhausted)" : "");
    *wait_until = net_now() + net_backoff(net, attempt);
    if (r->status == 429 && reset > 0) *wait_until = reset;
    if (*wait_until - net_now() > net->max_wait)
        return elm_err(err,
                       "GET %s: HTTP 429, rate limited for %.0f s, over [fetch] max_wait = "
                       "%.0f s",
                       shown, *wait_until - net_now(), net->max_wait);
    return 1;
}

int elm_fetch_net_get(ElmFetchNet *net, const char *url, ElmHttpResponse *resp, ElmError *err) {
    ElmHttpRequest rq = {.headers = net->headers,
                         .timeout_s = net->timeout_s,
                         .connect_timeout_s = net->timeout_s < 30 ? net->timeout_s : 30};
    memset(resp, 0, sizeof *resp);
    for (int attempt = 0;; attempt++) {
        if (net->not_before - net_now() > net->max_wait) {
            char shown[512];
            elm_http_url_display(url, shown, sizeof shown);
            return elm_err(err,
                           "GET %s: the rate limit resets in %.0f s, over [fetch] max_wait = "
                           "%.0f s",
                           shown, net->not_before - net_now(), net->max_wait);
        }
        net_wait_until(net, net->not_before, "rate limit reached");
        elm_http_response_free(resp);
        net->requests++;
        if (elm_http_get(net->http, url, &rq, resp, err) != 0) {
            if (!resp->transient || attempt >= net->retries) {
                if (attempt > 0) elm_err_prefix(err, "after %d retries", attempt);
                return -1;
            }
            net_wait_until(net, net_now() + net_backoff(net, attempt), NULL);
            continue;
        }
        double until = 0;
        int j = net_judge(net, url, resp, attempt, &until, err);
        if (j <= 0) return j;
        net_wait_until(net, until, resp->status == 429 ? "rate limited (HTTP 429)" : NULL);
    }
}
