// cmd_train.c — `elm train`: train or fine-tune GPT-2 (CPU or CUDA).
// Registered in commands.c; not built yet (issue #4).
#include "cli.h"

static int run_train(const ElmCli *cli, ElmError *err) {
    (void)cli;
    return elm_err(err, "not available in this build yet (issue #4)");
}

const ElmCommand elm_cmd_train = {
    .name = "train",
    .summary = "train or fine-tune GPT-2 (CPU or CUDA)",
    .usage = "usage: elm train CONFIG.ini\n\nNot available in this build yet (issue #4).\n",
    .fn = run_train,
};
