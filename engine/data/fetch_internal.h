// fetch_internal.h — what the parts of `elm fetch` share: one post and one page as parsed, the
// three platforms' URL builders and strict response parsers, the HTML-to-text converter and the
// per-account JSONL store. The driver is fetch.c; tests/fuzz/fuzz_fetch.c calls the parsers.
#ifndef ELM_FETCH_INTERNAL_H
#define ELM_FETCH_INTERNAL_H

#include "engine/base/buf.h"
#include "engine/base/error.h"
#include "engine/base/hashset.h"
#include "engine/base/http.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { ELM_FETCH_X, ELM_FETCH_BLUESKY, ELM_FETCH_MASTODON } ElmFetchPlatform;

// One post in the output schema (docs/fetch.md); strings owned (malloc), lang may be NULL.
typedef struct ElmFetchPost {
    char *id;
    char *created_at; // ISO 8601 UTC, "YYYY-MM-DDTHH:MM:SSZ"
    char *text;
    char *lang;
    int is_reply, is_repost;
} ElmFetchPost;

// One page of an account's posts, newest first, and where the next (older) page starts:
// X's next_token, Bluesky's cursor, Mastodon's max_id from the Link header; "" = last page.
typedef struct ElmFetchPage {
    ElmFetchPost *posts;
    int n, cap;
    char next[1024];
} ElmFetchPage;

// Takes ownership of nothing: copies the strings (lang may be NULL). created_at must parse
// (elm_fetch_time_norm) or the post is refused with err naming the field.
int elm_fetch_page_add(ElmFetchPage *pg, const char *id, const char *created_at, const char *text,
                       const char *lang, int is_reply, int is_repost, ElmError *err);
void elm_fetch_page_free(ElmFetchPage *pg);

// "YYYY-MM-DD[THH:MM[:SS[.frac]]][Z|+HH:MM|-HHMM]" to "YYYY-MM-DDTHH:MM:SSZ" (UTC) in out[21],
// and to Unix seconds in *t (may be NULL); -1 when it is not such a time.
int elm_fetch_time_norm(const char *s, char out[21], long long *t);

// ---- polite GET (fetch_net.c) ------------------------------------------------------------
// One client for all of a fetch's requests, with its rate-limit state: a request waits until
// not_before (an answer's x-rate-limit-remaining: 0 sets it to x-rate-limit-reset); a 429 waits
// for x-rate-limit-reset or Retry-After, a 5xx or a transport failure backs off (base * 2^try,
// times a jitter in [0.5, 1.5) drawn from rng), up to `retries` retries.
typedef struct ElmFetchNet {
    ElmHttp *http;
    const char *const *headers; // the request's extra headers (the token's), NULL-terminated
    int retries;
    double backoff;    // seconds
    double max_wait;   // a rate-limit wait longer than this is an error
    long timeout_s;    // per request
    uint64_t rng;      // the jitter's stream
    double not_before; // Unix time
    int quiet;
    const char *label;  // "x/conan", for the waiting lines
    long long requests; // sent (retries included)
    double waited_s;    // slept for rate limits and back-offs
} ElmFetchNet;

// GET url until a 2xx answer (0, resp filled) or a failure (-1, err names host/path and why:
// the status and its meaning, or curl's reason, after the retries). Free resp either way.
int elm_fetch_net_get(ElmFetchNet *net, const char *url, ElmHttpResponse *resp, ElmError *err);

// ---- X API v2 (fetch_x.c) -----------------------------------------------------------------
void elm_fetch_x_user_url(const char *base, const char *username, char *out, size_t n);
// since_id / start_time / cursor may be "" (absent).
void elm_fetch_x_page_url(const char *base, const char *user_id, const char *cursor,
                          const char *since_id, const char *start_time, int replies, int reposts,
                          char *out, size_t n);
// The user id from /2/users/by/username/:username's body; an "errors" answer is an unknown
// account ("not found: <detail>").
int elm_fetch_x_parse_user(const char *body, size_t n, char *id, size_t cap, ElmError *err);
int elm_fetch_x_parse_page(const char *body, size_t n, ElmFetchPage *pg, ElmError *err);

// ---- Bluesky AppView (fetch_bluesky.c) ----------------------------------------------------
void elm_fetch_bluesky_page_url(const char *base, const char *actor, const char *cursor,
                                int replies, char *out, size_t n);
int elm_fetch_bluesky_parse_page(const char *body, size_t n, ElmFetchPage *pg, ElmError *err);

// ---- Mastodon (fetch_mastodon.c) ----------------------------------------------------------
void elm_fetch_mastodon_lookup_url(const char *base, const char *acct, char *out, size_t n);
void elm_fetch_mastodon_page_url(const char *base, const char *account_id, const char *max_id,
                                 const char *since_id, int replies, int reposts, char *out,
                                 size_t n);
int elm_fetch_mastodon_parse_account(const char *body, size_t n, char *id, size_t cap,
                                     ElmError *err);
// The statuses page; `link` is the response's Link header (NULL or "" = last page): its
// rel="next" URL's max_id becomes pg->next.
int elm_fetch_mastodon_parse_page(const char *body, size_t n, const char *link, ElmFetchPage *pg,
                                  ElmError *err);

// ---- HTML to text (fetch_html.c) ----------------------------------------------------------
// Mastodon's status HTML as plain text: tags dropped (a link's text, which is its URL, kept),
// <br> to "\n", paragraphs apart by "\n\n", entities decoded, ends trimmed.
void elm_fetch_html_text(const char *html, size_t n, ElmBuf *out);
// &amp; &lt; &gt; &quot; &#39; &#NNN; &#xHH; and the common named entities decoded (X's API
// escapes &, < and > in texts); unknown ones are kept as they are.
void elm_fetch_html_unescape(const char *s, size_t n, ElmBuf *out);

// ---- the per-account JSONL file (fetch_store.c) -------------------------------------------
typedef struct ElmFetchStore {
    char path[4096];
    FILE *f;              // open for appending
    long long bytes;      // committed length
    long long posts;      // lines in the file
    ElmHashSet ids;       // hashes of the ids in the file
    ElmHashSet old_ids;   // of the ids in the file's first `old_bytes` bytes
    char newest_id[128];  // the largest id (by number for X and Mastodon), "" when empty
    char newest_at[21];   // the latest created_at among the old posts, "" when none
    const char *platform; // written in every line
    const char *account;
    int numeric_ids; // X and Mastodon ids are decimal numbers
} ElmFetchStore;

// Opens (creating) path, cuts it back to `keep_bytes` when longer (the part after the last
// committed page; -1 = keep what ends in a newline), reads its ids; old_bytes (-1 = all) marks
// where the sweep under way began. A malformed committed line is an error naming file:line.
int elm_fetch_store_open(ElmFetchStore *st, const char *path, const char *platform,
                         const char *account, int numeric_ids, long long keep_bytes,
                         long long old_bytes, ElmError *err);
// 1 if the id is stored, 2 if it was stored before the sweep under way began.
int elm_fetch_store_has(const ElmFetchStore *st, const char *id);
// Appends the posts not stored yet (at most `limit` of them when limit >= 0), flushes and
// fsyncs; *added counts them.
int elm_fetch_store_append(ElmFetchStore *st, const ElmFetchPost *posts, int n, long long limit,
                           int *added, ElmError *err);
void elm_fetch_store_close(ElmFetchStore *st);
// Compares decimal id strings (shorter is smaller): <0, 0, >0.
int elm_fetch_store_idcmp(const char *a, const char *b);

#endif
