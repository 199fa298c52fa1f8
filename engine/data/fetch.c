// fetch.c — the fetch driver: [fetch] settings and accounts, the token, fetch/state.json, and per
// account the sweeps over its pages (a sweep cut short is continued first, then a fresh sweep
// asks for what is newer than the file holds). Platform details are in fetch_x/bluesky/mastodon.
#include "engine/data/fetch.h"

#include "engine/base/fsutil.h"
#include "engine/base/hash.h"
#include "engine/data/fetch_internal.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

static const char *const fetch_platform_names[] = {"x", "bluesky", "mastodon"};

#define FETCH_MAX_PAGES 100000 // per sweep: 10 million posts at 100 a page

typedef struct FetchSettings {
    long long max_posts; // 0 = no bound
    char since[21];      // normalised, "" = none
    int replies, reposts;
    char x_api[512], bluesky_api[512], mastodon_api[512];
} FetchSettings;

typedef struct FetchAccount {
    ElmFetchPlatform platform;
    char name[300];  // as written in the posts: "conan", "a.bsky.social", "user@instance"
    char key[320];   // "x/conan": state.json's key and the messages' name
    char query[300]; // what the API is asked for: X username, Bluesky actor, Mastodon acct
    char base[512];  // the API's base URL
    char file[4400]; // <run>/fetch/<platform>/<name>.jsonl
    char rel[400];   // fetch/<platform>/<name>.jsonl
} FetchAccount;

typedef struct FetchCtx {
    ElmRun *run;
    FetchSettings s;
    ElmFetchNet net;
    cJSON *state;
    char state_path[4200];
    double not_before[3]; // per platform: a rate limit of one is none of the others'
} FetchCtx;

// ---- time -----------------------------------------------------------------------------------

static int fetch_digits(const char *s, int n, int *v) {
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

int elm_fetch_time_norm(const char *s, char out[21], long long *t) {
    if (!s) return -1;
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
    if (fetch_digits(s, 4, &y) || s[4] != '-' || fetch_digits(s + 5, 2, &mo) || s[7] != '-' ||
        fetch_digits(s + 8, 2, &d))
        return -1;
    const char *p = s + 10;
    if (*p == 'T' || *p == ' ') {
        if (fetch_digits(p + 1, 2, &h) || p[3] != ':' || fetch_digits(p + 4, 2, &mi)) return -1;
        p += 6;
        if (*p == ':') {
            if (fetch_digits(p + 1, 2, &sec)) return -1;
            p += 3;
            if (*p == '.' || *p == ',')
                for (p++; *p >= '0' && *p <= '9'; p++) {
                }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om = 0;
            if (fetch_digits(p + 1, 2, &oh)) return -1;
            const char *q = p + 3 + (p[3] == ':');
            if (*q && fetch_digits(q, 2, &om)) return -1;
            off = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
            p = *q ? q + 2 : q;
        }
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1900)
        return -1;
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
    time_t u = timegm(&tm) - off;
    struct tm g;
    if (!gmtime_r(&u, &g)) return -1;
    snprintf(out, 21, "%04d-%02d-%02dT%02d:%02d:%02dZ", (g.tm_year + 1900) % 10000, g.tm_mon + 1,
             g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec);
    if (t) *t = (long long)u;
    return 0;
}

static void fetch_now_iso(char out[21]) {
    time_t now = time(NULL);
    struct tm g;
    gmtime_r(&now, &g);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &g);
}

// ---- settings, accounts, token --------------------------------------------------------------

static int fetch_base(const ElmConfig *cfg, const char *key, char *out, size_t n, ElmError *err) {
    snprintf(out, n, "%s", elm_cfg_str(cfg, key));
    size_t k = strlen(out);
    while (k > 0 && out[k - 1] == '/') out[--k] = '\0';
    if (!out[0]) return 0;
    if (elm_http_url_check(out, err) != 0) {
        char where[512];
        elm_err_prefix(err, "%s", elm_cfg_where(cfg, key, where, sizeof where));
        return -1;
    }
    return 0;
}

static int fetch_settings(const ElmConfig *cfg, FetchSettings *s, ElmError *err) {
    memset(s, 0, sizeof *s);
    s->max_posts = elm_cfg_int(cfg, "fetch.max_posts");
    s->replies = elm_cfg_bool(cfg, "fetch.replies");
    s->reposts = elm_cfg_bool(cfg, "fetch.reposts");
    const char *since = elm_cfg_str(cfg, "fetch.since");
    char where[512];
    if (since[0] && elm_fetch_time_norm(since, s->since, NULL) != 0)
        return elm_err(err, "%s: '%s' is not a date (YYYY-MM-DD)",
                       elm_cfg_where(cfg, "fetch.since", where, sizeof where), since);
    if (fetch_base(cfg, "fetch.x_api", s->x_api, sizeof s->x_api, err) ||
        fetch_base(cfg, "fetch.bluesky_api", s->bluesky_api, sizeof s->bluesky_api, err) ||
        fetch_base(cfg, "fetch.mastodon_api", s->mastodon_api, sizeof s->mastodon_api, err))
        return -1;
    return 0;
}

static int fetch_name_ok(const char *s, const char *extra) {
    if (!*s || strlen(s) > 253 || s[0] == '.' || s[0] == '-' || strstr(s, "..")) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s)) return 0;
    return 1;
}

// The handle of one platform checked and split into what the API is asked and the file's name.
static int fetch_account_names(const FetchSettings *s, FetchAccount *a, const char *handle,
                               const char *where, ElmError *err) {
    if (a->platform == ELM_FETCH_X) {
        if (!fetch_name_ok(handle, "_") || strlen(handle) > 15)
            return elm_err(err, "%s: '%s' is not an X user name (letters, digits, _; 1-15)", where,
                           handle);
        snprintf(a->query, sizeof a->query, "%s", handle);
        snprintf(a->base, sizeof a->base, "%s", s->x_api);
    } else if (a->platform == ELM_FETCH_BLUESKY) {
        if (!fetch_name_ok(handle, ".-:_"))
            return elm_err(err, "%s: '%s' is not a Bluesky handle (name.bsky.social) or DID", where,
                           handle);
        snprintf(a->query, sizeof a->query, "%s", handle);
        snprintf(a->base, sizeof a->base, "%s", s->bluesky_api);
    } else {
        const char *at = strchr(handle, '@');
        if (!at || at == handle || !fetch_name_ok(at + 1, ".-") || strchr(at + 1, '@'))
            return elm_err(err, "%s: '%s' is not a Mastodon account (@user@instance)", where,
                           handle);
        char user[256];
        snprintf(user, sizeof user, "%.*s", (int)(at - handle), handle);
        if (!fetch_name_ok(user, "_.-"))
            return elm_err(err, "%s: '%s' is not a Mastodon account (@user@instance)", where,
                           handle);
        // On its own instance an account is looked up by its local name, elsewhere in full.
        if (s->mastodon_api[0]) {
            snprintf(a->base, sizeof a->base, "%s", s->mastodon_api);
            snprintf(a->query, sizeof a->query, "%s", handle);
        } else {
            snprintf(a->base, sizeof a->base, "https://%s", at + 1);
            snprintf(a->query, sizeof a->query, "%s", user);
        }
    }
    if (!a->base[0])
        return elm_err(err, "%s: [fetch] %s_api is empty", where,
                       fetch_platform_names[a->platform]);
    return 0;
}

// "PLATFORM : HANDLE" into a.
static int fetch_account_parse(const ElmRun *run, const FetchSettings *s, const char *item,
                               FetchAccount *a, ElmError *err) {
    char where[512], plat[32], handle[300];
    elm_cfg_where(&run->cfg, "fetch.source", where, sizeof where);
    memset(a, 0, sizeof *a);
    const char *colon = strchr(item, ':');
    if (!colon) return elm_err(err, "%s: '%s': expected PLATFORM : ACCOUNT", where, item);
    const char *p = item, *q = colon;
    while (p < q && isspace((unsigned char)*p)) p++;
    while (q > p && isspace((unsigned char)q[-1])) q--;
    snprintf(plat, sizeof plat, "%.*s", (int)(q - p), p);
    for (p = colon + 1; isspace((unsigned char)*p) || *p == '@'; p++) {
    }
    snprintf(handle, sizeof handle, "%s", p);
    for (size_t k = strlen(handle); k > 0 && isspace((unsigned char)handle[k - 1]); k--)
        handle[k - 1] = '\0';
    int found = 0;
    for (int i = 0; i < 3; i++)
        if (strcasecmp(plat, fetch_platform_names[i]) == 0) a->platform = i, found = 1;
    if (!found)
        return elm_err(err, "%s: '%s': unknown platform '%s' (x, bluesky or mastodon)", where, item,
                       plat);
    if (fetch_account_names(s, a, handle, where, err)) return -1;
    const char *pn = fetch_platform_names[a->platform];
    snprintf(a->name, sizeof a->name, "%s", handle);
    snprintf(a->key, sizeof a->key, "%s/%s", pn, handle);
    char fname[300];
    snprintf(fname, sizeof fname, "%s", handle);
    for (char *c = fname; *c; c++)
        if (*c == ':') *c = '_'; // a DID's colons
    snprintf(a->rel, sizeof a->rel, "fetch/%s/%s.jsonl", pn, fname);
    elm_run_path(run, a->rel, a->file, sizeof a->file);
    return 0;
}

// The X bearer token: [fetch] token_file (refused when group or others may read it), else
// $ELM_X_BEARER_TOKEN; into a request header "Authorization: Bearer ...".
static int fetch_token(const ElmConfig *cfg, char *header, size_t n, ElmError *err) {
    char path[4096], where[512];
    elm_cfg_path(cfg, "fetch.token_file", path, sizeof path);
    const char *tok = NULL;
    char *data = NULL;
    size_t len = 0;
    if (elm_cfg_str(cfg, "fetch.token_file")[0]) {
        elm_cfg_where(cfg, "fetch.token_file", where, sizeof where);
        struct stat sb;
        if (stat(path, &sb) != 0) return elm_err(err, "%s: %s: %s", where, path, strerror(errno));
        if (sb.st_mode & 077)
            return elm_err(err,
                           "%s: %s is readable by group or others (mode %04o): "
                           "chmod 600 it",
                           where, path, (unsigned)(sb.st_mode & 07777));
        if (elm_read_file(path, &data, &len, err)) return -1;
        tok = data;
    } else {
        tok = getenv("ELM_X_BEARER_TOKEN");
    }
    while (tok && isspace((unsigned char)*tok)) tok++;
    size_t k = tok ? strcspn(tok, "\r\n \t") : 0;
    int rc = 0;
    if (k == 0)
        rc = elm_err(err, "an X account is listed but there is no bearer token: set "
                          "$ELM_X_BEARER_TOKEN or [fetch] token_file");
    else if (k + 32 > n)
        rc = elm_err(err, "the X bearer token is over %zu bytes", n - 32);
    else
        snprintf(header, n, "Authorization: Bearer %.*s", (int)k, tok);
    if (data) {
        memset(data, 0, len);
        free(data);
    }
    return rc;
}

// ---- state.json -----------------------------------------------------------------------------

static void jset_str(cJSON *o, const char *key, const char *v) {
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    cJSON_AddStringToObject(o, key, v);
}

static void jset_num(cJSON *o, const char *key, double v) {
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    cJSON_AddNumberToObject(o, key, v);
}

static const char *jstr(const cJSON *o, const char *key) {
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    return s ? s : "";
}

static double jnum(const cJSON *o, const char *key, double def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static int fetch_state_load(FetchCtx *c, ElmError *err) {
    elm_run_path(c->run, "fetch/state.json", c->state_path, sizeof c->state_path);
    if (!elm_file_exists(c->state_path)) {
        c->state = cJSON_CreateObject();
    } else {
        char *text;
        size_t n;
        if (elm_read_file(c->state_path, &text, &n, err)) return -1;
        c->state = cJSON_ParseWithLength(text, n);
        free(text);
        if (!cJSON_IsObject(c->state)) {
            cJSON_Delete(c->state);
            c->state = NULL;
            return elm_err(err, "%s: not a JSON object (remove it to fetch afresh)", c->state_path);
        }
    }
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(c->state, "accounts"))) {
        cJSON_DeleteItemFromObjectCaseSensitive(c->state, "accounts");
        cJSON_AddObjectToObject(c->state, "accounts");
    }
    return c->state ? 0 : elm_err(err, "out of memory");
}

static int fetch_state_save(FetchCtx *c, ElmError *err) {
    char now[21];
    fetch_now_iso(now);
    jset_str(c->state, "updated_at", now);
    char *text = cJSON_Print(c->state);
    if (!text) return elm_err(err, "out of memory");
    size_t n = strlen(text);
    text[n] = '\n'; // cJSON's buffer has room: the NUL is overwritten and written
    int rc = elm_write_file_atomic(c->state_path, text, n + 1, err);
    cJSON_free(text);
    return rc;
}

static cJSON *fetch_state_entry(FetchCtx *c, const FetchAccount *a) {
    cJSON *accounts = cJSON_GetObjectItemCaseSensitive(c->state, "accounts");
    cJSON *e = cJSON_GetObjectItemCaseSensitive(accounts, a->key);
    if (!cJSON_IsObject(e)) {
        cJSON_DeleteItemFromObjectCaseSensitive(accounts, a->key);
        e = cJSON_AddObjectToObject(accounts, a->key);
    }
    if (!e) return NULL;
    jset_str(e, "platform", fetch_platform_names[a->platform]);
    jset_str(e, "account", a->name);
    jset_str(e, "file", a->rel);
    return e;
}

// ---- one account ----------------------------------------------------------------------------

// Opens the account's file. A state entry whose file is gone starts afresh; otherwise the file
// is cut back to the last page state.json recorded, and the sweep under way (if any) says where
// the old posts end.
static int fetch_store_open(const FetchAccount *a, cJSON *e, int all_old, ElmFetchStore *st,
                            ElmError *err) {
    char dir[4400];
    snprintf(dir, sizeof dir, "%s", a->file);
    *strrchr(dir, '/') = '\0';
    if (elm_mkdirs(dir, err)) return -1;
    if (!elm_file_exists(a->file)) {
        cJSON_DeleteItemFromObjectCaseSensitive(e, "bytes");
        cJSON_DeleteItemFromObjectCaseSensitive(e, "sweep");
    }
    const cJSON *sweep = cJSON_GetObjectItemCaseSensitive(e, "sweep");
    long long keep = (long long)jnum(e, "bytes", -1);
    long long old = all_old || !cJSON_IsObject(sweep) ? -1 : (long long)jnum(sweep, "old_bytes", 0);
    return elm_fetch_store_open(st, a->file, fetch_platform_names[a->platform], a->name,
                                a->platform != ELM_FETCH_BLUESKY, keep, old, err);
}

// The X or Mastodon account's id (from state.json when looked up before).
static int fetch_resolve(FetchCtx *c, const FetchAccount *a, cJSON *e, ElmError *err) {
    if (a->platform == ELM_FETCH_BLUESKY || jstr(e, "user_id")[0]) return 0;
    char url[2048], id[64];
    if (a->platform == ELM_FETCH_X)
        elm_fetch_x_user_url(a->base, a->query, url, sizeof url);
    else
        elm_fetch_mastodon_lookup_url(a->base, a->query, url, sizeof url);
    ElmHttpResponse r;
    int rc = elm_fetch_net_get(&c->net, url, &r, err);
    if (rc == 0)
        rc = a->platform == ELM_FETCH_X
                 ? elm_fetch_x_parse_user(r.body.data, r.body.len, id, sizeof id, err)
                 : elm_fetch_mastodon_parse_account(r.body.data, r.body.len, id, sizeof id, err);
    elm_http_response_free(&r);
    if (rc) {
        elm_err_prefix(err, "looking up the account");
        return -1;
    }
    jset_str(e, "user_id", id);
    return fetch_state_save(c, err);
}

static void fetch_page_url(const FetchCtx *c, const FetchAccount *a, const cJSON *e,
                           const cJSON *sw, char *url, size_t n) {
    const char *cursor = jstr(sw, "cursor"), *since_id = jstr(sw, "since_id");
    if (a->platform == ELM_FETCH_X)
        elm_fetch_x_page_url(a->base, jstr(e, "user_id"), cursor, since_id, c->s.since,
                             c->s.replies, c->s.reposts, url, n);
    else if (a->platform == ELM_FETCH_BLUESKY)
        elm_fetch_bluesky_page_url(a->base, a->query, cursor, c->s.replies, url, n);
    else
        elm_fetch_mastodon_page_url(a->base, jstr(e, "user_id"), cursor, since_id, c->s.replies,
                                    c->s.reposts, url, n);
}

static int fetch_page_get(FetchCtx *c, const FetchAccount *a, const char *url, ElmFetchPage *pg,
                          ElmError *err) {
    ElmHttpResponse r;
    int rc = elm_fetch_net_get(&c->net, url, &r, err);
    char link[8192];
    if (rc == 0 && a->platform == ELM_FETCH_X)
        rc = elm_fetch_x_parse_page(r.body.data, r.body.len, pg, err);
    else if (rc == 0 && a->platform == ELM_FETCH_BLUESKY)
        rc = elm_fetch_bluesky_parse_page(r.body.data, r.body.len, pg, err);
    else if (rc == 0) {
        elm_http_header(&r, "link", link, sizeof link);
        rc = elm_fetch_mastodon_parse_page(r.body.data, r.body.len, link, pg, err);
    }
    elm_http_response_free(&r);
    return rc;
}

// The posts of a page to keep, in order, into keep[]; *stop when the sweep reached posts the
// file had before it began, or posts older than [fetch] since.
static int fetch_filter(const FetchCtx *c, const FetchAccount *a, const ElmFetchStore *st,
                        const ElmFetchPage *pg, ElmFetchPost *keep, int *stop) {
    int nk = 0;
    *stop = 0;
    for (int i = 0; i < pg->n; i++) {
        const ElmFetchPost *p = &pg->posts[i];
        int older = st->newest_at[0] && strcmp(p->created_at, st->newest_at) < 0;
        if (elm_fetch_store_has(st, p->id) == 2 || (a->platform == ELM_FETCH_BLUESKY && older)) {
            *stop = 1;
            break;
        }
        if (c->s.since[0] && strcmp(p->created_at, c->s.since) < 0) {
            if (p->is_repost) continue; // a repost may be listed at its post's time
            *stop = 1;
            break;
        }
        if ((p->is_reply && !c->s.replies) || (p->is_repost && !c->s.reposts)) continue;
        keep[nk++] = *p;
    }
    return nk;
}

// Pages of the sweep in e["sweep"] until it ends; each page appended, then state.json saved.
static int fetch_sweep(FetchCtx *c, const FetchAccount *a, cJSON *e, ElmFetchStore *st,
                       long long *added_total, ElmError *err) {
    cJSON *sw = cJSON_GetObjectItemCaseSensitive(e, "sweep");
    for (int done = 0; !done;) {
        long long stored = (long long)jnum(sw, "stored", 0);
        long long left = c->s.max_posts > 0 ? c->s.max_posts - stored : -1;
        char url[8192];
        fetch_page_url(c, a, e, sw, url, sizeof url);
        ElmFetchPage pg = {0};
        if (fetch_page_get(c, a, url, &pg, err)) {
            elm_err_prefix(err, "page %d", (int)jnum(sw, "pages", 0) + 1);
            elm_fetch_page_free(&pg);
            return -1;
        }
        ElmFetchPost *keep = elm_calloc((size_t)pg.n + 1, sizeof *keep, err);
        int stop = 0, added = 0;
        int nk = keep ? fetch_filter(c, a, st, &pg, keep, &stop) : 0;
        int rc = keep ? elm_fetch_store_append(st, keep, nk, left, &added, err) : -1;
        free(keep);
        if (rc == 0) {
            *added_total += added;
            stored += added;
            // A cursor that does not move, or a sweep past FETCH_MAX_PAGES, ends it too: a
            // server's mistake must not keep elm asking forever.
            done = stop || !pg.next[0] || strcmp(pg.next, jstr(sw, "cursor")) == 0 ||
                   jnum(sw, "pages", 0) + 1 >= FETCH_MAX_PAGES ||
                   (c->s.max_posts > 0 && stored >= c->s.max_posts);
            jset_num(sw, "stored", (double)stored);
            jset_num(sw, "pages", jnum(sw, "pages", 0) + 1);
            jset_str(sw, "cursor", pg.next);
            jset_num(e, "bytes", (double)st->bytes);
            jset_num(e, "posts", (double)st->posts);
        }
        int pages = (int)jnum(sw, "pages", 0);
        if (rc == 0) {
            if (done) cJSON_DeleteItemFromObjectCaseSensitive(e, "sweep"); // frees sw
            rc = fetch_state_save(c, err);
        }
        if (rc == 0 && !c->run->quiet && !done && (pages == 1 || pages % 10 == 0))
            fprintf(stderr, "fetch %s: page %d, %lld new posts so far\n", a->key, pages,
                    *added_total);
        elm_fetch_page_free(&pg);
        if (rc) return -1;
    }
    return 0;
}

// A fresh sweep: everything newer than the file holds (X and Mastodon: since_id the newest id).
static int fetch_sweep_begin(FetchCtx *c, const FetchAccount *a, cJSON *e, const ElmFetchStore *st,
                             ElmError *err) {
    cJSON_DeleteItemFromObjectCaseSensitive(e, "sweep");
    cJSON *sw = cJSON_AddObjectToObject(e, "sweep");
    if (!sw) return elm_err(err, "out of memory");
    cJSON_AddStringToObject(sw, "since_id", a->platform == ELM_FETCH_BLUESKY ? "" : st->newest_id);
    cJSON_AddStringToObject(sw, "cursor", "");
    cJSON_AddNumberToObject(sw, "old_bytes", (double)st->bytes);
    cJSON_AddNumberToObject(sw, "stored", 0);
    cJSON_AddNumberToObject(sw, "pages", 0);
    jset_num(e, "bytes", (double)st->bytes);
    jset_num(e, "posts", (double)st->posts);
    return fetch_state_save(c, err);
}

static void fetch_account_done(FetchCtx *c, const FetchAccount *a, cJSON *e, long long added,
                               long long requests, int rc, const ElmError *err) {
    char now[21];
    fetch_now_iso(now);
    cJSON_DeleteItemFromObjectCaseSensitive(e, "last");
    cJSON *last = cJSON_AddObjectToObject(e, "last");
    cJSON_AddStringToObject(last, "at", now);
    cJSON_AddStringToObject(last, "status", rc ? "failed" : "ok");
    if (rc) cJSON_AddStringToObject(last, "error", err->msg);
    cJSON_AddNumberToObject(last, "new_posts", (double)added);
    cJSON_AddNumberToObject(last, "requests", (double)requests);
    if (rc == 0) jset_str(e, "fetched_at", now);
    if (!c->run->quiet)
        fprintf(stderr, "fetch %s: %s, %lld new posts, %.0f in %s (%lld request%s)\n", a->key,
                rc ? "failed" : "done", added, jnum(e, "posts", 0), a->rel, requests,
                requests == 1 ? "" : "s");
}

static int fetch_account(FetchCtx *c, const FetchAccount *a, ElmError *err) {
    cJSON *e = fetch_state_entry(c, a);
    if (!e) return elm_err(err, "out of memory");
    ElmFetchStore st;
    if (fetch_store_open(a, e, 0, &st, err)) return -1;
    c->net.label = a->key;
    c->net.not_before = c->not_before[a->platform];
    long long added = 0, requests0 = c->net.requests;
    int rc = fetch_resolve(c, a, e, err);
    if (rc == 0 && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(e, "sweep")))
        rc = fetch_sweep(c, a, e, &st, &added, err); // the one a kill or a failure cut short
    if (rc == 0) { // then what is newer: the whole file now counts as old
        elm_fetch_store_close(&st);
        rc = fetch_store_open(a, e, 1, &st, err);
        if (rc == 0) rc = fetch_sweep_begin(c, a, e, &st, err);
        if (rc == 0) rc = fetch_sweep(c, a, e, &st, &added, err);
    }
    long long kept = st.posts;
    elm_fetch_store_close(&st);
    c->not_before[a->platform] = c->net.not_before;
    if (rc) elm_err_prefix(err, "fetch %s", a->key);
    fetch_account_done(c, a, e, added, c->net.requests - requests0, rc, err);
    ElmError serr;
    if (fetch_state_save(c, &serr) && rc == 0) {
        *err = serr;
        return -1;
    }
    if (rc) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, "; kept %lld posts in %s%s", kept, a->file,
                 kept > 0 ? " (a rerun continues from there)" : "");
    }
    return rc;
}

// ---- the stage ------------------------------------------------------------------------------

static int fetch_accounts(FetchCtx *c, char **items, int n, FetchAccount *acc, ElmError *err) {
    for (int i = 0; i < n; i++) {
        if (fetch_account_parse(c->run, &c->s, items[i], &acc[i], err)) return -1;
        for (int j = 0; j < i; j++)
            if (strcmp(acc[i].key, acc[j].key) == 0)
                return elm_err(err, "[fetch] source lists %s twice", acc[i].key);
    }
    return 0;
}

static int fetch_all(FetchCtx *c, FetchAccount *acc, int n, ElmError *err) {
    int failed = 0;
    char others[512] = "";
    for (int i = 0; i < n; i++) {
        ElmError e;
        if (fetch_account(c, &acc[i], &e) == 0) continue;
        if (failed++ == 0) {
            *err = e;
        } else {
            size_t k = strlen(others);
            snprintf(others + k, sizeof others - k, "%s%s", k ? ", " : "", acc[i].key);
        }
    }
    if (failed > 1) {
        size_t k = strlen(err->msg);
        snprintf(err->msg + k, sizeof err->msg - k, " (%s failed too)", others);
    }
    return failed ? -1 : 0;
}

int elm_fetch_run(ElmRun *run, ElmError *err) {
    FetchCtx c = {.run = run};
    char **items;
    int n = elm_cfg_list(&run->cfg, "fetch.source", &items);
    if (fetch_settings(&run->cfg, &c.s, err)) return -1;
    FetchAccount *acc = elm_calloc((size_t)n + 1, sizeof *acc, err);
    if (!acc) return -1;
    char auth[4096] = "";
    const char *headers[2] = {NULL, NULL};
    int rc = fetch_accounts(&c, items, n, acc, err);
    for (int i = 0; rc == 0 && i < n && !headers[0]; i++)
        if (acc[i].platform == ELM_FETCH_X) {
            rc = fetch_token(&run->cfg, auth, sizeof auth, err);
            headers[0] = auth;
        }
    char dir[4200];
    elm_run_path(run, "fetch", dir, sizeof dir);
    if (rc == 0) rc = elm_mkdirs(dir, err);
    if (rc == 0) rc = fetch_state_load(&c, err);
    c.net = (ElmFetchNet){.headers = headers,
                          .retries = (int)elm_cfg_int(&run->cfg, "fetch.retries"),
                          .backoff = elm_cfg_float(&run->cfg, "fetch.backoff"),
                          .max_wait = elm_cfg_float(&run->cfg, "fetch.max_wait"),
                          .timeout_s = (long)elm_cfg_int(&run->cfg, "fetch.timeout"),
                          .rng = run->seed ^ 0xfe7c4ull,
                          .quiet = run->quiet};
    if (rc == 0 && n > 0 && !(c.net.http = elm_http_create(err))) rc = -1;
    if (rc == 0) rc = fetch_state_save(&c, err);
    if (rc == 0) rc = fetch_all(&c, acc, n, err);
    elm_http_free(c.net.http);
    memset(auth, 0, sizeof auth);
    cJSON_Delete(c.state);
    free(acc);
    return rc;
}
