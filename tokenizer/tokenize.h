// tokenize.h — the `elm tokenize` stage: <run>/clean.jsonl -> <run>/tokens/{train,val}.bin and
// <run>/tokens.json, training a vocabulary first when [tokenizer] train = true. Called by
// cmd_tokenize.c and `elm run`.
#ifndef ELM_TOKENIZE_H
#define ELM_TOKENIZE_H

#include "engine/base/error.h"
#include "engine/config/run.h"

int elm_tokenize_run(ElmRun *run, ElmError *err);

// The vocabulary folder a run uses: <run>/tokenizer when [tokenizer] train = true, else
// [tokenizer] vocab resolved against the config file (error when unset).
int elm_tokenize_vocab_dir(const ElmRun *run, char *out, size_t cap, ElmError *err);

#endif
