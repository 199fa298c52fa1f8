// hub.c — "hf:owner/name" to a cache folder (see hub.h): one resumable, checked download per
// file, the shards of a sharded checkpoint from its index, hub.json when the folder is complete.
#include "engine/model/hub.h"

#include "engine/base/fsutil.h"
#include "engine/base/hash.h"
#include "engine/base/http.h"
#include "engine/base/progress.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define HUB_MAX_SHARDS 1024

typedef struct HubCtx {
    const ElmHubOptions *o;
    ElmHttp *http;
    const char *ref;     // "hf:owner/name", for messages
    char repo[256];      // "owner/name"
    char dir[4096];      // the cache folder
    char auth[8192];     // "Authorization: Bearer ..." or ""; never copied anywhere else
    const char *hdrs[2]; // {auth, NULL} or {NULL}
    cJSON *files;        // hub.json's "files": name -> sha256 (or null when none was sent)
} HubCtx;

void elm_hub_options_env(ElmHubOptions *o, int quiet) {
    memset(o, 0, sizeof *o);
    const char *e = getenv("HF_ENDPOINT");
    o->endpoint = e && e[0] ? e : "https://huggingface.co";
    const char *c = getenv("ELM_CACHE"), *home = getenv("HOME");
    if (c && c[0])
        snprintf(o->cache, sizeof o->cache, "%s", c);
    else
        snprintf(o->cache, sizeof o->cache, "%s/.cache/elm", home && home[0] ? home : ".");
    o->token = getenv("HF_TOKEN");
    o->revision = "main";
    o->quiet = quiet;
}

int elm_hub_is_ref(const char *s) {
    return s && strncmp(s, "hf:", 3) == 0;
}

// A repo id as the Hub allows it: one or two parts of [A-Za-z0-9._-], none starting with '.'
// or '-' (so no "..", no option-like or hidden folder names in the cache path).
static int repo_ok(const char *r) {
    int parts = 0;
    for (const char *p = r;; p++) {
        const char *q = p;
        while (*q && *q != '/') {
            if (!isalnum((unsigned char)*q) && !strchr("._-", *q)) return 0;
            q++;
        }
        if (q == p || q - p > 96 || *p == '.' || *p == '-') return 0;
        parts++;
        if (!*q) break;
        p = q;
    }
    return parts <= 2;
}

static int hub_open(HubCtx *c, const char *ref, const ElmHubOptions *o, ElmError *err) {
    memset(c, 0, sizeof *c);
    c->o = o, c->ref = ref;
    const char *r = ref + 3;
    if (strlen(r) >= sizeof c->repo || !repo_ok(r))
        return elm_err(err, "%s: not a Hub repo name (expected hf:owner/name)", ref);
    snprintf(c->repo, sizeof c->repo, "%s", r);
    char folder[512];
    snprintf(folder, sizeof folder, "%s", r);
    char *slash = strchr(folder, '/');
    if (slash) {
        memmove(slash + 2, slash + 1, strlen(slash + 1) + 1);
        slash[0] = slash[1] = '-';
    }
    snprintf(c->dir, sizeof c->dir, "%s/hub/%s/%s", o->cache, folder, o->revision);
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/", o->endpoint);
    if (elm_http_url_check(probe, err)) {
        elm_err_prefix(err, "%s: $HF_ENDPOINT", ref);
        return -1;
    }
    if (o->token && o->token[0]) {
        if (strlen(o->token) > sizeof c->auth - 32 || strpbrk(o->token, "\r\n"))
            return elm_err(err, "$HF_TOKEN is too long or holds a line break");
        snprintf(c->auth, sizeof c->auth, "Authorization: Bearer %s", o->token);
        c->hdrs[0] = c->auth;
    }
    if (!(c->files = cJSON_CreateObject())) return elm_err(err, "out of memory");
    return 0;
}

static void hub_close(HubCtx *c) {
    elm_http_free(c->http);
    cJSON_Delete(c->files);
    memset(c->auth, 0, sizeof c->auth);
}

// The sha256 the Hub publishes for an LFS file: X-Linked-Etag (on the redirect to its CDN, or
// the response itself), else the ETag, when it is 64 hex digits (a git blob's sha1 is 40, and
// cannot be checked this way). 0 = found.
static int hub_sha(const ElmHttpResponse *r, char sha[65]) {
    char v[256];
    if (elm_http_redirect_header(r, "X-Linked-Etag", v, sizeof v) &&
        elm_http_header(r, "X-Linked-Etag", v, sizeof v) && elm_http_header(r, "ETag", v, sizeof v))
        return -1;
    const char *p = v;
    if (strncmp(p, "W/", 2) == 0) p += 2;
    if (*p == '"') p++;
    size_t n = 0;
    while (n < 64 && isxdigit((unsigned char)p[n])) n++;
    if (n != 64 || (p[n] && p[n] != '"')) return -1;
    for (size_t i = 0; i < 64; i++) sha[i] = (char)tolower((unsigned char)p[i]);
    sha[64] = '\0';
    return 0;
}

typedef struct HubProgress {
    ElmProgress p;
    const char *name;
    int quiet, started;
    long long base; // bytes the .part held before this request
} HubProgress;

// Progress in MB for files of a megabyte or more (the weights); the small files stay quiet.
static int hub_on_progress(void *ctx, long long done, long long total) {
    HubProgress *hp = ctx;
    if (!hp->started && total >= 1000000) {
        elm_progress_start(&hp->p, hp->name, "MB", (uint64_t)((hp->base + total) / 1000000),
                           hp->quiet);
        hp->started = 1;
    }
    if (hp->started) elm_progress_update(&hp->p, (uint64_t)((hp->base + done) / 1000000));
    return 0;
}

// One GET of name into af (appending from byte `have`). Fills resp; -1 on a transport failure,
// after syncing what arrived, so a later call resumes from there.
static int hub_get(HubCtx *c, const char *name, ElmAtomicFile *af, long long have,
                   ElmHttpResponse *resp, ElmError *err) {
    char url[8192];
    const char *ep = c->o->endpoint;
    size_t k = strlen(ep);
    while (k > 0 && ep[k - 1] == '/') k--;
    snprintf(url, sizeof url, "%.*s/%s/resolve/%s/%s", (int)k, ep, c->repo, c->o->revision, name);
    HubProgress hp = {.name = name, .quiet = c->o->quiet, .base = have};
    ElmHttpRequest rq = {.headers = c->hdrs,
                         .sink = af->f,
                         .range_from = have,
                         .follow_redirects = 1,
                         .stall_s = 60,
                         .progress = hub_on_progress,
                         .progress_ctx = &hp};
    int rc = elm_http_get(c->http, url, &rq, resp, err);
    ElmError e2;
    if (elm_atomic_sync(af, &e2) && rc == 0) rc = elm_err(err, "%s", e2.msg);
    if (hp.started) elm_progress_finish(&hp.p);
    long long reached = have + resp->sink_bytes;
    if (rc && reached > 0)
        elm_err_prefix(err, "%s: %s stopped at byte %lld (kept in %s; run again to resume)", c->ref,
                       name, reached, af->tmp);
    else if (rc)
        elm_err_prefix(err, "%s: %s", c->ref, name);
    return rc;
}

// What a non-2xx status means for name: 1 (absent) for a 404, -1 with the line otherwise.
static int hub_status(HubCtx *c, const char *name, const ElmHttpResponse *r, ElmError *err) {
    char shown[512];
    elm_http_url_display(r->url, shown, sizeof shown);
    if (r->status == 404) return 1;
    if (r->status == 401 || r->status == 403)
        return elm_err(err, "%s: %s: access refused (HTTP %ld from %s): %s", c->ref, name,
                       r->status, shown,
                       c->auth[0] ? "$HF_TOKEN is not accepted for this repo"
                                  : "a gated or private repo needs $HF_TOKEN");
    return elm_err(err, "%s: %s: HTTP %ld from %s", c->ref, name, r->status, shown);
}

// The first byte of a 206's Content-Range ("bytes A-B/T"), or -1.
static long long hub_range_start(const ElmHttpResponse *r) {
    char v[128];
    if (elm_http_header(r, "Content-Range", v, sizeof v) || strncmp(v, "bytes ", 6) != 0) return -1;
    char *end = NULL;
    long long a = strtoll(v + 6, &end, 10);
    return end != v + 6 && *end == '-' ? a : -1;
}

// After a complete body: the sha256 check, then the rename into place (a mismatch removes the
// .part). sha = "" when the Hub sent none.
static int hub_commit(HubCtx *c, const char *name, ElmAtomicFile *af, const char *sha,
                      ElmError *err) {
    if (sha[0]) {
        char got[65];
        if (elm_hash_sha256_file(af->tmp, got, err)) return -1;
        if (strcmp(got, sha) != 0) {
            fclose(af->f), af->f = NULL;
            unlink(af->tmp);
            return elm_err(err,
                           "%s: %s: sha256 %s differs from the Hub's %s (the download is removed; "
                           "run again)",
                           c->ref, name, got, sha);
        }
    }
    if (elm_atomic_commit(af, err)) return -1;
    cJSON_AddItemToObject(c->files, name, sha[0] ? cJSON_CreateString(sha) : cJSON_CreateNull());
    return 0;
}

// Opens final's .part to append to, keeping what an interrupted download left (*have bytes).
// The .part is locked first (flock on *lock, which the caller closes when the download is over),
// before anything can cut it: two elms appending to one file would mix their bytes.
static int hub_open_part(HubCtx *c, const char *name, const char *final, ElmAtomicFile *af,
                         long long *have, int *lock, ElmError *err) {
    char part[4200];
    snprintf(part, sizeof part, "%s.part", final);
    *lock = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (*lock < 0) return elm_err(err, "%s: cannot write: %s", part, strerror(errno));
    struct stat st;
    int rc = 0;
    if (flock(*lock, LOCK_EX | LOCK_NB) != 0)
        rc = elm_err(err, "%s: %s: another elm is downloading it (%s is locked)", c->ref, name,
                     part);
    else if (fstat(*lock, &st) != 0)
        rc = elm_err(err, "%s: cannot read: %s", part, strerror(errno));
    else if ((*have = (long long)st.st_size) > 0)
        rc = elm_atomic_reopen_part(af, final, *have, err);
    else
        rc = elm_atomic_open_part(af, final, err);
    if (rc) close(*lock);
    return rc;
}

// What one complete response means for the .part in af (which the call closes): 0 = the file
// is in place, 1 = the Hub has no such file, 2 = start over (a server that ignored or refused
// the Range: its 200 went after the old bytes), 3 = try again (a 5xx: the .part is kept),
// -1 = error.
static int hub_answer(HubCtx *c, const char *name, ElmAtomicFile *af, long long have,
                      const ElmHttpResponse *r, ElmError *err) {
    if (r->status == 404 || (have > 0 && (r->status == 200 || r->status == 416))) {
        elm_atomic_abort(af); // nothing useful in the .part
        return r->status == 404 ? 1 : 2;
    }
    if (r->status != 200 && r->status != 206) {
        fclose(af->f), af->f = NULL;
        if (r->status >= 500) {
            hub_status(c, name, r, err);
            return 3;
        }
        return hub_status(c, name, r, err);
    }
    if (r->status == 206 && hub_range_start(r) != have) {
        elm_atomic_abort(af);
        return elm_err(err, "%s: %s: the server resumed at another byte than %lld", c->ref, name,
                       have);
    }
    char sha[65] = "";
    hub_sha(r, sha);
    return hub_commit(c, name, af, sha, err);
}

// Downloads name into the cache folder unless it is there. 0 = there, 1 = the Hub has no such
// file, -1 = error. A transfer that stops on a transient failure or a 5xx resumes after 1, 2
// and 4 s; a server that ignores the Range makes the download start over, once.
static int hub_file(HubCtx *c, const char *name, ElmError *err) {
    char final[4096];
    elm_path_join(final, sizeof final, c->dir, name);
    if (elm_file_exists(final)) {
        cJSON_AddItemToObject(c->files, name, cJSON_CreateNull());
        return 0;
    }
    if (!c->http && !(c->http = elm_http_create(err))) return -1;
    int restarts = 0, retries = 0;
    for (;;) {
        ElmAtomicFile af;
        long long have = 0;
        int lock = -1;
        if (hub_open_part(c, name, final, &af, &have, &lock, err)) return -1;
        ElmHttpResponse r;
        int rc = 3;
        if (hub_get(c, name, &af, have, &r, err) == 0) {
            rc = hub_answer(c, name, &af, have, &r, err);
        } else {
            if (have + r.sink_bytes > 0)
                fclose(af.f); // keep the .part for the next try, or the next run
            else
                elm_atomic_abort(&af);
            if (!r.transient) rc = -1;
        }
        elm_http_response_free(&r);
        close(lock);
        if (rc == 2 && restarts++ > 0)
            return elm_err(err, "%s: %s: the server does not resume downloads (it ignores Range)",
                           c->ref, name);
        if (rc == 3 && retries == 3) return -1; // err holds the last failure
        if (rc == 3) sleep(1u << retries++);
        if (rc != 2 && rc != 3) return rc;
    }
}

// model.safetensors.index.json's shards, each a plain file name in the folder, fetched once.
static int hub_shards(HubCtx *c, ElmError *err) {
    char path[4096];
    elm_path_join(path, sizeof path, c->dir, "model.safetensors.index.json");
    char *text = NULL;
    size_t n = 0;
    if (elm_read_file(path, &text, &n, err)) return -1;
    cJSON *root = cJSON_ParseWithLength(text, n);
    free(text);
    const cJSON *map = root ? cJSON_GetObjectItemCaseSensitive(root, "weight_map") : NULL;
    int rc = cJSON_IsObject(map) ? 0 : elm_err(err, "%s: no \"weight_map\" object", path);
    const cJSON *it;
    int n_done = 0;
    cJSON_ArrayForEach(it, map) {
        if (rc) break;
        const char *f = cJSON_IsString(it) ? it->valuestring : "";
        if (!f[0] || strchr(f, '/') || f[0] == '.' || ++n_done > HUB_MAX_SHARDS) {
            rc = elm_err(err, "%s: weight_map entry '%s' is not a file name in the folder", path,
                         it->string);
            break;
        }
        if (cJSON_GetObjectItemCaseSensitive(c->files, f)) continue;
        int r = hub_file(c, f, err);
        if (r == 1) rc = elm_err(err, "%s: %s (listed in the index) is not on the Hub", c->ref, f);
        if (r < 0) rc = -1;
    }
    cJSON_Delete(root);
    return rc;
}

// The vocabulary is optional (a repo of weights only gives a folder without one); an error
// while fetching it is not.
static int hub_vocab(HubCtx *c, ElmError *err) {
    int r = hub_file(c, "vocab.json", err);
    if (r == 0) r = hub_file(c, "merges.txt", err);
    return r < 0 ? -1 : 0;
}

// A folder is complete when hub.json is there and every file it lists is too.
static int hub_complete(const HubCtx *c) {
    char path[4096];
    elm_path_join(path, sizeof path, c->dir, "hub.json");
    char *text = NULL;
    size_t n = 0;
    ElmError e;
    if (!elm_file_exists(path) || elm_read_file(path, &text, &n, &e)) return 0;
    cJSON *root = cJSON_ParseWithLength(text, n);
    free(text);
    const cJSON *files = root ? cJSON_GetObjectItemCaseSensitive(root, "files") : NULL;
    int ok = cJSON_IsObject(files) && cJSON_GetArraySize(files) > 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, files) {
        char f[4096];
        elm_path_join(f, sizeof f, c->dir, it->string);
        if (strchr(it->string, '/') || !elm_file_exists(f)) ok = 0;
    }
    cJSON_Delete(root);
    return ok;
}

static int hub_write_manifest(HubCtx *c, ElmError *err) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "repo", c->repo);
    cJSON_AddStringToObject(root, "revision", c->o->revision);
    cJSON_AddItemReferenceToObject(root, "files", c->files);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) return elm_err(err, "out of memory");
    char path[4096];
    elm_path_join(path, sizeof path, c->dir, "hub.json");
    int rc = elm_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

int elm_hub_fetch(const char *ref, const ElmHubOptions *o, char *dir, size_t cap, ElmError *err) {
    HubCtx c;
    int rc = hub_open(&c, ref, o, err);
    if (rc == 0 && !hub_complete(&c)) {
        rc = elm_mkdirs(c.dir, err);
        int r = rc ? -1 : hub_file(&c, "config.json", err);
        if (r == 1)
            r = elm_err(err, "%s: no config.json on the Hub (is the repo name right?)", ref);
        if (r == 0) r = hub_file(&c, "model.safetensors", err);
        if (r == 1) {
            r = hub_file(&c, "model.safetensors.index.json", err);
            if (r == 1)
                r = elm_err(err, "%s: the Hub has neither model.safetensors nor its index", ref);
            if (r == 0) r = hub_shards(&c, err);
        }
        if (r == 0) r = hub_vocab(&c, err);
        rc = r == 0 ? hub_write_manifest(&c, err) : -1;
    }
    if (rc == 0) snprintf(dir, cap, "%s", c.dir);
    hub_close(&c);
    return rc;
}
