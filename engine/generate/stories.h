// stories.h — the study's longer texts: `[generate] stories = N` story-mode texts, each
// prompted by the opening words of a tweet (generated, real, or the configured prompts).
#ifndef ELM_STORIES_H
#define ELM_STORIES_H

#include "engine/base/error.h"
#include "engine/config/run.h"

// Reads [generate] stories into *count and, unless story_prompts = config, sets the story
// prompts (generate.prompts) from the opening words of generated or real tweets.
int elm_stories_prompts(ElmRun *run, long long *count, ElmError *err);

#endif
