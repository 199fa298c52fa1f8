// gen_device.h — the generate stage: `elm generate` on the device [generate] device names
// (cpu | cuda | auto), and `elm run`'s generate stage (the tweets, then the stories).
#ifndef ELM_GEN_DEVICE_H
#define ELM_GEN_DEVICE_H

#include "engine/base/error.h"
#include "engine/config/run.h"
#include "engine/generate/generate.h"

// [generate] count texts (mode from the config, or `mode` when >= 0, and count_override when
// >= 0), written to <run>/generated/tweets.jsonl (stories.jsonl in story mode) through a
// ".part" file: every batch is fsync'ed as it finishes (on the GPU, every batch_size lines, in
// index order), the file renamed into place at the end. Every prompt is checked first. A
// ".part" a killed run left with the same settings is resumed (gen_resume.h).
int elm_gen_device_run(ElmRun *run, int mode, long long count_override, ElmError *err);

// `elm run`'s generate stage: the tweets, then [generate] stories story-mode texts with their
// own prompts (stories.h; with none, an earlier run's stories.jsonl is removed).
int elm_gen_device_stage(ElmRun *run, ElmError *err);

#endif
