// cmd_info.c — `elm info`: version, build features, CPU threads and kernels, the GPU (or "no
// GPU") and, under mpirun or srun, this process's rank. The first thing to run on a new machine.
#include "engine/app/cli.h"
#include "engine/base/dist.h"
#include "engine/model/gemm.h"
#include "engine/model/qmatmul.h"
#include "kernels/gpu/gpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

// "mpi build: yes|no", then the job this process is part of (or "mpi: not launched by mpirun").
static int print_mpi(ElmError *err) {
    printf("mpi build: %s\n", elm_dist_compiled() ? "yes" : "no");
    ElmDist *d = elm_dist_open(err);
    if (!d) { // a diagnosis, like "no GPU": the reason, and `elm info` still succeeds
        printf("mpi: not usable (%s)\n", err->msg);
        err->msg[0] = '\0';
        return 0;
    }
    if (elm_dist_library(d)) {
        printf("mpi: rank %d of %d (launched by %s, %s)\n", elm_dist_rank(d), elm_dist_size(d),
               elm_dist_launched_by(d), elm_dist_mpi_version(d));
        printf("mpi library: %s\n", elm_dist_library(d));
    } else {
        printf("mpi: one process (%s)\n",
               elm_dist_launched_by(d)[0] ? "a job of one" : "not launched by mpirun or srun");
    }
    elm_dist_close(d);
    return 0;
}

static int run_info(const ElmCli *cli, ElmError *err) {
    (void)cli;
    printf("elm %s (commit %s)\n", elm_version, elm_git_commit);
    printf("cpu threads: %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
#ifdef _OPENMP
    const char *wait = getenv("OMP_WAIT_POLICY"), *spin = getenv("GOMP_SPINCOUNT");
    char how[96];
    if (wait)
        snprintf(how, sizeof how, "OMP_WAIT_POLICY=%s", wait);
    else if (spin)
        snprintf(how, sizeof how, "spin GOMP_SPINCOUNT=%s times, then sleep", spin);
    else
        snprintf(how, sizeof how, "libgomp's default");
    printf("openmp: yes (max threads %d, waiting threads: %s)\n", omp_get_max_threads(), how);
#else
    printf("openmp: no\n");
#endif
    printf("cpu fp32 gemm: %s\n", elm_gemm_isa_name());
    printf("cpu decode kernels: bf16 %s, int8 %s (act8) / %s (deq)\n",
           elm_qmatmul_isa_name(ELM_QMM_BF16, 0, ELM_QMM_BEST),
           elm_qmatmul_isa_name(ELM_QMM_INT8, ELM_QMM_INT8_ACT8, ELM_QMM_BEST),
           elm_qmatmul_isa_name(ELM_QMM_INT8, ELM_QMM_INT8_DEQ, ELM_QMM_BEST));
    printf("cuda build: %s\n", elm_gpu_compiled() ? "yes" : "no");
    ElmGpuInfo info[8];
    int n = elm_gpu_query(info, 8, err);
    if (n < 0) return -1;
    if (n == 0) printf("gpu: no GPU (%s)\n", err->msg[0] ? err->msg : "none found");
    if (elm_gpu_library()) printf("cuda library: %s\n", elm_gpu_library());
    for (int i = 0; i < n; i++)
        printf("gpu %d: %s, %.1f GiB, compute capability %d.%d, %d SMs\n", i, info[i].name,
               (double)info[i].total_mem / (1024.0 * 1024.0 * 1024.0), info[i].cc_major,
               info[i].cc_minor, info[i].sm_count);
    err->msg[0] = '\0';
    return print_mpi(err);
}

const ElmCommand elm_cmd_info = {
    .name = "info",
    .summary = "version, build features, CPU threads and GPU",
    .usage = "usage: elm info\n\nPrints the elm version and commit, whether CUDA was built in,\n"
             "each GPU's name, memory and compute capability (or \"no GPU\"), whether MPI was\n"
             "built in and, under mpirun or srun, this process's rank and world size.\n",
    .fn = run_info,
};
