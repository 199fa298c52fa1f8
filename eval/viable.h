// viable.h — the study's result: generated tweets the tuned classifier calls real, kept only if
// they are not near-copies of training tweets nor of each other. Run by `elm run` after topics.
#ifndef ELM_VIABLE_H
#define ELM_VIABLE_H

#include "engine/base/error.h"
#include "engine/config/run.h"

// Reads <run>/validate/viable.jsonl (ranked candidates) and <run>/clean.jsonl (training
// tweets); writes <run>/viable.jsonl (kept, with scores) and <run>/viable.json (counts).
int elm_viable_run(ElmRun *run, ElmError *err);

#endif
