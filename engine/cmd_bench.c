// cmd_bench.c — `elm bench`: benchmarks against peers.
// Registered in commands.c; not built yet (issue #2).
#include "cli.h"

static int run_bench(const ElmCli *cli, ElmError *err) {
    (void)cli;
    return elm_err(err, "not available in this build yet (issue #2)");
}

const ElmCommand elm_cmd_bench = {
    .name = "bench",
    .summary = "benchmarks against peers",
    .usage = "usage: elm bench CONFIG.ini\n\nNot available in this build yet (issue #2).\n",
    .fn = run_bench,
};
