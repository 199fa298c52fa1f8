// stories.h — the study's longer texts: `[generate] stories = N` story-mode texts, each
// prompted by the opening words of a tweet (generated, real, or the configured prompts).
#ifndef ELM_STORIES_H
#define ELM_STORIES_H

#include "engine/base/error.h"
#include "engine/config/run.h"
#include "engine/generate/generate.h"

// Reads [generate] stories into *count and the stories' own prompts into *out (empty when
// count is 0): the opening words of the most likely generated tweets or of seeded random real
// ones, or with story_prompts = config [generate]'s prompts (prompts, then prompts_file).
int elm_stories_prompts(ElmRun *run, long long *count, ElmGenPrompts *out, ElmError *err);

#endif
