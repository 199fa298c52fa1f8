// gen_device.h — the generate stage: `elm generate` on the device [generate] device names
// (cpu | cuda | auto) or on the CPUs of every rank, and `elm run`'s generate stage.
#ifndef ELM_GEN_DEVICE_H
#define ELM_GEN_DEVICE_H

#include "engine/base/dist.h"
#include "engine/base/error.h"
#include "engine/config/run.h"
#include "engine/generate/generate.h"

// [generate] count texts (mode from the config, or `mode` when >= 0, and count_override when
// >= 0), written to <run>/generated/tweets.jsonl (stories.jsonl in story mode) through a
// ".part" file: every batch is fsync'ed as it finishes (on the GPU, every batch_size lines, in
// index order), the file renamed into place at the end. Every prompt is checked first. A
// ".part" a killed run left with the same settings is resumed (gen_resume.h).
// With dist of several ranks (NULL = alone): on the CPU, the batches spread over the ranks, the
// output byte for byte one process's; rank 0 alone reads and writes the ".part" and the output.
int elm_gen_device_run(ElmRun *run, int mode, long long count_override, ElmDist *dist,
                       ElmError *err);

// For elm_cli_open_run_writer_dist_check: several ranks sample on the CPU only.
int elm_gen_device_check_ranks(const ElmConfig *cfg, int ranks, ElmError *err);

// `elm run`'s generate stage: the tweets, then [generate] stories story-mode texts with their
// own prompts (stories.h; with none, an earlier run's stories.jsonl is removed).
int elm_gen_device_stage(ElmRun *run, ElmError *err);
// The same on every rank of dist (the batches spread as in elm_gen_device_run).
int elm_gen_device_stage_dist(ElmRun *run, ElmDist *dist, ElmError *err);

#endif
