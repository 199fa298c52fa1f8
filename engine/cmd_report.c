// cmd_report.c — `elm report`: the HTML report.
// Registered in commands.c; not built yet (issue #8).
#include "cli.h"

static int run_report(const ElmCli *cli, ElmError *err) {
    (void)cli;
    return elm_err(err, "not available in this build yet (issue #8)");
}

const ElmCommand elm_cmd_report = {
    .name = "report",
    .summary = "the HTML report",
    .usage = "usage: elm report CONFIG.ini\n\nNot available in this build yet (issue #8).\n",
    .fn = run_report,
};
