// fetch_store.c — an account's posts file, <run>/fetch/<platform>/<account>.jsonl: read back
// (ids, newest id), cut to its last committed page, appended one page at a time with fsync.
// Lines are in the order the pages came (each page newest first): a resumed or incremental
// fetch appends exactly what an uninterrupted one would have (docs/fetch.md).
#include "engine/base/fsutil.h"
#include "engine/base/hash.h"
#include "engine/base/json_write.h"
#include "engine/data/fetch_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t store_hash(const char *id) {
    return elm_hash_fnv1a(ELM_HASH_FNV_OFFSET ^ 0x5f, id, strlen(id));
}

int elm_fetch_store_idcmp(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb) return la < lb ? -1 : 1;
    return strcmp(a, b);
}

int elm_fetch_store_has(const ElmFetchStore *st, const char *id) {
    uint64_t h = store_hash(id);
    if (elm_hashset_has(&st->old_ids, h)) return 2;
    return elm_hashset_has(&st->ids, h);
}

// One committed line (line number `line`, starting at byte `at`) into the sets.
static int store_line(ElmFetchStore *st, const char *s, size_t n, int line, long long at,
                      long long old_bytes, ElmError *err) {
    cJSON *o = cJSON_ParseWithLength(s, n);
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "id"));
    const char *when = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "created_at"));
    if (!cJSON_IsObject(o) || !id || !id[0] || !when) {
        cJSON_Delete(o);
        return elm_err(err, "%s:%d: not a fetched post (a JSON object with id and created_at)",
                       st->path, line);
    }
    uint64_t h = store_hash(id);
    int rc = elm_hashset_insert(&st->ids, h) < 0 ? -1 : 0;
    if (rc == 0 && (old_bytes < 0 || at < old_bytes)) {
        rc = elm_hashset_insert(&st->old_ids, h) < 0 ? -1 : 0;
        if (strcmp(when, st->newest_at) > 0 && strlen(when) < sizeof st->newest_at)
            snprintf(st->newest_at, sizeof st->newest_at, "%s", when);
    }
    if (st->numeric_ids ? elm_fetch_store_idcmp(id, st->newest_id) > 0 : !st->newest_id[0])
        snprintf(st->newest_id, sizeof st->newest_id, "%.127s", id);
    st->posts++;
    cJSON_Delete(o);
    return rc ? elm_err(err, "out of memory") : 0;
}

// The committed length of data[0..n): keep_bytes, or (keep_bytes < 0) up to the last newline.
static int store_committed(const ElmFetchStore *st, const char *data, size_t n,
                           long long keep_bytes, long long *len, ElmError *err) {
    if (keep_bytes < 0) {
        size_t k = n;
        while (k > 0 && data[k - 1] != '\n') k--;
        *len = (long long)k;
        return 0;
    }
    if ((long long)n < keep_bytes)
        return elm_err(err,
                       "%s: %zu bytes, shorter than the %lld that fetch/state.json records "
                       "(edited by hand? remove the file to fetch the account afresh)",
                       st->path, n, keep_bytes);
    if (keep_bytes > 0 && data[keep_bytes - 1] != '\n')
        return elm_err(err,
                       "%s: byte %lld, where fetch/state.json says a page ended, is not "
                       "the end of a line (remove the file to fetch the account afresh)",
                       st->path, keep_bytes);
    *len = keep_bytes;
    return 0;
}

int elm_fetch_store_open(ElmFetchStore *st, const char *path, const char *platform,
                         const char *account, int numeric_ids, long long keep_bytes,
                         long long old_bytes, ElmError *err) {
    memset(st, 0, sizeof *st);
    snprintf(st->path, sizeof st->path, "%s", path);
    st->platform = platform, st->account = account, st->numeric_ids = numeric_ids;
    char *data = NULL;
    size_t n = 0;
    if (elm_file_exists(path) && elm_read_file(path, &data, &n, err)) return -1;
    long long len = 0;
    int rc = store_committed(st, data ? data : "", n, keep_bytes, &len, err);
    if (rc == 0 && (long long)n > len && truncate(path, (off_t)len) != 0)
        rc = elm_err(err, "%s: cannot cut back to its last page: %s", path, strerror(errno));
    int line = 1;
    for (long long at = 0; rc == 0 && at < len; line++) {
        const char *nl = memchr(data + at, '\n', (size_t)(len - at));
        long long end = nl ? nl - data : len;
        if (end > at) rc = store_line(st, data + at, (size_t)(end - at), line, at, old_bytes, err);
        at = end + 1;
    }
    free(data);
    st->bytes = len;
    if (rc == 0 && !(st->f = fopen(path, "ab")))
        rc = elm_err(err, "%s: cannot open for appending: %s", path, strerror(errno));
    if (rc) elm_fetch_store_close(st);
    return rc;
}

static void store_write_post(const ElmFetchStore *st, const ElmFetchPost *p) {
    FILE *f = st->f;
    putc('{', f);
    elm_json_write_field(f, "id", p->id, strlen(p->id), 1);
    elm_json_write_field(f, "created_at", p->created_at, strlen(p->created_at), 0);
    elm_json_write_field(f, "text", p->text, strlen(p->text), 0);
    if (p->lang)
        elm_json_write_field(f, "lang", p->lang, strlen(p->lang), 0);
    else
        fputs(",\"lang\":null", f);
    fprintf(f, ",\"is_reply\":%s,\"is_repost\":%s", p->is_reply ? "true" : "false",
            p->is_repost ? "true" : "false");
    elm_json_write_field(f, "platform", st->platform, strlen(st->platform), 0);
    elm_json_write_field(f, "account", st->account, strlen(st->account), 0);
    fputs("}\n", f);
}

int elm_fetch_store_append(ElmFetchStore *st, const ElmFetchPost *posts, int n, long long limit,
                           int *added, ElmError *err) {
    *added = 0;
    for (int i = 0; i < n && (limit < 0 || *added < limit); i++) {
        int r = elm_hashset_insert(&st->ids, store_hash(posts[i].id));
        if (r < 0) return elm_err(err, "out of memory");
        if (r == 0) continue;
        store_write_post(st, &posts[i]);
        (*added)++;
    }
    if (fflush(st->f) != 0 || fsync(fileno(st->f)) != 0 || ferror(st->f))
        return elm_err(err, "%s: write failed: %s", st->path, strerror(errno));
    long pos = ftell(st->f);
    if (pos < 0) return elm_err(err, "%s: %s", st->path, strerror(errno));
    st->bytes = pos;
    st->posts += *added;
    return 0;
}

void elm_fetch_store_close(ElmFetchStore *st) {
    if (st->f) fclose(st->f);
    st->f = NULL;
    elm_hashset_free(&st->ids);
    elm_hashset_free(&st->old_ids);
}
