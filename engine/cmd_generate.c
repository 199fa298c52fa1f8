// cmd_generate.c — `elm generate`: sample tweets and stories.
// Registered in commands.c; not built yet (issue #4).
#include "cli.h"

static int run_generate(const ElmCli *cli, ElmError *err) {
    (void)cli;
    return elm_err(err, "not available in this build yet (issue #4)");
}

const ElmCommand elm_cmd_generate = {
    .name = "generate",
    .summary = "sample tweets and stories",
    .usage = "usage: elm generate CONFIG.ini\n\nNot available in this build yet (issue #4).\n",
    .fn = run_generate,
};
