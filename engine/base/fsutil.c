#ifndef _GNU_SOURCE
#define _GNU_SOURCE // fopencookie
#endif
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

// What lies under an ElmAtomicFile's FILE: the descriptor, and the reason of the first write
// that failed. stdio may find a write error long after the call that caused it (a full disk often
// shows only at the flush in the commit), when errno says something else; this keeps the reason.
typedef struct ElmAtomicSink {
    int fd;
    int err_no; // 0 until a write fails
} ElmAtomicSink;

static ssize_t sink_write(void *cookie, const char *buf, size_t n) {
    ElmAtomicSink *s = cookie;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(s->fd, buf + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (!s->err_no) s->err_no = w < 0 ? errno : EIO;
            errno = s->err_no;
            return done ? (ssize_t)done : -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)done;
}

static int sink_seek(void *cookie, off64_t *pos, int whence) {
    ElmAtomicSink *s = cookie;
    off_t at = lseek(s->fd, (off_t)*pos, whence);
    if (at < 0) return -1;
    *pos = (off64_t)at;
    return 0;
}

static int sink_close(void *cookie) {
    ElmAtomicSink *s = cookie;
    int rc = s->fd >= 0 ? close(s->fd) : 0;
    free(s);
    return rc;
}

// Opens af->tmp with open(2)'s flags as af->f (stdio mode `mode`) over an ElmAtomicSink.
static int atomic_open_fd(ElmAtomicFile *af, int flags, const char *mode, ElmError *err) {
    ElmAtomicSink *s = malloc(sizeof *s);
    if (!s) return elm_err(err, "%s: out of memory", af->tmp);
    s->err_no = 0;
    s->fd = open(af->tmp, flags, 0666);
    if (s->fd < 0) {
        int e = errno;
        free(s);
        return elm_err(err, "%s: cannot write: %s", af->tmp, strerror(e));
    }
    cookie_io_functions_t io = {.write = sink_write, .seek = sink_seek, .close = sink_close};
    af->f = fopencookie(s, mode, io);
    if (!af->f) {
        int e = errno;
        close(s->fd);
        free(s);
        if (flags & O_TRUNC) unlink(af->tmp);
        return elm_err(err, "%s: cannot write: %s", af->tmp, strerror(e));
    }
    af->sink = s;
    return 0;
}

// Opens af->tmp, created or truncated.
static int atomic_open_tmp(ElmAtomicFile *af, ElmError *err) {
    return atomic_open_fd(af, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, "w", err);
}

int elm_atomic_open(ElmAtomicFile *af, const char *path, ElmError *err) {
    memset(af, 0, sizeof *af);
    snprintf(af->path, sizeof af->path, "%s", path);
    snprintf(af->tmp, sizeof af->tmp, "%s%s%ld", path, ELM_ATOMIC_TMP, (long)getpid());
    return atomic_open_tmp(af, err);
}

int elm_atomic_open_part(ElmAtomicFile *af, const char *path, ElmError *err) {
    memset(af, 0, sizeof *af);
    af->part = 1;
    snprintf(af->path, sizeof af->path, "%s", path);
    snprintf(af->tmp, sizeof af->tmp, "%s.part", path);
    return atomic_open_tmp(af, err);
}

// The file a write error names: the final path (its temporary is removed), or the ".part".
static const char *atomic_name(const ElmAtomicFile *af) {
    return af->part ? af->tmp : af->path;
}

// The reason of the first failed write, else errno's (a failed flush or fsync just now).
static int atomic_errno(const ElmAtomicFile *af) {
    if (af->sink && af->sink->err_no) return af->sink->err_no;
    return errno ? errno : EIO;
}

int elm_atomic_write(ElmAtomicFile *af, const void *data, size_t n, ElmError *err) {
    if (n && fwrite(data, 1, n, af->f) != n)
        return elm_err(err, "%s: write failed: %s", atomic_name(af), strerror(atomic_errno(af)));
    return 0;
}

int elm_atomic_reopen_part(ElmAtomicFile *af, const char *path, long long keep, ElmError *err) {
    memset(af, 0, sizeof *af);
    af->part = 1;
    snprintf(af->path, sizeof af->path, "%s", path);
    snprintf(af->tmp, sizeof af->tmp, "%s.part", path);
    if (truncate(af->tmp, (off_t)keep) != 0)
        return elm_err(err, "%s: cannot truncate: %s", af->tmp, strerror(errno));
    return atomic_open_fd(af, O_WRONLY | O_APPEND | O_CLOEXEC, "a", err);
}

int elm_atomic_fail(ElmAtomicFile *af, ElmError *err) {
    elm_err(err, "%s: write failed: %s", atomic_name(af), strerror(atomic_errno(af)));
    elm_atomic_abort(af);
    return -1;
}

int elm_atomic_sync(ElmAtomicFile *af, ElmError *err) {
    if (ferror(af->f) || fflush(af->f) != 0 || fsync(af->sink->fd) != 0)
        return elm_err(err, "%s: write failed: %s", af->tmp, strerror(atomic_errno(af)));
    return 0;
}

// fsyncs the folder holding path, so that a rename into it survives a power cut. A file system
// that cannot fsync a folder (EINVAL) has nothing to make durable.
static int fsync_dir_of(const char *path, ElmError *err) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0'; // "/name": the root
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    return elm_fsync_path(dir, err);
}

int elm_fsync_path(const char *path, ElmError *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return elm_err(err, "%s: cannot open to fsync: %s", path, strerror(errno));
    int rc = 0;
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
        rc = elm_err(err, "%s: fsync failed: %s", path, strerror(errno));
    close(fd);
    return rc;
}

int elm_atomic_commit(ElmAtomicFile *af, ElmError *err) {
    if (!af->f) return elm_err(err, "%s: file is not open", af->path);
    errno = 0;
    int bad = ferror(af->f) || fflush(af->f) != 0 || fsync(af->sink->fd) != 0;
    int saved = atomic_errno(af);
    if (fclose(af->f) != 0 && !bad) bad = 1, saved = errno ? errno : EIO;
    af->f = NULL;
    af->sink = NULL;
    if (bad) {
        if (!af->part) unlink(af->tmp);
        return elm_err(err, "%s: write failed: %s", atomic_name(af), strerror(saved));
    }
    if (rename(af->tmp, af->path) != 0) {
        saved = errno;
        if (!af->part) unlink(af->tmp);
        return elm_err(err, "%s: cannot rename into place: %s", af->path, strerror(saved));
    }
    return fsync_dir_of(af->path, err);
}

void elm_atomic_abort(ElmAtomicFile *af) {
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
        af->sink = NULL;
        unlink(af->tmp);
    }
}

int elm_write_file_atomic(const char *path, const void *data, size_t n, ElmError *err) {
    ElmAtomicFile af;
    if (elm_atomic_open(&af, path, err)) return -1;
    if (elm_atomic_write(&af, data, n, err)) {
        elm_atomic_abort(&af);
        return -1;
    }
    return elm_atomic_commit(&af, err);
}

// 1 when name is "<something>.tmp.<digits>": an elm_atomic_open temporary.
static int is_atomic_tmp(const char *name) {
    const char *t = strstr(name, ELM_ATOMIC_TMP);
    if (!t || t == name) return 0;
    const char *d;
    for (;;) { // the last occurrence
        const char *next = strstr(t + 1, ELM_ATOMIC_TMP);
        if (!next) break;
        t = next;
    }
    d = t + strlen(ELM_ATOMIC_TMP);
    if (!*d) return 0;
    for (; *d; d++)
        if (*d < '0' || *d > '9') return 0;
    return 1;
}

int elm_remove_atomic_temps(const char *dir, ElmError *err) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : elm_err(err, "%s: cannot list: %s", dir, strerror(errno));
    struct dirent *e;
    char p[4096];
    int rc = 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (elm_remove_atomic_temps(p, err)) rc = -1;
        } else if (S_ISREG(st.st_mode) && is_atomic_tmp(e->d_name) && unlink(p) != 0 &&
                   errno != ENOENT) {
            rc = elm_err(err, "%s: cannot remove: %s", p, strerror(errno));
        }
    }
    closedir(d);
    return rc;
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

void elm_glob_escape(const char *s, char *out, size_t cap) {
    size_t n = 0;
    for (; *s && n + 2 < cap; s++) {
        if (strchr("\\*?[", *s)) out[n++] = '\\';
        out[n++] = *s;
    }
    out[n] = '\0';
}

int elm_copy_file(const char *from, const char *to, ElmError *err) {
    char *data = NULL;
    size_t n = 0;
    if (elm_read_file(from, &data, &n, err)) return -1;
    int rc = elm_write_file_atomic(to, data, n, err);
    free(data);
    return rc;
}
