// train_zero.h — ZeRO-1 for data-parallel training on the CPU ([train] zero = 1 on several
// ranks): each rank keeps the AdamW moments of its shard of the parameters only. Used by train.c.
//
// A step: the gradients reduce-scattered (each rank gets the sum of its shard), the global norm
// from the shards' chunk sums of squares, the clip and AdamW on the rank's shard, then the
// parameters all-gathered. Shards are contiguous ranges of the flat parameters, cut at multiples
// of ELM_GPT2_NORM_CHUNK so that every chunk of the norm lies in one shard: the norm is
// elm_gpt2_grad_norm's sum, bit for bit, of the same gradients. Checkpoints keep state.bin's
// full moments (rank 0 gathers them), so they resume with or without ZeRO at any rank count.
#ifndef ELM_TRAIN_ZERO_H
#define ELM_TRAIN_ZERO_H

#include "engine/base/dist.h"
#include "engine/base/error.h"
#include "engine/model/gpt2.h"

#include <stddef.h>

typedef struct ElmTrainZero {
    ElmDist *dist;
    int rank, ranks;
    size_t n;       // parameters in all
    size_t *counts; // each rank's shard size (ranks)
    size_t lo, hi;  // this rank's shard [lo, hi)
    float *m, *v;   // its AdamW moments (hi - lo each)
    double *part;   // the norm's chunk sums of squares, every chunk's (ranks add theirs)
    size_t n_chunks;
} ElmTrainZero;

// Rank r's shard [*lo, *hi) of n parameters over `ranks`: the ceil(n / chunk) chunks of
// ELM_GPT2_NORM_CHUNK dealt out in contiguous runs, the first (chunks % ranks) one longer; the
// last chunk may be short, and ranks past the last chunk hold an empty shard.
void elm_train_zero_shard(size_t n, int ranks, int r, size_t *lo, size_t *hi);

// Takes this rank's shard of m's moments (m->adam_m/adam_v, as a checkpoint loaded them; zeros
// without) and frees m's full arrays.
int elm_train_zero_open(ElmTrainZero *z, ElmGpt2 *m, ElmDist *d, ElmError *err);
void elm_train_zero_close(ElmTrainZero *z);

// The step's gradient sum: this rank's shard of m's gradients becomes every rank's sum.
int elm_train_zero_reduce(ElmTrainZero *z, ElmGpt2 *m, ElmError *err);
// The global norm before clipping into *norm (the same on every rank), then the clip of the
// shard to max_norm (> 0).
int elm_train_zero_clip(ElmTrainZero *z, ElmGpt2 *m, float max_norm, float *norm, ElmError *err);
// AdamW on the shard, then every rank's shard of the parameters onto every rank.
int elm_train_zero_update(ElmTrainZero *z, ElmGpt2 *m, const ElmAdamW *opt, ElmError *err);
// Every rank's moments onto rank 0 for a checkpoint: there *am and *av (n floats each, free
// them); NULL elsewhere. A collective: every rank calls it.
int elm_train_zero_gather(ElmTrainZero *z, float **am, float **av, ElmError *err);
// The optimizer state this rank holds (the moments of its shard), in bytes.
size_t elm_train_zero_state_bytes(const ElmTrainZero *z);

#endif
