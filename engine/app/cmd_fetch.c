// cmd_fetch.c — `elm fetch`: the posts of [fetch] source's accounts into <run>/fetch/.
// Registered in commands.c; the work is in engine/data/fetch*.c.
#include "engine/app/cli.h"
#include "engine/base/http.h"
#include "engine/data/fetch.h"

static int run_fetch(const ElmCli *cli, ElmError *err) {
    ElmRun run;
    if (elm_http_global_init(err)) return -1;
    int rc = elm_cli_open_run_writer(cli, &run, err);
    if (rc == 0) {
        char **items;
        if (elm_cfg_list(&run.cfg, "fetch.source", &items) <= 0)
            rc = elm_err(err,
                         "%s: [fetch] lists no source (add e.g. `source = bluesky : "
                         "name.bsky.social`)",
                         run.cfg.path[0] ? run.cfg.path : "config");
        else
            rc = elm_fetch_run(&run, err);
        elm_run_close(&run);
    }
    elm_http_global_cleanup();
    return rc;
}

const ElmCommand elm_cmd_fetch = {
    .name = "fetch",
    .summary = "get the posts of [fetch] source's accounts (X, Bluesky, Mastodon)",
    .usage =
        "usage: elm fetch CONFIG.ini [--set section.key=value]... [--quiet]\n\n"
        "Fetches, through each platform's official API, the posts of every account named by\n"
        "[fetch] source = PLATFORM : ACCOUNT (repeatable):\n"
        "  x : conan                          X API v2, a bearer token is needed\n"
        "  bluesky : conanobrien.bsky.social  Bluesky's public AppView, no key\n"
        "  mastodon : @user@mastodon.social   the instance's public API, no key\n"
        "into <run>/fetch/<platform>/<account>.jsonl, one post per line (id, created_at, text,\n"
        "lang, is_reply, is_repost, platform, account), which `elm ingest` reads beside\n"
        "[data] source; <run>/fetch/state.json records per account what was fetched and when.\n\n"
        "Incremental and crash-safe: a rerun asks only for posts newer than the file holds;\n"
        "every page is appended and fsynced before the next is asked for, so a killed fetch\n"
        "loses at most one page and a rerun continues where it stopped.\n\n"
        "The X token: $ELM_X_BEARER_TOKEN, or [fetch] token_file (mode 0600; a file others\n"
        "may read is refused). It is never written to a file or a message.\n\n"
        "[fetch] keys: source, max_posts (3200), since (YYYY-MM-DD), replies, reposts,\n"
        "x_api, bluesky_api, mastodon_api (base URLs; http:// only to loopback), token_file,\n"
        "retries, backoff, max_wait, timeout. Rate limits (x-rate-limit-*, Retry-After) are\n"
        "waited out. See docs/fetch.md.\n",
    .fn = run_fetch,
};
