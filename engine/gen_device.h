// gen_device.h — where `elm generate` samples ([generate] device = cpu | cuda | auto) and the
// GPU run: continuous batching (batcher.h) over the CUDA backend. Called by generate.c.
#ifndef ELM_GEN_DEVICE_H
#define ELM_GEN_DEVICE_H

#include "error.h"
#include "generate.h"
#include "run.h"

// device is generate.device's enum index (0 cpu, 1 cuda, 2 auto). Returns 1 for the GPU, 0 for
// the CPU, -1 (err filled) for cuda in a build or on a machine without a usable GPU.
int elm_gen_device_pick(int device, ElmError *err);

// The GPU run of `elm generate`: count texts with parameters p, [generate] batch_size slots,
// written to <run>/generated/tweets.jsonl (stories.jsonl) through a ".part" file: lines in
// index order as texts finish, flushed and fsync'ed every batch_size lines (a crash loses at
// most the texts in flight), renamed into place at the end. Progress: texts/s, ETA, tok/s.
int elm_generate_run_cuda(ElmRun *run, const ElmGenParams *p, long long count, ElmError *err);

#endif
