// tokenize.h — the `elm tokenize` stage: <run>/clean.jsonl -> <run>/tokens/{train,val}.bin and
// <run>/tokens.json, training a vocabulary first when [tokenizer] train = true. Called by
// cmd_tokenize.c and `elm run`.
//
// [train] condition = account prefixes every document with a plain-text control header, the
// account's handle, "@" + account + ": " (e.g. "@ada_bakes: Loaf 112 came out flat..."), before it
// is encoded with the same vocabulary (so a pretrained GPT-2 can be fine-tuned on it); its
// tokens are trained on like the rest unless [train] header_loss = off: tokens/train.mask and
// tokens/val.mask (one byte a token, beside the shards' streams; 1 = a header token, one that
// ends within the header's bytes) are then what train.c leaves out of the loss. tokens.json then
// records "condition": "account" and "accounts" (documents per account), which generate's
// [generate] accounts is checked against (engine/generate/mix.h); otherwise "condition": "none".
#ifndef ELM_TOKENIZE_H
#define ELM_TOKENIZE_H

#include "engine/base/error.h"
#include "engine/config/run.h"

int elm_tokenize_run(ElmRun *run, ElmError *err);

// The vocabulary folder a run uses: <run>/tokenizer when [tokenizer] train = true, else
// [tokenizer] vocab resolved against the config file (error when unset).
int elm_tokenize_vocab_dir(const ElmRun *run, char *out, size_t cap, ElmError *err);

#endif
