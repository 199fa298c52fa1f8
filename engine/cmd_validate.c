// cmd_validate.c — `elm validate`: real-vs-generated classifiers (Naive Bayes, random forest).
// Registered in commands.c; not built yet (issue #5).
#include "cli.h"

static int run_validate(const ElmCli *cli, ElmError *err) {
    (void)cli;
    return elm_err(err, "not available in this build yet (issue #5)");
}

const ElmCommand elm_cmd_validate = {
    .name = "validate",
    .summary = "real-vs-generated classifiers (Naive Bayes, random forest)",
    .usage = "usage: elm validate CONFIG.ini\n\nNot available in this build yet (issue #5).\n",
    .fn = run_validate,
};
