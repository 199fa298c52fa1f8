// fetch.h — `elm fetch`: the posts of the accounts in [fetch] source, from X's API v2, Bluesky's
// public AppView and Mastodon instances, into <run>/fetch/<platform>/<account>.jsonl (the schema
// ingest reads, docs/fetch.md), incrementally and crash-safely, with <run>/fetch/state.json.
#ifndef ELM_FETCH_H
#define ELM_FETCH_H

#include "engine/base/error.h"
#include "engine/config/run.h"

// The stage: every account of [fetch] source in order. Each page is appended and fsynced, then
// state.json records it, before the next page is asked for; a failed account's error (one line
// naming platform and account, and what was kept) comes back after the others were tried.
// With no [fetch] source it writes an empty state.json. libcurl must be usable (elm_http.h's
// elm_http_global_init, called by the CLI).
int elm_fetch_run(ElmRun *run, ElmError *err);

#endif
