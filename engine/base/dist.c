// dist.c — ElmDist: rank 0 of 1, or a rank of an MPI job through libelm-mpi.so (dist_mpi.h),
// opened with dlopen only when a launcher's variables are set. The library is looked for at
// $ELM_MPI_LIB, then beside the binary, then in ../lib/ from it, and must come from the same
// build (commit and struct sizes). It stays mapped once opened: MPI cannot be unloaded.
#include "engine/base/dist.h"
#include "engine/base/dist_mpi.h"
#include "engine/base/version.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ElmDist {
    const ElmDistMpiApi *api; // NULL: one process
    void *comm;
    int rank, size;
    int broken; // a collective failed: the job cannot go on (close aborts)
    int failed; // an agreement failed: later ones fail with agreed_msg
    char agreed_msg[ELM_ERROR_MAX];
    char launcher[16];
    char library[PATH_MAX + 64];
    char mpi_version[256];
    double timeout_s; // the collectives' limit (0: none)
};

int elm_dist_compiled(void) {
#ifdef ELM_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

const char *elm_dist_launcher(int *size, char *var, size_t cap) {
    // The world-size variable of each launcher; PMIx names no size (0: ask MPI).
    static const char *const vars[][2] = {{"OMPI_COMM_WORLD_SIZE", "mpirun"},
                                          {"PMI_SIZE", "pmi"},
                                          {"SLURM_STEP_NUM_TASKS", "srun"},
                                          {"PMIX_RANK", "pmix"}};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i][0]);
        if (!v || !*v) continue;
        *size = strcmp(vars[i][1], "pmix") ? atoi(v) : 0;
        snprintf(var, cap, "%s=%s", vars[i][0], v);
        return vars[i][1];
    }
    *size = 1;
    if (cap) var[0] = 0;
    return NULL;
}

static void *try_open(const char *path, char *tried, size_t cap) {
    // RTLD_GLOBAL: Open MPI's own components (dlopened by libmpi) resolve libmpi's symbols.
    void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
        size_t n = strlen(tried);
        snprintf(tried + n, cap - n, "%s%s", n ? "; " : "", dlerror());
    }
    return h;
}

static void *open_library(ElmDist *d, char *tried, size_t cap) {
    const char *env = getenv("ELM_MPI_LIB");
    char exe[PATH_MAX], path[PATH_MAX + 64];
    void *h = NULL;
    if (env && *env) {
        snprintf(path, sizeof path, "%s", env);
        h = try_open(path, tried, cap);
    } else {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) return NULL;
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        snprintf(path, sizeof path, "%s/" ELM_DIST_MPI_FILE, exe);
        if (!(h = try_open(path, tried, cap))) {
            snprintf(path, sizeof path, "%s/../lib/" ELM_DIST_MPI_FILE, exe);
            h = try_open(path, tried, cap);
        }
    }
    if (h) snprintf(d->library, sizeof d->library, "%s", path);
    return h;
}

// The table of the library, checked against this build; NULL with the reason in err.
static const ElmDistMpiApi *load_api(ElmDist *d, const char *launcher, const char *var,
                                     ElmError *err) {
    char tried[4096] = "";
    const char *env = getenv("ELM_MPI_LIB");
    if (!elm_dist_compiled() && !(env && *env))
        snprintf(tried, sizeof tried, "this elm was built without MPI");
    void *h = tried[0] ? NULL : open_library(d, tried, sizeof tried);
    if (!h)
        return elm_err(err,
                       "launched by %s (%s) but the MPI side of elm did not load (%.400s): "
                       "build elm with Open MPI (libopenmpi-dev), or run it without a launcher",
                       launcher, var, tried[0] ? tried : "no path to try"),
               NULL;
    const ElmDistMpiApi *(*get)(void) =
        (const ElmDistMpiApi *(*)(void))dlsym(h, ELM_DIST_MPI_SYMBOL);
    const ElmDistMpiApi *a = get ? get() : NULL;
    size_t want[1] = ELM_DIST_MPI_SIZES;
    if (!a || a->version != ELM_DIST_MPI_VERSION || memcmp(a->sizes, want, sizeof want) != 0 ||
        strcmp(a->commit, elm_git_commit) != 0) {
        elm_err(err, "%s does not belong to this elm (commit %.40s, elm's %.40s): rebuild both",
                d->library, a ? a->commit : "unknown", elm_git_commit);
        dlclose(h);
        return NULL;
    }
    return a; // the handle stays open for the life of the process
}

static double timeout_from_env(void) {
    const char *t = getenv("ELM_DIST_TIMEOUT");
    char *end;
    double v = t && *t ? strtod(t, &end) : 1800;
    return t && *t && (*end || v < 0) ? 1800 : v;
}

// srun starts the tasks but only its PMI plugin lets MPI_Init find the job: with --mpi=none
// (Slurm's default) Open MPI would abort in MPI_Init with a page about PMI support. Debian's
// Open MPI speaks PMIx (srun --mpi=pmix); an MPI built for Slurm's PMI-2 is told by PMI_FD.
static int srun_without_pmix(const char *launcher, const char *var, ElmError *err) {
    if (strcmp(launcher, "srun") != 0) return 0;
    const char *pmix = getenv("PMIX_RANK"), *pmi2 = getenv("PMI_FD");
    if ((pmix && *pmix) || (pmi2 && *pmi2)) return 0;
    return elm_err(err,
                   "launched by srun (%s) without an MPI plugin: run `srun --mpi=pmix ...` "
                   "(or set MpiDefault=pmix in slurm.conf)",
                   var);
}

ElmDist *elm_dist_open(ElmError *err) {
    ElmDist *d = elm_calloc(1, sizeof *d, err);
    if (!d) return NULL;
    d->size = 1;
    int want;
    char var[128];
    const char *launcher = elm_dist_launcher(&want, var, sizeof var);
    if (!launcher) return d;
    snprintf(d->launcher, sizeof d->launcher, "%s", launcher);
    if (want == 1) return d; // a job of one needs no MPI
    if (srun_without_pmix(launcher, var, err)) {
        free(d);
        return NULL;
    }
    if (!(d->api = load_api(d, launcher, var, err))) {
        free(d);
        return NULL;
    }
    d->timeout_s = timeout_from_env();
    d->comm =
        d->api->init(d->timeout_s, &d->rank, &d->size, d->mpi_version, sizeof d->mpi_version, err);
    if (!d->comm) {
        elm_err_prefix(err, "launched by %s (%s)", launcher, var);
        free(d);
        return NULL;
    }
    if (want > 0 && d->size != want) {
        elm_err(err,
                "launched by %s (%s) but MPI sees a world of %d: the launcher and %s do not "
                "talk (under srun, try --mpi=pmix; see docs/distributed.md)",
                launcher, var, d->size, d->mpi_version);
        d->broken = 1;
        elm_dist_close(d);
        return NULL;
    }
    return d;
}

void elm_dist_close(ElmDist *d) {
    if (!d) return;
    // After a failed collective MPI_Finalize could wait forever for the others: the process
    // leaves without it, and the launcher ends the job when it sees a rank exit that way.
    if (d->api && !d->broken) d->api->finalize(d->comm);
    free(d);
}

int elm_dist_rank(const ElmDist *d) {
    return d ? d->rank : 0;
}

int elm_dist_size(const ElmDist *d) {
    return d ? d->size : 1;
}

const char *elm_dist_library(const ElmDist *d) {
    return d && d->api ? d->library : NULL;
}

const char *elm_dist_mpi_version(const ElmDist *d) {
    return d && d->api ? d->mpi_version : NULL;
}

const char *elm_dist_launched_by(const ElmDist *d) {
    return d ? d->launcher : "";
}

// A collective's outcome: a failure marks the job broken.
static int collective(ElmDist *d, int rc) {
    if (rc) d->broken = 1;
    return rc;
}

void elm_dist_set_timeout(ElmDist *d, double seconds) {
    if (!d || !d->api) return;
    d->timeout_s = seconds;
    d->api->set_timeout(d->comm, seconds);
}

double elm_dist_timeout(const ElmDist *d) {
    return d ? d->timeout_s : 0;
}

int elm_dist_barrier(ElmDist *d, ElmError *err) {
    if (!d || !d->api) return 0;
    return collective(d, d->api->barrier(d->comm, err));
}

int elm_dist_bcast(ElmDist *d, void *buf, size_t n, int root, ElmError *err) {
    if (!d || !d->api) return 0; // alone, root's buffer is every rank's
    return collective(d, d->api->bcast(d->comm, buf, n, root, err));
}

int elm_dist_sum_f64(ElmDist *d, double *v, size_t n, ElmError *err) {
    if (!d || !d->api) return 0;
    return collective(d, d->api->sum_f64(d->comm, v, n, err));
}

int elm_dist_sum_f32(ElmDist *d, float *v, size_t n, ElmError *err) {
    if (!d || !d->api) return 0;
    return collective(d, d->api->sum_f32(d->comm, v, n, err));
}

int elm_dist_gather(ElmDist *d, const void *send, size_t n, int root, char **recv, size_t *counts,
                    ElmError *err) {
    if (!d || !d->api) {
        if (!(*recv = elm_malloc(n ? n : 1, err))) return -1;
        if (n) memcpy(*recv, send, n);
        counts[0] = n;
        return 0;
    }
    return collective(d, d->api->gather(d->comm, send, n, root, recv, counts, err));
}

int elm_dist_allgather(ElmDist *d, const void *send, size_t n, char **recv, size_t *counts,
                       ElmError *err) {
    if (elm_dist_gather(d, send, n, 0, recv, counts, err)) return -1;
    if (!d || !d->api) return 0;
    int P = d->size;
    size_t total = 0;
    if (d->rank == 0)
        for (int r = 0; r < P; r++) total += counts[r];
    if (elm_dist_bcast(d, counts, (size_t)P * sizeof *counts, 0, err)) return -1;
    if (d->rank != 0) {
        for (int r = 0; r < P; r++) total += counts[r];
        if (!(*recv = malloc(total ? total : 1))) {
            // the others are already sending: the job cannot wait for this rank
            elm_err(err, "out of memory for a %zu-byte all-gather", total);
            d->broken = 1;
            return -1;
        }
    }
    if (elm_dist_bcast(d, *recv, total, 0, err)) {
        free(*recv), *recv = NULL;
        return -1;
    }
    return 0;
}

int elm_dist_reduce_scatter_f32(ElmDist *d, float *all, const size_t *counts, ElmError *err) {
    if (!d || !d->api) return 0; // alone, the block is the whole array and the sum is itself
    return collective(d, d->api->reduce_scatter_f32(d->comm, all, counts, err));
}

int elm_dist_allgather_f32(ElmDist *d, float *all, const size_t *counts, ElmError *err) {
    if (!d || !d->api) return 0;
    return collective(d, d->api->allgather_f32(d->comm, all, counts, err));
}

int elm_dist_gather_f32(ElmDist *d, const float *mine, float *all, const size_t *counts, int root,
                        ElmError *err) {
    if (!d || !d->api) {
        if (all != mine && counts[0]) memcpy(all, mine, counts[0] * sizeof *all);
        return 0;
    }
    return collective(d, d->api->gather_f32(d->comm, mine, all, counts, root, err));
}

int elm_dist_agree(ElmDist *d, int rc, ElmError *err) {
    if (!d || !d->api) return rc ? -1 : 0;
    if (d->failed) return elm_err(err, "%s", d->agreed_msg);
    // Each rank sends its message ("" when it succeeded, never "" when it failed).
    char mine[ELM_ERROR_MAX];
    snprintf(mine, sizeof mine, "%s", rc ? (err->msg[0] ? err->msg : "failed") : "");
    char *all = NULL;
    size_t *counts = calloc((size_t)d->size, sizeof *counts);
    if (!counts) d->broken = 1; // cannot take part: end the job
    if (!counts || elm_dist_gather(d, mine, strlen(mine) + 1, 0, &all, counts, err)) {
        free(counts);
        return -1;
    }
    char verdict[ELM_ERROR_MAX] = "";
    if (d->rank == 0) {
        const char *at = all;
        int first = -1, n_failed = 0, same = 1;
        const char *first_msg = "";
        for (int r = 0; r < d->size; at += counts[r], r++) {
            if (!at[0]) continue;
            if (first < 0) first = r, first_msg = at;
            n_failed++;
            same &= strcmp(at, first_msg) == 0;
        }
        if (first == 0 || (first > 0 && n_failed == d->size && same))
            snprintf(verdict, sizeof verdict, "%s", first_msg);
        else if (first > 0)
            snprintf(verdict, sizeof verdict, "rank %d: %s", first, first_msg);
    }
    free(all), free(counts);
    if (elm_dist_bcast(d, verdict, sizeof verdict, 0, err)) return -1;
    if (!verdict[0]) return 0;
    d->failed = 1;
    snprintf(d->agreed_msg, sizeof d->agreed_msg, "%s", verdict);
    return elm_err(err, "%s", verdict);
}

int elm_dist_failed_together(const ElmDist *d) {
    return d && d->failed && !d->broken;
}

int elm_dist_broken(const ElmDist *d) {
    return d && d->broken;
}

void elm_dist_abort(ElmDist *d, int code) {
    if (d && d->api) d->api->abort(d->comm, code);
    exit(code);
}
