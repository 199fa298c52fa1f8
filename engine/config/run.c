#include "engine/config/run.h"
#include "engine/base/fsutil.h"

#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

int elm_run_open(ElmRun *run, const char *config_path, char **sets, int n_sets, int quiet,
                 ElmError *err) {
    memset(run, 0, sizeof *run);
    if (elm_config_init(&run->cfg, err)) return -1;
    if (config_path && elm_config_load_file(&run->cfg, config_path, err)) goto fail;
    for (int i = 0; i < n_sets; i++)
        if (elm_config_override(&run->cfg, sets[i], err)) goto fail;
    const char *name = elm_cfg_str(&run->cfg, "run.name");
    if (!name[0] || strchr(name, '/'))
        return elm_err(err, "run.name must be a non-empty name without '/' (got '%s')", name);
    elm_path_join(run->dir, sizeof run->dir, elm_cfg_str(&run->cfg, "run.out_dir"), name);
    run->seed = (uint64_t)elm_cfg_int(&run->cfg, "run.seed");
    run->threads = (int)elm_cfg_int(&run->cfg, "run.threads");
    if (run->threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        run->threads = n > 0 ? (int)n : 1;
    }
#ifdef _OPENMP
    omp_set_num_threads(run->threads);
#endif
    run->quiet = quiet;
    return 0;
fail:
    elm_config_free(&run->cfg);
    return -1;
}

int elm_run_mkdir(const ElmRun *run, ElmError *err) {
    return elm_mkdirs(run->dir, err);
}

void elm_run_path(const ElmRun *run, const char *rel, char *out, size_t cap) {
    elm_path_join(out, cap, run->dir, rel);
}

void elm_run_close(ElmRun *run) {
    elm_config_free(&run->cfg);
}
