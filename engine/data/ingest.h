// ingest.h — `elm ingest`: reads the tweet archives listed in [data] source (twint CSV, X
// archive tweets.js, JSON arrays, JSON Lines, plain text; any of them gzip-compressed), filters
// and de-duplicates them, and writes <run>/corpus.jsonl and <run>/ingest.json. Called by
// cmd_ingest.c.
#ifndef ELM_INGEST_H
#define ELM_INGEST_H

#include "engine/base/error.h"
#include "engine/config/run.h"

// Runs the whole stage for the run's config. Outputs are written atomically: on failure no
// output file is created or changed.
int elm_ingest_run(ElmRun *run, ElmError *err);

#endif
