// pipeline.h — `elm run`: the stages in order, each re-run only when its inputs' content or its
// settings changed, with <run>/manifest.json recording versions, config, hashes, time, memory.
#ifndef ELM_PIPELINE_H
#define ELM_PIPELINE_H

#include "engine/base/dist.h"
#include "engine/base/error.h"
#include "engine/config/run.h"

typedef int (*ElmStageFn)(ElmRun *run, ElmError *err);
typedef int (*ElmStageDistFn)(ElmRun *run, ElmDist *dist, ElmError *err);

// One stage: its function, the config sections that shape its result, the files (relative to
// the run folder, globs allowed) it reads, and the files it must leave behind.
typedef struct ElmStage {
    const char *name;
    ElmStageFn fn;
    const char *sections[4];
    const char *settings[4]; // single keys ("run.seed") that also shape the result
    const char *inputs[12];
    const char *outputs[6];
    // Set for the stages that spread over the ranks of a job (train, generate, validate): under
    // mpirun or srun they run in-process on every rank; the others run on rank 0 alone.
    ElmStageDistFn fn_dist;
} ElmStage;

typedef struct ElmPipelineOptions {
    int force;        // re-run every selected stage
    const char *from; // first stage to run (earlier ones must be cached or are run if stale)
    const char *only; // run just this stage
    int *signal;      // if set, receives the signal (SIGINT, SIGTERM) that interrupted the run
    ElmDist *dist;    // the job (NULL or one rank: one process)
} ElmPipelineOptions;

// The study's stages, NULL-name terminated (pipeline_stages.c).
extern const ElmStage elm_pipeline_stages[];

// Runs the pipeline over `stages`. Each stage runs in a child process so its peak memory is its
// own and a crash cannot corrupt the manifest; its error comes back as one line naming it.
// In a job of several ranks (opt->dist), rank 0 decides what runs, runs the serial stages in
// children while the other ranks wait (without the collectives' time limit), runs the stages
// with fn_dist in-process together with every other rank (MPI allows one MPI_Init per rank, so
// no child could join the job), and alone writes the manifest; every rank returns the same
// status.
int elm_pipeline_run(ElmRun *run, const ElmStage *stages, const ElmPipelineOptions *opt,
                     ElmError *err);

#endif
