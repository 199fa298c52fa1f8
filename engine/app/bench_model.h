// bench_model.h — `elm bench`'s model parts: train (optimizer steps of the [model] and [train]
// config, on the device [train] names) and decode (greedy KV-cache tokens/s on the CPU).
#ifndef ELM_BENCH_MODEL_H
#define ELM_BENCH_MODEL_H

#include "engine/config/run.h"

#include <cjson/cJSON.h>

// Runs `warmup` untimed then `repeat` timed optimizer steps (zero grad, grad_accum forward +
// backward micro-batches of batch_size x seq_len, clip, AdamW) of a model built from [model]
// on the run's token shards (random ids when there are none), writing nothing; fills `out`
// with the device, sizes, median/min seconds a step, tokens/s and peak memory.
int elm_bench_train(ElmRun *run, int repeat, int warmup, cJSON *out, ElmError *err);
// [generate] batch_size sequences of a 16-token prompt then max_new_tokens greedy tokens
// through the KV cache, on the CPU: median new tokens/s over `repeat` runs.
int elm_bench_decode(ElmRun *run, int repeat, int warmup, cJSON *out, ElmError *err);

#endif
