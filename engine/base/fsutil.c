#define _POSIX_C_SOURCE 200809L
#include "engine/base/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

int elm_atomic_open(ElmAtomicFile *af, const char *path, ElmError *err) {
    memset(af, 0, sizeof *af);
    snprintf(af->path, sizeof af->path, "%s", path);
    snprintf(af->tmp, sizeof af->tmp, "%s.tmp.%ld", path, (long)getpid());
    af->f = fopen(af->tmp, "wb");
    if (!af->f) return elm_err(err, "%s: cannot write: %s", af->tmp, strerror(errno));
    return 0;
}

int elm_atomic_open_part(ElmAtomicFile *af, const char *path, ElmError *err) {
    memset(af, 0, sizeof *af);
    af->part = 1;
    snprintf(af->path, sizeof af->path, "%s", path);
    snprintf(af->tmp, sizeof af->tmp, "%s.part", path);
    af->f = fopen(af->tmp, "w");
    if (!af->f) return elm_err(err, "%s: cannot write: %s", af->tmp, strerror(errno));
    return 0;
}

int elm_atomic_reopen_part(ElmAtomicFile *af, const char *path, long long keep, ElmError *err) {
    memset(af, 0, sizeof *af);
    af->part = 1;
    snprintf(af->path, sizeof af->path, "%s", path);
    snprintf(af->tmp, sizeof af->tmp, "%s.part", path);
    if (truncate(af->tmp, (off_t)keep) != 0)
        return elm_err(err, "%s: cannot truncate: %s", af->tmp, strerror(errno));
    af->f = fopen(af->tmp, "a");
    if (!af->f) return elm_err(err, "%s: cannot write: %s", af->tmp, strerror(errno));
    return 0;
}

int elm_atomic_sync(ElmAtomicFile *af, ElmError *err) {
    if (fflush(af->f) != 0 || fsync(fileno(af->f)) != 0)
        return elm_err(err, "%s: write failed: %s", af->tmp, strerror(errno));
    return 0;
}

static void fsync_dir_of(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int elm_atomic_commit(ElmAtomicFile *af, ElmError *err) {
    if (!af->f) return elm_err(err, "%s: file is not open", af->path);
    int bad = ferror(af->f) || fflush(af->f) != 0 || fsync(fileno(af->f)) != 0;
    int saved = errno;
    if (fclose(af->f) != 0) bad = 1, saved = errno;
    af->f = NULL;
    if (bad) {
        if (!af->part) unlink(af->tmp);
        return elm_err(err, "%s: write failed: %s", af->part ? af->tmp : af->path, strerror(saved));
    }
    if (rename(af->tmp, af->path) != 0) {
        saved = errno;
        if (!af->part) unlink(af->tmp);
        return elm_err(err, "%s: cannot rename into place: %s", af->path, strerror(saved));
    }
    fsync_dir_of(af->path);
    return 0;
}

void elm_atomic_abort(ElmAtomicFile *af) {
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
        unlink(af->tmp);
    }
}

int elm_write_file_atomic(const char *path, const void *data, size_t n, ElmError *err) {
    ElmAtomicFile af;
    if (elm_atomic_open(&af, path, err)) return -1;
    if (n && fwrite(data, 1, n, af.f) != n) {
        elm_atomic_abort(&af);
        return elm_err(err, "%s: write failed", path);
    }
    return elm_atomic_commit(&af, err);
}

int elm_mkdirs(const char *path, ElmError *err) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return elm_err(err, "%s: cannot create folder: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return elm_err(err, "%s: cannot create folder: %s", buf, strerror(errno));
    if (!elm_is_dir(buf)) return elm_err(err, "%s: exists and is not a folder", buf);
    return 0;
}

int elm_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int elm_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int elm_read_file(const char *path, char **data, size_t *n, ElmError *err) {
    *data = NULL;
    *n = 0;
    if (elm_is_dir(path)) return elm_err(err, "%s: is a folder, not a file", path);
    gzFile gz = gzopen(path, "rb");
    if (!gz) return elm_err(err, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
    gzbuffer(gz, 1 << 17);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        gzclose(gz);
        return elm_err(err, "%s: out of memory", path);
    }
    for (;;) {
        if (cap - len < (1 << 15)) {
            size_t ncap = cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                gzclose(gz);
                return elm_err(err, "%s: out of memory", path);
            }
            buf = nb, cap = ncap;
        }
        int want = (int)((cap - len) > (1u << 30) ? (1u << 30) : (cap - len));
        int got = gzread(gz, buf + len, (unsigned)want);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            elm_err(err, "%s: corrupt or truncated gzip data (%s)", path, msg);
            free(buf);
            gzclose(gz);
            return -1;
        }
        if (got == 0) break;
        len += (size_t)got;
    }
    // zlib reports a gzip stream cut short only as an error at the end.
    int zerr = Z_OK;
    const char *msg = gzerror(gz, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        elm_err(err, "%s: corrupt or truncated gzip data (%s)", path, msg);
        free(buf);
        gzclose(gz);
        return -1;
    }
    gzclose(gz);
    buf[len] = '\0';
    *data = buf;
    *n = len;
    return 0;
}

void elm_path_join(char *out, size_t cap, const char *a, const char *b) {
    size_t la = strlen(a);
    if (la == 0)
        snprintf(out, cap, "%s", b);
    else if (a[la - 1] == '/')
        snprintf(out, cap, "%s%s", a, b);
    else
        snprintf(out, cap, "%s/%s", a, b);
}

double elm_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int elm_rmtree(const char *path, ElmError *err) {
    DIR *d = opendir(path);
    if (!d) {
        if (errno == ENOENT) return 0;
        if (unlink(path) == 0) return 0;
        return elm_err(err, "%s: cannot remove: %s", path, strerror(errno));
    }
    struct dirent *e;
    char p[4096];
    int rc = 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (elm_is_dir(p)) {
            if (elm_rmtree(p, err)) rc = -1;
        } else if (unlink(p) != 0) {
            rc = elm_err(err, "%s: cannot remove: %s", p, strerror(errno));
        }
    }
    closedir(d);
    if (rc == 0 && rmdir(path) != 0)
        return elm_err(err, "%s: cannot remove: %s", path, strerror(errno));
    return rc;
}
