// gen_resume.h — what a rerun of generate keeps of the "<out>.part" a killed run left behind.
// Called by gen_device.c (both devices, `elm generate` and `elm run`'s generate stage).
//
// A text is a function of the seed, its index, its prompt and the model (generate.h), and on the
// CPU of the batch it was sampled in (the gemm's rounding depends on its rows). So a run records
// the fingerprint of everything its texts depend on in "<out>.part.json" before it writes the
// ".part", and a rerun whose fingerprint is the same keeps the finished lines (indices 0, 1, ...
// in order, each a whole JSON line; a torn last line and anything after a damaged one go) and
// generates the rest. Any other ".part" is discarded.
#ifndef ELM_GEN_RESUME_H
#define ELM_GEN_RESUME_H

#include "engine/base/error.h"
#include "engine/base/fsutil.h"
#include "engine/generate/generate.h"

// What a run's texts depend on, besides the sampling settings and the prompts: the model
// folder's config.json and *.safetensors (with any shard index), the two vocabulary files, and
// `settings`, a line the caller composes (device, batch, count, threads, matmul...).
typedef struct ElmGenResumeKey {
    const char *model_dir;
    const char *vocab[2];
    const ElmGenParams *params;
    const ElmGenPrompts *prompts;
    const char *settings;
} ElmGenResumeKey;

// The fingerprint of key, as 16 hex digits (the model's and vocabulary's files are read).
int elm_gen_resume_fingerprint(const ElmGenResumeKey *key, char hex[17], ElmError *err);

// Opens the output `path` through its ".part": when "<path>.part.json" records the fingerprint
// hex, the ".part" keeps its first finished lines (at most count; *kept of them) and is reopened
// to append after them; otherwise both are replaced (the side file first names hex, then an
// empty ".part" is begun, *kept = 0). `settings` is recorded beside the fingerprint, for people.
int elm_gen_resume_open(ElmAtomicFile *o, const char *path, const char *hex, const char *settings,
                        long long count, long long *kept, ElmError *err);

// After the ".part" was renamed into place: its side file goes.
void elm_gen_resume_close(const char *path);

#endif
