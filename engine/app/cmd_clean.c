// cmd_clean.c — `elm clean`: clean tweets into <run>/clean.jsonl.
// Registered in commands.c; the work is in clean.c and clean_run.c.
#include "engine/data/clean.h"
#include "engine/app/cli.h"

static int run_clean(const ElmCli *cli, ElmError *err) {
    ElmRun run;
    if (elm_cli_open_run_writer(cli, &run, err)) return -1;
    int rc = elm_clean_run(&run, err);
    elm_run_close(&run);
    return rc;
}

const ElmCommand elm_cmd_clean = {
    .name = "clean",
    .summary = "clean tweets into <run>/clean.jsonl",
    .usage = "usage: elm clean CONFIG.ini\n\n"
             "Reads <run>/corpus.jsonl (from `elm ingest`) and writes <run>/clean.jsonl (one\n"
             "post per line: id, account, created_at, text) and <run>/clean.json (per-account\n"
             "counts kept and dropped by reason, entities found).\n\n"
             "[clean] keys, one action per entity (remove | keep; hashtags also word):\n"
             "  urls, mentions, hashtags, cashtags, emojis, smileys, reserved (RT, FAV), numbers;\n"
             "  html_entities (decode &amp; ...), min_chars, max_chars. Entities follow\n"
             "  twitter-text's rules (its conformance suite is a test). See docs/ingest.md.\n",
    .fn = run_clean,
};
