// checkpoint.h — training checkpoints: <run>/checkpoints/step_N/ holding an HF GPT-2 folder
// (model.safetensors + config.json) and state.bin (AdamW moments, step, data position).
// Called by train.c (save, resume) and generate.c (find the latest).
//
// state.bin, little-endian, a 128-byte header then the moments:
//    0  char[8]  magic "ELMSTATE"
//    8  u32      version (1)
//   12  u32      header bytes (128)
//   16  u64      step: optimizer steps completed
//   24  u64      adam_t: AdamW bias-correction step count
//   32  u64      n_params: floats in each of m and v
//   40  u64      seed: the data-order seed
//   48  u64      epoch: data position, epoch (0-based)
//   56  u64      cursor: data position, windows consumed in that epoch
//   64  u32      batch_size B, 68 u32 seq_len T, 72 u32 grad_accum
//   76  u32      vocab_size of the model (a cheap shape check before the moments)
//   80  u64      tokens_seen (training tokens consumed so far)
//   88  u8[32]   zero
//  120  u64      checksum: FNV-1a 64 (elm_hash_fnv1a from ELM_HASH_FNV_OFFSET) of bytes [0, 120)
//  then of the data 128  f32      m[n_params], then f32 v[n_params], in ElmGpt2's flat parameter
//  order
// The file is exactly 128 + 8 * n_params bytes.
#ifndef ELM_CHECKPOINT_H
#define ELM_CHECKPOINT_H

#include "engine/base/error.h"

#include <stddef.h>
#include <stdint.h>

#define ELM_STATE_MAGIC "ELMSTATE"
#define ELM_STATE_VERSION 1u
#define ELM_STATE_HEADER_BYTES 128

typedef struct ElmTrainState {
    uint64_t step, adam_t, n_params, seed, epoch, cursor, tokens_seen;
    uint32_t batch_size, seq_len, grad_accum, vocab_size;
} ElmTrainState;

// Writes state.bin atomically: header + m and v (n_params floats each; both may be NULL
// before the first step, then zeros are written).
int elm_checkpoint_state_write(const char *path, const ElmTrainState *st, const float *m,
                               const float *v, ElmError *err);
// Reads and checks state.bin (magic, version, size, checksum). *m and *v are malloc'd
// (n_params floats each; caller frees).
int elm_checkpoint_state_read(const char *path, ElmTrainState *st, float **m, float **v,
                              ElmError *err);

// "<run>/checkpoints" into out.
void elm_checkpoint_root(const char *run_dir, char *out, size_t cap);
// The highest N with a complete <root>/step_N (a folder holding model.safetensors), or -1.
long long elm_checkpoint_latest(const char *root, char *dir_out, size_t cap);
// All step numbers of complete checkpoints, ascending; *steps is malloc'd. Returns the count.
int elm_checkpoint_list(const char *root, long long **steps, ElmError *err);
// Makes <root>/.step_N.tmp empty and returns its path, for the writer to fill.
int elm_checkpoint_begin(const char *root, long long step, char *tmp_out, size_t cap,
                         ElmError *err);
// Renames the filled temporary folder to <root>/step_N (replacing one already there) and
// fsyncs <root>; then elm_checkpoint_tidy (keep_step = N).
int elm_checkpoint_commit(const char *root, long long step, const char *tmp, int keep_last,
                          char *dir_out, size_t cap, ElmError *err);
// Clears what a kill can leave in <root> (an uncommitted .step_N.tmp, a half-removed checkpoint,
// a replaced one not yet removed, which is put back when its successor never landed), then
// removes all but the newest keep_last complete checkpoints (0 = keep all; never keep_step).
// Removing a checkpoint renames it to .step_N.del first, so no step_N is ever half there.
int elm_checkpoint_tidy(const char *root, int keep_last, long long keep_step, ElmError *err);

#endif
