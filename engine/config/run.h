// run.h — ElmRun: what every command gets: the loaded config, the run folder, threads, seed,
// quiet flag. Built by the CLI from `CONFIG.ini`, `--set` overrides and `--quiet`.
#ifndef ELM_RUN_H
#define ELM_RUN_H

#include "engine/config/config.h"
#include "engine/base/error.h"

#include <stdint.h>

typedef struct ElmRun {
    ElmConfig cfg;
    char dir[4096]; // <out_dir>/<name>
    int threads;    // resolved (>= 1)
    uint64_t seed;
    int quiet;
    int locked, lock_fd; // elm_run_lock's hold on <dir>/.lock
    char stage_fp[17];   // the fingerprint of the stage `elm run` is running ("" otherwise)
} ElmRun;

// Loads the config (path may be NULL for defaults only), applies overrides, resolves the run
// folder and threads. Does not create the folder: stages call elm_run_mkdir when they write.
int elm_run_open(ElmRun *run, const char *config_path, char **sets, int n_sets, int quiet,
                 ElmError *err);
int elm_run_mkdir(const ElmRun *run, ElmError *err);
// "<run dir>/<rel>" into out.
void elm_run_path(const ElmRun *run, const char *rel, char *out, size_t cap);
// One writer per run folder: creates the folder and takes an exclusive flock on <dir>/.lock for
// `command` (held until elm_run_close or the process ends; forked children share it), recording
// "pid command" in it. Another holder is an error naming its pid and command; a lock left by a
// dead process is free (the kernel drops it), so there is never a stale-lock error. Then the
// temporaries a killed writer left in the folder are removed (elm_remove_atomic_temps).
int elm_run_lock(ElmRun *run, const char *command, ElmError *err);
void elm_run_close(ElmRun *run);

#endif
