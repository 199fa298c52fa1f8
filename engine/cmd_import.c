// cmd_import.c — `elm import`: turn a Hugging Face GPT-2 folder into an elm checkpoint.
// Registered in commands.c; not built yet (issue #4).
#include "cli.h"

static int run_import(const ElmCli *cli, ElmError *err) {
    (void)cli;
    return elm_err(err, "not available in this build yet (issue #4)");
}

const ElmCommand elm_cmd_import = {
    .name = "import",
    .summary = "turn a Hugging Face GPT-2 folder into an elm checkpoint",
    .usage = "usage: elm import CONFIG.ini\n\nNot available in this build yet (issue #4).\n",
    .fn = run_import,
};
