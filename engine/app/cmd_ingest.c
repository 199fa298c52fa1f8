// cmd_ingest.c — `elm ingest`: read tweet archives into <run>/corpus.jsonl.
// Registered in commands.c; the work is in ingest.c.
#include "engine/app/cli.h"
#include "engine/data/ingest.h"

static int run_ingest(const ElmCli *cli, ElmError *err) {
    ElmRun run;
    if (elm_cli_open_run_writer(cli, &run, err)) return -1;
    int rc = elm_ingest_run(&run, err);
    elm_run_close(&run);
    return rc;
}

const ElmCommand elm_cmd_ingest = {
    .name = "ingest",
    .summary = "read tweet archives into <run>/corpus.jsonl",
    .usage =
        "usage: elm ingest CONFIG.ini\n\n"
        "Reads every file named by [data] source = ACCOUNT_OR_AUTO : PATH_OR_GLOB (repeatable)\n"
        "and writes <run>/corpus.jsonl (one post per line: id, account, created_at, text,\n"
        "is_retweet, is_reply, lang, source) and <run>/ingest.json (per-account counts read,\n"
        "kept and dropped by reason).\n\n"
        "Formats, found by content, each also gzip-compressed: twint CSV (tab or comma),\n"
        "the X archive's data/tweets.js, JSON arrays of posts, JSON Lines (snscrape),\n"
        "plain text (one post per line). ACCOUNT=auto takes the user name from the data.\n\n"
        "[data] keys: drop_retweets, drop_replies, languages, dedupe_ids, dedupe_text,\n"
        "invalid_utf8 (replace|drop|error). See docs/ingest.md.\n",
    .fn = run_ingest,
};
