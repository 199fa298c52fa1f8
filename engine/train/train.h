// train.h — `elm train`'s loop: token shards in, AdamW steps with warmup + decay, clipping and
// gradient accumulation (data parallel over MPI ranks), eval and samples, checkpoints out.
// Called by cmd_train.c and `elm run`. Formats: docs/train.md, checkpoint.h; ranks: distributed.md.
#ifndef ELM_TRAIN_H
#define ELM_TRAIN_H

#include "engine/base/dist.h"
#include "engine/base/error.h"
#include "engine/model/gpt2.h"
#include "engine/config/run.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ElmTrainOptions {
    int resume;              // continue from a checkpoint instead of starting over
    const char *resume_from; // that checkpoint folder (NULL = the latest under <run>/checkpoints)
    // Set (to non-zero) by a signal handler in the CLI: the loop finishes the step under way,
    // saves a checkpoint and returns 0 with result->stopped = 1. May be NULL.
    volatile sig_atomic_t *stop;
    // Called with each sample taken every train.sample_every steps (may be NULL).
    void (*on_sample)(void *ctx, long long step, const char *text);
    void *ctx;
    // The job's ranks (NULL: one process). Every rank draws each micro-batch whole, in the
    // same order as one process, and trains on its rows [r B/N, (r+1) B/N); the gradients are
    // summed over the ranks before the clip, so every rank takes the same AdamW step. Rank 0
    // alone writes the log and the checkpoints, evaluates and samples.
    ElmDist *dist;
} ElmTrainOptions;

typedef struct ElmTrainResult {
    long long first_step;  // steps already done when this call started (0 unless resumed)
    long long step;        // steps done when it returned
    long long total;       // steps the run is set to take
    int stopped;           // 1 when *stop ended it early
    float loss;            // training loss of the last step (NAN when no step ran)
    float val_loss;        // last validation loss (NAN when none)
    char checkpoint[4096]; // the last checkpoint written ("" when none)
} ElmTrainResult;

// Trains as [train] and [model] say, starting over (an existing <run>/checkpoints is an
// error then) or resuming exactly (same per-step losses as an uninterrupted run with the
// same threads). A non-finite loss or gradient norm stops with an error before the update,
// so the last checkpoint is the last good state.
int elm_train_run_with(ElmRun *run, const ElmTrainOptions *opts, ElmTrainResult *result,
                       ElmError *err);
// The same with default options (no resume, no stop flag).
int elm_train_run(ElmRun *run, ElmError *err);

// Whether [train] can run on `ranks` ranks: batch_size divisible by them, and the CPU (a job
// of several ranks does not train on GPUs yet). One line naming the key otherwise.
int elm_train_check_ranks(const ElmConfig *cfg, int ranks, ElmError *err);

// What `elm train` and `elm bench` read alike from [train]: the token shards' folder
// (train.data, else <run>/tokens) into dir, and the AdamW settings (lr = train.lr, the peak)
// with the clipping norm train.grad_clip.
void elm_train_data_dir(const ElmRun *run, char *dir, size_t cap);
void elm_train_adamw_from_cfg(const ElmConfig *cfg, ElmAdamW *opt, float *clip);

// The learning rate of step s (0-based) of a run of `total` steps: linear warmup
// lr * (s + 1) / warmup for s < warmup, then by schedule with d = (s - warmup) /
// (total - warmup): cosine min_lr + (lr - min_lr) * (1 + cos(pi d)) / 2, linear
// lr - (lr - min_lr) * d, constant lr.
typedef enum { ELM_SCHED_COSINE, ELM_SCHED_LINEAR, ELM_SCHED_CONSTANT } ElmSchedule;
float elm_train_lr(ElmSchedule sched, float lr, float min_lr, long long warmup, long long total,
                   long long s);

// The data order: the shard's windows of T + 1 tokens (window w starts at token w * T) in the
// order of a Fisher-Yates shuffle driven by splitmix64 from (seed, epoch). Fills perm (W).
void elm_train_epoch_order(uint32_t *perm, size_t n_windows, uint64_t seed, uint64_t epoch);

#endif
