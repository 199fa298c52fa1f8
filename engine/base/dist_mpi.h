// dist_mpi.h — the table of MPI calls libelm-mpi.so (dist_mpi.c, built when Open MPI is found)
// hands to dist.c, which opens the library only when a launcher started this process.
//
// Keeping MPI out of the binary: `elm` never links libmpi, so a plain run needs no MPI on the
// machine; the library links it and exports nothing but elm_dist_mpi_api. Every collective is
// non-blocking underneath and waited for at most timeout_s (0: no limit), so a rank that hangs
// or died is an error, not a hang; MPI's own errors return (MPI_ERRORS_RETURN), never abort.
#ifndef ELM_DIST_MPI_H
#define ELM_DIST_MPI_H

#include "engine/base/error.h"

#include <stddef.h>

#define ELM_DIST_MPI_VERSION 3
#define ELM_DIST_MPI_SYMBOL "elm_dist_mpi_api"
#define ELM_DIST_MPI_FILE "libelm-mpi.so"
// The structs both sides pass: their sizes must agree between the binary and the library.
#define ELM_DIST_MPI_SIZES                                                                         \
    { sizeof(ElmError) }

typedef struct ElmDistMpiApi {
    int version;        // ELM_DIST_MPI_VERSION
    const char *commit; // the build's git commit: the binary and the library must agree
    size_t sizes[1];    // ELM_DIST_MPI_SIZES as the library was built

    // MPI_Init and a private duplicate of MPI_COMM_WORLD; the MPI library's version line into
    // lib_version. Returns the communicator (opaque) or NULL.
    void *(*init)(double timeout_s, int *rank, int *size, char *lib_version, size_t cap,
                  ElmError *err);
    void (*finalize)(void *comm);
    void (*abort)(void *comm, int code); // MPI_Abort: ends every rank of the job
    int (*barrier)(void *comm, ElmError *err);
    int (*bcast)(void *comm, void *buf, size_t n, int root, ElmError *err);
    int (*sum_f64)(void *comm, double *v, size_t n, ElmError *err); // allreduce, in place
    int (*sum_f32)(void *comm, float *v, size_t n, ElmError *err);
    // Variable-size byte buffers to root, in rank order: *recv (malloc'd) and counts[size] on
    // root, *recv = NULL elsewhere.
    int (*gather)(void *comm, const void *send, size_t n, int root, char **recv, size_t *counts,
                  ElmError *err);
    // How long the collectives after this wait (seconds, 0: no limit).
    void (*set_timeout)(void *comm, double timeout_s);
    // Blocks of a float array, rank r's counts[r] floats at the sum of the counts before r (each
    // count and their total at most INT_MAX). reduce_scatter: every rank's whole array in all;
    // its own block becomes the sum of every rank's (the rest of all is left undefined).
    // allgather: every rank's block of all onto every rank. gather: every rank's block (mine)
    // into root's all (NULL elsewhere).
    int (*reduce_scatter_f32)(void *comm, float *all, const size_t *counts, ElmError *err);
    int (*allgather_f32)(void *comm, float *all, const size_t *counts, ElmError *err);
    int (*gather_f32)(void *comm, const float *mine, float *all, const size_t *counts, int root,
                      ElmError *err);
} ElmDistMpiApi;

// The library's one export: its table (static storage, never freed).
const ElmDistMpiApi *elm_dist_mpi_api(void);

#endif
