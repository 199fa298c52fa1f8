// checkpoint.c — state.bin and the step_N folders of <run>/checkpoints (see checkpoint.h).
#include "engine/model/checkpoint.h"
#include "engine/base/hash.h"
#include "engine/base/le.h"
#include "engine/base/fsutil.h"
#include "engine/base/buf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void pack_header(unsigned char h[ELM_STATE_HEADER_BYTES], const ElmTrainState *st) {
    memset(h, 0, ELM_STATE_HEADER_BYTES);
    memcpy(h, ELM_STATE_MAGIC, 8);
    elm_le_put32(h + 8, ELM_STATE_VERSION);
    elm_le_put32(h + 12, ELM_STATE_HEADER_BYTES);
    elm_le_put64(h + 16, st->step);
    elm_le_put64(h + 24, st->adam_t);
    elm_le_put64(h + 32, st->n_params);
    elm_le_put64(h + 40, st->seed);
    elm_le_put64(h + 48, st->epoch);
    elm_le_put64(h + 56, st->cursor);
    elm_le_put32(h + 64, st->batch_size);
    elm_le_put32(h + 68, st->seq_len);
    elm_le_put32(h + 72, st->grad_accum);
    elm_le_put32(h + 76, st->vocab_size);
    elm_le_put64(h + 80, st->tokens_seen);
}

// Writes n floats (or n zeros when x is NULL) little-endian, folding them into the checksum.
static int write_floats(FILE *f, const float *x, uint64_t n, uint64_t *h) {
    float buf[4096];
    for (uint64_t i = 0; i < n;) {
        size_t k = n - i < 4096 ? (size_t)(n - i) : 4096;
        if (x)
            memcpy(buf, x + i, k * sizeof(float));
        else
            memset(buf, 0, k * sizeof(float));
        *h = elm_hash_fnv1a(*h, buf, k * sizeof(float));
        if (fwrite(buf, sizeof(float), k, f) != k) return -1;
        i += k;
    }
    return 0;
}

int elm_checkpoint_state_write(const char *path, const ElmTrainState *st, const float *m,
                               const float *v, ElmError *err) {
    unsigned char h[ELM_STATE_HEADER_BYTES];
    pack_header(h, st);
    // The checksum covers the data, so it is known only at the end: write it in place last.
    uint64_t sum = elm_hash_fnv1a(ELM_HASH_FNV_OFFSET, h, 120);
    ElmAtomicFile af;
    if (elm_atomic_open(&af, path, err)) return -1;
    if (fwrite(h, 1, sizeof h, af.f) != sizeof h || write_floats(af.f, m, st->n_params, &sum) ||
        write_floats(af.f, v, st->n_params, &sum))
        return elm_atomic_fail(&af, err);
    unsigned char s8[8];
    elm_le_put64(s8, sum);
    if (fseek(af.f, 120, SEEK_SET) != 0 || fwrite(s8, 1, 8, af.f) != 8)
        return elm_atomic_fail(&af, err);
    return elm_atomic_commit(&af, err);
}

int elm_checkpoint_state_read(const char *path, ElmTrainState *st, float **m, float **v,
                              ElmError *err) {
    *m = *v = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return elm_err(err, "%s: cannot open: %s", path, strerror(errno));
    unsigned char h[ELM_STATE_HEADER_BYTES];
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || fread(h, 1, sizeof h, f) != sizeof h) {
        fclose(f);
        return elm_err(err, "%s: truncated (no complete %d-byte header)", path,
                       ELM_STATE_HEADER_BYTES);
    }
    if (memcmp(h, ELM_STATE_MAGIC, 8) != 0) {
        fclose(f);
        return elm_err(err, "%s: not an elm training state (bad magic)", path);
    }
    if (elm_le_get32(h + 8) != ELM_STATE_VERSION ||
        elm_le_get32(h + 12) != ELM_STATE_HEADER_BYTES) {
        fclose(f);
        return elm_err(err, "%s: unsupported state version %u (header %u bytes)", path,
                       elm_le_get32(h + 8), elm_le_get32(h + 12));
    }
    memset(st, 0, sizeof *st);
    st->step = elm_le_get64(h + 16);
    st->adam_t = elm_le_get64(h + 24);
    st->n_params = elm_le_get64(h + 32);
    st->seed = elm_le_get64(h + 40);
    st->epoch = elm_le_get64(h + 48);
    st->cursor = elm_le_get64(h + 56);
    st->batch_size = elm_le_get32(h + 64);
    st->seq_len = elm_le_get32(h + 68);
    st->grad_accum = elm_le_get32(h + 72);
    st->vocab_size = elm_le_get32(h + 76);
    st->tokens_seen = elm_le_get64(h + 80);
    uint64_t want = st->n_params > ((uint64_t)1 << 60) / 8
                        ? UINT64_MAX
                        : ELM_STATE_HEADER_BYTES + 8 * st->n_params;
    if ((uint64_t)sb.st_size != want) {
        fclose(f);
        return elm_err(err, "%s: size %lld bytes, but the header's %llu parameters need %llu", path,
                       (long long)sb.st_size, (unsigned long long)st->n_params,
                       (unsigned long long)want);
    }
    size_t n = (size_t)st->n_params;
    *m = malloc(sizeof(float) * (n ? n : 1));
    *v = malloc(sizeof(float) * (n ? n : 1));
    if (!*m || !*v) {
        fclose(f);
        free(*m), free(*v), *m = *v = NULL;
        return elm_err(err, "%s: out of memory for %zu parameters", path, n);
    }
    int bad = fread(*m, sizeof(float), n, f) != n || fread(*v, sizeof(float), n, f) != n;
    fclose(f);
    uint64_t sum = elm_hash_fnv1a(ELM_HASH_FNV_OFFSET, h, 120);
    sum = elm_hash_fnv1a(sum, *m, n * sizeof(float));
    sum = elm_hash_fnv1a(sum, *v, n * sizeof(float));
    if (bad || sum != elm_le_get64(h + 120)) {
        free(*m), free(*v), *m = *v = NULL;
        return elm_err(err, "%s: checksum mismatch (the file is damaged)", path);
    }
    return 0;
}

void elm_checkpoint_root(const char *run_dir, char *out, size_t cap) {
    elm_path_join(out, cap, run_dir, "checkpoints");
}

// N when name is "step_N" (digits only), else -1.
static long long step_of(const char *name) {
    if (strncmp(name, "step_", 5) != 0 || !name[5]) return -1;
    long long n = 0;
    for (const char *p = name + 5; *p; p++) {
        if (*p < '0' || *p > '9' || n > (long long)1e15) return -1;
        n = n * 10 + (*p - '0');
    }
    return n;
}

static int is_complete(const char *root, const char *name) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s/model.safetensors", root, name);
    return elm_file_exists(p);
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

int elm_checkpoint_list(const char *root, long long **steps, ElmError *err) {
    *steps = NULL;
    DIR *d = opendir(root);
    if (!d) return 0;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long long s = step_of(e->d_name);
        if (s < 0 || !is_complete(root, e->d_name)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            long long *t = elm_realloc(*steps, sizeof(long long) * (size_t)cap, err);
            if (!t) {
                closedir(d);
                free(*steps), *steps = NULL;
                return -1;
            }
            *steps = t;
        }
        (*steps)[n++] = s;
    }
    closedir(d);
    if (n) qsort(*steps, (size_t)n, sizeof(long long), cmp_ll);
    return n;
}

long long elm_checkpoint_latest(const char *root, char *dir_out, size_t cap) {
    long long *steps = NULL;
    ElmError e;
    int n = elm_checkpoint_list(root, &steps, &e);
    long long best = n > 0 ? steps[n - 1] : -1;
    free(steps);
    if (best >= 0 && dir_out) snprintf(dir_out, cap, "%s/step_%lld", root, best);
    return best;
}

int elm_checkpoint_begin(const char *root, long long step, char *tmp_out, size_t cap,
                         ElmError *err) {
    if (elm_mkdirs(root, err)) return -1;
    snprintf(tmp_out, cap, "%s/.step_%lld.tmp", root, step);
    if (elm_rmtree(tmp_out, err)) return -1;
    if (mkdir(tmp_out, 0755) != 0)
        return elm_err(err, "%s: cannot create folder: %s", tmp_out, strerror(errno));
    return 0;
}

// Removes <root>/step_N so that it is never seen half-removed under its own name (a kill in the
// middle of elm_rmtree would leave a step_N without its model, or without its state.bin): it is
// renamed to .step_N.del first, and elm_checkpoint_tidy removes what a kill leaves of that.
static int remove_step(const char *root, long long step, ElmError *err) {
    char dir[4096], del[4096];
    snprintf(dir, sizeof dir, "%s/step_%lld", root, step);
    snprintf(del, sizeof del, "%s/.step_%lld.del", root, step);
    if (elm_rmtree(del, err)) return -1;
    if (rename(dir, del) != 0)
        return elm_err(err, "%s: cannot move aside to remove: %s", dir, strerror(errno));
    return elm_rmtree(del, err);
}

// N and the kind of a name of <root>: 's' for "step_N", or the suffix's first letter for
// ".step_N.tmp" / ".old" / ".del"; 0 for anything else.
static int entry_kind(const char *name, long long *step) {
    if ((*step = step_of(name)) >= 0) return 's';
    if (name[0] != '.') return 0;
    const char *dot = strrchr(name, '.');
    if (dot == name || (strcmp(dot, ".tmp") && strcmp(dot, ".old") && strcmp(dot, ".del")))
        return 0;
    char base[256];
    size_t n = (size_t)(dot - name - 1);
    if (n >= sizeof base) return 0;
    memcpy(base, name + 1, n);
    base[n] = '\0';
    if ((*step = step_of(base)) < 0) return 0;
    return dot[1];
}

// One leftover of a kill in <root>, cleared (see tidy_leftovers).
static int tidy_entry(const char *root, const char *name, ElmError *err) {
    long long step;
    int kind = entry_kind(name, &step);
    char p[4096], dir[64];
    snprintf(p, sizeof p, "%s/%s", root, name);
    snprintf(dir, sizeof dir, "step_%lld", step);
    if (kind == 's') return is_complete(root, name) ? 0 : remove_step(root, step, err);
    if (kind == 'o' && !is_complete(root, dir) && is_complete(root, name)) {
        snprintf(p, sizeof p, "%s/%s", root, dir);
        if (elm_rmtree(p, err)) return -1; // an incomplete one, if any
        char old[4096];
        snprintf(old, sizeof old, "%s/%s", root, name);
        if (rename(old, p) != 0)
            return elm_err(err, "%s: cannot put back: %s", old, strerror(errno));
        return 0;
    }
    return kind ? elm_rmtree(p, err) : 0;
}

// What a kill can leave in <root>, cleared: a save not committed (.step_N.tmp), a removal not
// finished (.step_N.del, or a step_N without its model from before removals were renamed first),
// a replaced checkpoint not yet removed (.step_N.old: removed, or put back when the commit that
// moved it aside never renamed the new one into place).
static int tidy_leftovers(const char *root, ElmError *err) {
    DIR *d = opendir(root);
    if (!d) return 0;
    ElmBuf names = {0}; // NUL-separated: the folder is read whole before anything in it moves
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
            elm_buf_append(&names, e->d_name, strlen(e->d_name) + 1);
    closedir(d);
    if (names.oom) {
        elm_buf_free(&names);
        return elm_err(err, "%s: out of memory", root);
    }
    int rc = 0;
    for (size_t o = 0; o < names.len && rc == 0; o += strlen(names.data + o) + 1)
        rc = tidy_entry(root, names.data + o, err);
    elm_buf_free(&names);
    return rc;
}

int elm_checkpoint_tidy(const char *root, int keep_last, long long keep_step, ElmError *err) {
    if (!elm_is_dir(root)) return 0;
    if (tidy_leftovers(root, err)) return -1;
    if (keep_last > 0) {
        long long *steps = NULL;
        int n = elm_checkpoint_list(root, &steps, err);
        if (n < 0) return -1;
        int rc = 0;
        for (int i = 0; i < n - keep_last && rc == 0; i++)
            if (steps[i] != keep_step) rc = remove_step(root, steps[i], err);
        free(steps);
        if (rc) return -1;
    }
    return elm_fsync_path(root, err);
}

int elm_checkpoint_commit(const char *root, long long step, const char *tmp, int keep_last,
                          char *dir_out, size_t cap, ElmError *err) {
    char dir[4096], old[4096];
    snprintf(dir, sizeof dir, "%s/step_%lld", root, step);
    if (elm_fsync_path(tmp, err)) return -1;
    // A checkpoint of the same step already there (a resumed run saving again) is moved
    // aside first, so some complete step_N exists at every instant.
    snprintf(old, sizeof old, "%s/.step_%lld.old", root, step);
    if (elm_rmtree(old, err)) return -1;
    if (elm_is_dir(dir) && rename(dir, old) != 0)
        return elm_err(err, "%s: cannot move aside: %s", dir, strerror(errno));
    if (rename(tmp, dir) != 0)
        return elm_err(err, "%s: cannot rename into place: %s", dir, strerror(errno));
    if (elm_fsync_path(root, err)) return -1;
    if (elm_rmtree(old, err)) return -1;
    if (dir_out) snprintf(dir_out, cap, "%s", dir);
    return elm_checkpoint_tidy(root, keep_last, step, err);
}
