// cmd_topics.c — `elm topics`: LDA topics and top words, real vs generated.
// Registered in commands.c; not built yet (issue #5).
#include "cli.h"

static int run_topics(const ElmCli *cli, ElmError *err) {
    (void)cli;
    return elm_err(err, "not available in this build yet (issue #5)");
}

const ElmCommand elm_cmd_topics = {
    .name = "topics",
    .summary = "LDA topics and top words, real vs generated",
    .usage = "usage: elm topics CONFIG.ini\n\nNot available in this build yet (issue #5).\n",
    .fn = run_topics,
};
