// stories.h — the study's longer texts: `[generate] stories = N` story-mode texts, each
// prompted by the opening words of a tweet (generated, real, or the configured prompts).
#ifndef ELM_STORIES_H
#define ELM_STORIES_H

#include "error.h"
#include "run.h"

// Picks the prompts and writes <run>/generated/stories.jsonl (nothing when stories = 0).
int elm_stories_run(ElmRun *run, ElmError *err);

// The generate stage of `elm run`: the tweets, then the stories.
int elm_generate_stage(ElmRun *run, ElmError *err);

#endif
