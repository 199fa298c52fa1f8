// dist_mpi.c — libelm-mpi.so: elm's collectives on Open MPI (see dist_mpi.h). Built only when
// CMake finds MPI; links libmpi, so the `elm` binary does not have to.
//
// Each collective is the non-blocking MPI call (MPI_Ibcast, MPI_Iallreduce, ...) followed by a
// wait that polls MPI_Test with a growing sleep (1 us to 1 ms) up to the timeout: MPI has no
// timeout of its own, and a rank that hangs must not hang the job forever. After a failure the
// communicator is unusable; dist.c then ends the job with MPI_Abort.
#include "engine/base/dist_mpi.h"

#include <limits.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const char elm_git_commit[];

typedef struct Comm {
    MPI_Comm comm;
    int rank, size;
    double timeout_s;
} Comm;

static int fail(ElmError *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (err) vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int mpi_fail(ElmError *err, int code, const char *what) {
    char s[MPI_MAX_ERROR_STRING];
    int n = 0;
    if (MPI_Error_string(code, s, &n) != MPI_SUCCESS) snprintf(s, sizeof s, "MPI error %d", code);
    return fail(err, "%s: %s", what, s);
}

// Waits for r, at most c->timeout_s seconds.
static int wait_for(Comm *c, MPI_Request *r, const char *what, ElmError *err) {
    double t0 = MPI_Wtime();
    long sleep_ns = 1000;
    for (;;) {
        int done = 0, rc = MPI_Test(r, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, what);
        if (done) return 0;
        if (c->timeout_s > 0 && MPI_Wtime() - t0 > c->timeout_s) {
            // Of two ranks, the one that did not come is the other; of more, MPI does not say.
            char who[32] = "one";
            if (c->size == 2) snprintf(who, sizeof who, "rank %d", 1 - c->rank);
            return fail(err,
                        "%s: rank %d of %d waited %.0f s for the other ranks (%s died or "
                        "hangs; ELM_DIST_TIMEOUT sets the limit)",
                        what, c->rank, c->size, c->timeout_s, who);
        }
        struct timespec ts = {0, sleep_ns};
        nanosleep(&ts, NULL);
        if (sleep_ns < 1000000) sleep_ns *= 2;
    }
}

static void *init(double timeout_s, int *rank, int *size, char *lib_version, size_t cap,
                  ElmError *err) {
    int inited = 0, rc;
    MPI_Initialized(&inited);
    if (!inited && (rc = MPI_Init(NULL, NULL)) != MPI_SUCCESS) {
        mpi_fail(err, rc, "MPI_Init");
        return NULL;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    Comm *c = calloc(1, sizeof *c);
    if (!c) {
        fail(err, "out of memory for the MPI communicator");
        return NULL;
    }
    c->timeout_s = timeout_s;
    if ((rc = MPI_Comm_dup(MPI_COMM_WORLD, &c->comm)) != MPI_SUCCESS) {
        free(c);
        mpi_fail(err, rc, "MPI_Comm_dup");
        return NULL;
    }
    MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(c->comm, &c->rank);
    MPI_Comm_size(c->comm, &c->size);
    *rank = c->rank, *size = c->size;
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int n = 0;
    MPI_Get_library_version(v, &n);
    v[strcspn(v, ",\n")] = 0; // "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4"
    snprintf(lib_version, cap, "%s", v);
    return c;
}

static void finalize(void *comm) {
    Comm *c = comm;
    MPI_Comm_free(&c->comm);
    free(c);
    MPI_Finalize();
}

static void abort_job(void *comm, int code) {
    MPI_Abort(comm ? ((Comm *)comm)->comm : MPI_COMM_WORLD, code);
}

static int barrier(void *comm, ElmError *err) {
    Comm *c = comm;
    MPI_Request r;
    int rc = MPI_Ibarrier(c->comm, &r);
    if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "MPI_Ibarrier");
    return wait_for(c, &r, "barrier", err);
}

// MPI counts are ints: large buffers go in chunks of at most 1 GiB elements.
#define CHUNK (1 << 30)

static int bcast(void *comm, void *buf, size_t n, int root, ElmError *err) {
    Comm *c = comm;
    for (size_t at = 0; at < n; at += CHUNK) {
        int len = (int)(n - at < CHUNK ? n - at : CHUNK);
        MPI_Request r;
        int rc = MPI_Ibcast((char *)buf + at, len, MPI_BYTE, root, c->comm, &r);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "MPI_Ibcast");
        if (wait_for(c, &r, "broadcast", err)) return -1;
    }
    return 0;
}

static int sum(Comm *c, void *v, size_t n, size_t el, MPI_Datatype t, ElmError *err) {
    for (size_t at = 0; at < n; at += CHUNK) {
        int len = (int)(n - at < CHUNK ? n - at : CHUNK);
        MPI_Request r;
        int rc = MPI_Iallreduce(MPI_IN_PLACE, (char *)v + at * el, len, t, MPI_SUM, c->comm, &r);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "MPI_Iallreduce");
        if (wait_for(c, &r, "all-reduce", err)) return -1;
    }
    return 0;
}

static int sum_f64(void *comm, double *v, size_t n, ElmError *err) {
    return sum(comm, v, n, sizeof *v, MPI_DOUBLE, err);
}

static int sum_f32(void *comm, float *v, size_t n, ElmError *err) {
    return sum(comm, v, n, sizeof *v, MPI_FLOAT, err);
}

// The sizes first (MPI_Igather of one uint64 each), then the bytes (MPI_Igatherv).
static int gather(void *comm, const void *send, size_t n, int root, char **recv, size_t *counts,
                  ElmError *err) {
    Comm *c = comm;
    *recv = NULL;
    uint64_t mine = n, *all = calloc((size_t)c->size, sizeof *all);
    int *cnt = calloc((size_t)c->size, sizeof *cnt), *disp = calloc((size_t)c->size, sizeof *disp);
    int ret = -1;
    MPI_Request r;
    if (!all || !cnt || !disp) {
        fail(err, "out of memory for a gather");
        goto done;
    }
    int rc = MPI_Igather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, root, c->comm, &r);
    if (rc != MPI_SUCCESS) {
        mpi_fail(err, rc, "MPI_Igather");
        goto done;
    }
    if (wait_for(c, &r, "gather", err)) goto done;
    uint64_t total = 0;
    if (c->rank == root)
        for (int i = 0; i < c->size; i++) {
            counts[i] = (size_t)all[i];
            disp[i] = (int)total, cnt[i] = (int)all[i];
            total += all[i];
        }
    if (total > INT_MAX || n > INT_MAX) {
        // a rank that is not root cannot know; root's error ends the job (dist.c)
        fail(err, "gather of %llu bytes: over MPI's 2 GiB limit", (unsigned long long)total);
        goto done;
    }
    if (c->rank == root && !(*recv = malloc(total ? total : 1))) {
        fail(err, "out of memory for a %llu-byte gather", (unsigned long long)total);
        goto done;
    }
    rc = MPI_Igatherv(send, (int)n, MPI_BYTE, *recv, cnt, disp, MPI_BYTE, root, c->comm, &r);
    if (rc != MPI_SUCCESS) {
        mpi_fail(err, rc, "MPI_Igatherv");
        goto done;
    }
    ret = wait_for(c, &r, "gather", err);
done:
    if (ret) free(*recv), *recv = NULL;
    free(all), free(cnt), free(disp);
    return ret;
}

// MPI's int counts and displacements of the blocks (all in elements); -1 past INT_MAX.
static int block_layout(const Comm *c, const size_t *counts, int **cnt, int **disp, ElmError *err) {
    *cnt = calloc((size_t)c->size, sizeof **cnt), *disp = calloc((size_t)c->size, sizeof **disp);
    if (!*cnt || !*disp) return free(*cnt), free(*disp), fail(err, "out of memory for blocks");
    size_t total = 0;
    for (int r = 0; r < c->size; r++) {
        (*disp)[r] = (int)total, (*cnt)[r] = (int)counts[r];
        total += counts[r];
        if (counts[r] > INT_MAX || total > INT_MAX) {
            free(*cnt), free(*disp);
            return fail(err, "%zu floats in blocks: over MPI's int counts", total);
        }
    }
    return 0;
}

// In place: the sum of the rank's block lands at the start of all (MPI_IN_PLACE's rule for
// reduce-scatter), then moves to the block's offset.
static int reduce_scatter_f32(void *comm, float *all, const size_t *counts, ElmError *err) {
    Comm *c = comm;
    int *cnt, *disp;
    if (block_layout(c, counts, &cnt, &disp, err)) return -1;
    MPI_Request r;
    int rc = MPI_Ireduce_scatter(MPI_IN_PLACE, all, cnt, MPI_FLOAT, MPI_SUM, c->comm, &r);
    int ret = rc != MPI_SUCCESS ? mpi_fail(err, rc, "MPI_Ireduce_scatter")
                                : wait_for(c, &r, "reduce-scatter", err);
    if (ret == 0 && disp[c->rank] > 0)
        memmove(all + disp[c->rank], all, (size_t)cnt[c->rank] * sizeof *all);
    free(cnt), free(disp);
    return ret;
}

static int allgather_f32(void *comm, float *all, const size_t *counts, ElmError *err) {
    Comm *c = comm;
    int *cnt, *disp;
    if (block_layout(c, counts, &cnt, &disp, err)) return -1;
    MPI_Request r;
    int rc = MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, all, cnt, disp, MPI_FLOAT, c->comm, &r);
    int ret = rc != MPI_SUCCESS ? mpi_fail(err, rc, "MPI_Iallgatherv")
                                : wait_for(c, &r, "all-gather", err);
    free(cnt), free(disp);
    return ret;
}

static int gather_f32(void *comm, const float *mine, float *all, const size_t *counts, int root,
                      ElmError *err) {
    Comm *c = comm;
    int *cnt, *disp;
    if (block_layout(c, counts, &cnt, &disp, err)) return -1;
    MPI_Request r;
    int rc;
    if (c->rank == root) { // root's block goes in place before the others' arrive, not sent
        if (all + disp[root] != mine)
            memcpy(all + disp[root], mine, (size_t)cnt[root] * sizeof *all);
        rc = MPI_Igatherv(MPI_IN_PLACE, 0, MPI_FLOAT, all, cnt, disp, MPI_FLOAT, root, c->comm, &r);
    } else {
        rc = MPI_Igatherv(mine, cnt[c->rank], MPI_FLOAT, NULL, NULL, NULL, MPI_FLOAT, root, c->comm,
                          &r);
    }
    int ret =
        rc != MPI_SUCCESS ? mpi_fail(err, rc, "MPI_Igatherv") : wait_for(c, &r, "gather", err);
    free(cnt), free(disp);
    return ret;
}

static void set_timeout(void *comm, double timeout_s) {
    ((Comm *)comm)->timeout_s = timeout_s;
}

static const ElmDistMpiApi api = {
    .version = ELM_DIST_MPI_VERSION,
    .commit = elm_git_commit,
    .sizes = ELM_DIST_MPI_SIZES,
    .init = init,
    .finalize = finalize,
    .abort = abort_job,
    .barrier = barrier,
    .bcast = bcast,
    .sum_f64 = sum_f64,
    .sum_f32 = sum_f32,
    .gather = gather,
    .set_timeout = set_timeout,
    .reduce_scatter_f32 = reduce_scatter_f32,
    .allgather_f32 = allgather_f32,
    .gather_f32 = gather_f32,
};

const ElmDistMpiApi *elm_dist_mpi_api(void) {
    return &api;
}
