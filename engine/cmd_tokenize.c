// cmd_tokenize.c — `elm tokenize`: GPT-2 BPE: token shards, encode/decode, vocabulary training.
// Registered in commands.c; not built yet (issue #3).
#include "cli.h"

static int run_tokenize(const ElmCli *cli, ElmError *err) {
    (void)cli;
    return elm_err(err, "not available in this build yet (issue #3)");
}

const ElmCommand elm_cmd_tokenize = {
    .name = "tokenize",
    .summary = "GPT-2 BPE: token shards, encode/decode, vocabulary training",
    .usage = "usage: elm tokenize CONFIG.ini\n\nNot available in this build yet (issue #3).\n",
    .fn = run_tokenize,
};
