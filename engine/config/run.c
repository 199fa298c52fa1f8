#include "engine/config/run.h"
#include "engine/base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
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

// The holder's "pid command" line from the lock file, for the message.
static void lock_holder(int fd, char *out, size_t cap) {
    ssize_t n = pread(fd, out, cap - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    if (!out[0]) snprintf(out, cap, "unknown");
}

int elm_run_lock(ElmRun *run, const char *command, ElmError *err) {
    if (elm_run_mkdir(run, err)) return -1;
    char path[4200];
    elm_run_path(run, ".lock", path, sizeof path);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0) return elm_err(err, "%s: cannot open: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char who[256];
        lock_holder(fd, who, sizeof who);
        close(fd);
        if (e == EWOULDBLOCK)
            return elm_err(err, "%s: in use by pid %s; one elm at a time writes a run folder",
                           run->dir, who);
        return elm_err(err, "%s: cannot lock: %s", path, strerror(e));
    }
    char line[300];
    int n = snprintf(line, sizeof line, "%ld elm %s\n", (long)getpid(), command);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n) {
        int e = errno;
        close(fd);
        return elm_err(err, "%s: write failed: %s", path, strerror(e));
    }
    run->locked = 1, run->lock_fd = fd;
    // The folder is ours now: temporaries of a writer that was killed are litter (a killed
    // checkpoint's state.bin.tmp.PID is as big as the moments).
    ElmError ignore;
    elm_remove_atomic_temps(run->dir, &ignore);
    return 0;
}

void elm_run_close(ElmRun *run) {
    if (run->locked) close(run->lock_fd);
    run->locked = 0;
    elm_config_free(&run->cfg);
}
