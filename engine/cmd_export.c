// cmd_export.c — `elm export`: write an elm checkpoint as a Hugging Face GPT-2 folder.
// Registered in commands.c; not built yet (issue #4).
#include "cli.h"

static int run_export(const ElmCli *cli, ElmError *err) {
    (void)cli;
    return elm_err(err, "not available in this build yet (issue #4)");
}

const ElmCommand elm_cmd_export = {
    .name = "export",
    .summary = "write an elm checkpoint as a Hugging Face GPT-2 folder",
    .usage = "usage: elm export CONFIG.ini\n\nNot available in this build yet (issue #4).\n",
    .fn = run_export,
};
