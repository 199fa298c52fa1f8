// cmd_feed.c — `elm feed`: the daily dose of the personal mix from the viable generated tweets.
// The stage lives in engine/app/feed.c.
#include "engine/app/cli.h"
#include "engine/app/feed.h"

#include <stdio.h>

static int run_feed(const ElmCli *cli, ElmError *err) {
    ElmRun run;
    if (elm_cli_open_run_writer(cli, &run, err)) return -1;
    int rc = elm_feed_run(&run, err);
    if (rc == 0 && !run.quiet) {
        char path[4096];
        elm_run_path(&run, "feed/feed.jsonl", path, sizeof path);
        printf("wrote %s\n", path);
    }
    elm_run_close(&run);
    return rc;
}

const ElmCommand elm_cmd_feed = {
    .name = "feed",
    .summary = "the daily dose: viable generated tweets picked to follow the mix",
    .usage = "usage: elm feed CONFIG.ini [--set feed.KEY=VALUE ...]\n\n"
             "Picks [feed] per_day texts for each of [feed] days days from <run>/viable.jsonl,\n"
             "following [generate] accounts and topics (each slot asks for the account and the\n"
             "topic of the mix's sequences; without a text of both it keeps the account, then\n"
             "the topic), best-ranked first, with no two near-duplicates (word Jaccard >=\n"
             "feed.near_duplicate) in the feed. Writes <run>/feed/feed.jsonl (day, slot, asked,\n"
             "asked_topic, account, topic, text, p_real, rank, why) and <run>/feed/feed.json\n"
             "(the mix asked for vs delivered, accounts and topics). See docs/feed.md.\n",
    .options = {NULL},
    .fn = run_feed,
};
