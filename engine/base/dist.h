// dist.h — the process's place in a job of several (launched by mpirun or srun) and the few
// collectives elm spreads work with; a stage that uses every rank takes an ElmDist *.
//
// elm_dist_open reads the environment: when a launcher's variables (OMPI_COMM_WORLD_SIZE,
// PMI_SIZE, PMIX_RANK, SLURM_STEP_NUM_TASKS ...) say this process is one of a job of two or
// more, it opens libelm-mpi.so (dist_mpi.c) with dlopen and calls MPI_Init; otherwise this is
// rank 0 of 1 and every collective is a copy. So the `elm` binary never links libmpi, and a
// NULL ElmDist * is rank 0 of 1 too: callers never branch on "MPI or not".
//
// Every rank calls the collectives in the same order. Each waits at most ELM_DIST_TIMEOUT
// seconds (default 1800; 0 = no limit) for the other ranks. A failed collective leaves the job
// unusable: elm_dist_close then skips MPI_Finalize, and the launcher (mpirun, srun) ends every
// rank once this one exits.
#ifndef ELM_DIST_H
#define ELM_DIST_H

#include "engine/base/error.h"

#include <stddef.h>

typedef struct ElmDist ElmDist;

// Whether this build has the MPI side (libelm-mpi.so was built beside elm).
int elm_dist_compiled(void);
// The launcher whose variables are set ("mpirun", "srun", "pmi", "pmix"), its world size in
// *size (0 when it does not say) and the variable in var; NULL when none is.
const char *elm_dist_launcher(int *size, char *var, size_t cap);

// The handle of this process: rank 0 of 1 without a launcher (or for a job of one); under a
// launcher, MPI's rank and world. Fails when a launcher is set but the MPI side cannot load.
ElmDist *elm_dist_open(ElmError *err);
void elm_dist_close(ElmDist *d);

int elm_dist_rank(const ElmDist *d);
int elm_dist_size(const ElmDist *d);
// The loaded libelm-mpi.so and the MPI library's version ("Open MPI v4.1.4"), or NULL alone.
const char *elm_dist_library(const ElmDist *d);
const char *elm_dist_mpi_version(const ElmDist *d);
// The launcher elm_dist_open found ("" alone).
const char *elm_dist_launched_by(const ElmDist *d);

// The limit of the collectives after this (seconds, 0: none), in place of ELM_DIST_TIMEOUT's, and
// that limit itself: for ranks that wait while rank 0 alone works for as long as it takes.
void elm_dist_set_timeout(ElmDist *d, double seconds);
double elm_dist_timeout(const ElmDist *d);

int elm_dist_barrier(ElmDist *d, ElmError *err);
// n bytes of buf from root to every rank.
int elm_dist_bcast(ElmDist *d, void *buf, size_t n, int root, ElmError *err);
// v[i] = the sum of every rank's v[i], on every rank (in place).
int elm_dist_sum_f64(ElmDist *d, double *v, size_t n, ElmError *err);
int elm_dist_sum_f32(ElmDist *d, float *v, size_t n, ElmError *err);
// Every rank's n bytes to root, concatenated in rank order: on root *recv (free it) and
// counts[0..size) the bytes of each rank; elsewhere *recv = NULL and counts is untouched.
int elm_dist_gather(ElmDist *d, const void *send, size_t n, int root, char **recv, size_t *counts,
                    ElmError *err);
// n bytes of every rank onto every rank, in rank order (gather to 0, then broadcast): *recv
// (free it) and counts[0..size).
int elm_dist_allgather(ElmDist *d, const void *send, size_t n, char **recv, size_t *counts,
                       ElmError *err);

// Blocks of a float array of the sum of counts[0..size) floats: rank r's block is counts[r]
// floats at the sum of the counts before r (ZeRO-1's shards, train_zero.h). Each count and the
// total at most INT_MAX. Alone every one is the whole array and they are copies (or nothing).
// reduce_scatter: every rank's whole array in all; afterwards this rank's block holds the sum
// of every rank's block, the rest of all is undefined.
int elm_dist_reduce_scatter_f32(ElmDist *d, float *all, const size_t *counts, ElmError *err);
// allgather: every rank's block of all onto every rank's all (in place).
int elm_dist_allgather_f32(ElmDist *d, float *all, const size_t *counts, ElmError *err);
// gather: every rank's block (mine, counts[rank] floats) into root's all at its offset; all is
// only used on root (NULL elsewhere).
int elm_dist_gather_f32(ElmDist *d, const float *mine, float *all, const size_t *counts, int root,
                        ElmError *err);

// Agreement on a step's outcome: every rank passes its rc (and err when rc != 0). Returns 0 on
// every rank when all succeeded; else -1 on every rank, with the message of the lowest failed
// rank ("rank 2: ...", or the message as is when it is rank 0's or every rank's) in err. Once an
// agreement failed, later ones fail at once with the same message, without communicating: a
// rank that failed on its own and went to its last agreement meets the others at their next
// one, and everyone leaves together.
int elm_dist_agree(ElmDist *d, int rc, ElmError *err);
// Whether the job-wide failure in err came from elm_dist_agree (every rank knows of it), so
// only rank 0 needs to report it.
int elm_dist_failed_together(const ElmDist *d);
// Whether a collective failed (a rank died or timed out): no other collective can follow.
int elm_dist_broken(const ElmDist *d);

// Ends every rank of the job now, with exit code `code` (alone: exit(code)).
void elm_dist_abort(ElmDist *d, int code);

#endif
