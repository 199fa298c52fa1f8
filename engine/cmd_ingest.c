// cmd_ingest.c — `elm ingest`: read tweet archives into <run>/corpus.jsonl.
// Registered in commands.c; not built yet (issue #2).
#include "cli.h"

static int run_ingest(const ElmCli *cli, ElmError *err) {
    (void)cli;
    return elm_err(err, "not available in this build yet (issue #2)");
}

const ElmCommand elm_cmd_ingest = {
    .name = "ingest",
    .summary = "read tweet archives into <run>/corpus.jsonl",
    .usage = "usage: elm ingest CONFIG.ini\n\nNot available in this build yet (issue #2).\n",
    .fn = run_ingest,
};
