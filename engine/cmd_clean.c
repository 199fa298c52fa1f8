// cmd_clean.c — `elm clean`: clean tweets into <run>/clean.jsonl.
// Registered in commands.c; not built yet (issue #2).
#include "cli.h"

static int run_clean(const ElmCli *cli, ElmError *err) {
    (void)cli;
    return elm_err(err, "not available in this build yet (issue #2)");
}

const ElmCommand elm_cmd_clean = {
    .name = "clean",
    .summary = "clean tweets into <run>/clean.jsonl",
    .usage = "usage: elm clean CONFIG.ini\n\nNot available in this build yet (issue #2).\n",
    .fn = run_clean,
};
