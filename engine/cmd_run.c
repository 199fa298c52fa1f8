// cmd_run.c — `elm run`: the whole study: ingest, clean, tokenize, train, generate, validate,
// topics, report. Registered in commands.c; not built yet (issue #8).
#include "cli.h"

static int run_run(const ElmCli *cli, ElmError *err) {
    (void)cli;
    return elm_err(err, "not available in this build yet (issue #8)");
}

const ElmCommand elm_cmd_run = {
    .name = "run",
    .summary =
        "the whole study: ingest, clean, tokenize, train, generate, validate, topics, report",
    .usage = "usage: elm run CONFIG.ini\n\nNot available in this build yet (issue #8).\n",
    .fn = run_run,
};
