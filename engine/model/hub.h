// hub.h — GPT-2 weights from the Hugging Face Hub: "hf:owner/name" to a folder in elm's cache,
// for `elm import hf:...` and [model] init = hf:....
//
// The folder is <cache>/hub/owner--name/<revision>/ (cache = $ELM_CACHE, else ~/.cache/elm) and
// holds what hf.c reads: config.json, model.safetensors (or model.safetensors.index.json and
// the shards it lists) and, when the repo has them, vocab.json + merges.txt. Each file comes from
// <endpoint>/owner/name/resolve/<revision>/<file> ($HF_ENDPOINT, else https://huggingface.co,
// as huggingface_hub reads it) into <file>.part, resumed with an HTTP Range from the part's
// size after an interruption, checked against the sha256 the Hub sends for LFS files
// (X-Linked-Etag, else ETag), and renamed into place; a file whose sha256 disagrees is removed.
// $HF_TOKEN goes as "Authorization: Bearer" to the endpoint's host only, and into no message
// or file. A folder completed once (hub.json written last) is used without the network.
#ifndef ELM_HUB_H
#define ELM_HUB_H

#include "engine/base/error.h"

#include <stddef.h>

typedef struct ElmHubOptions {
    const char *endpoint; // the Hub's base URL (https://, or http:// to loopback only)
    char cache[4096];     // the cache root; the folder is <cache>/hub/owner--name/<revision>
    const char *token;    // NULL or "": no Authorization header
    const char *revision; // "main"
    int quiet;            // no progress lines
} ElmHubOptions;

// The options from the environment: $HF_ENDPOINT, $ELM_CACHE (else $HOME/.cache/elm),
// $HF_TOKEN, revision "main". The pointers point into the environment or string literals.
void elm_hub_options_env(ElmHubOptions *o, int quiet);

// 1 when s is a Hub reference ("hf:" followed by anything); elm_hub_fetch checks the name.
int elm_hub_is_ref(const char *s);

// Makes sure the cache folder of ref ("hf:owner/name" or "hf:name") holds a complete model,
// downloading what is missing, and writes the folder's path to dir. A file the Hub does not
// have (404), a refused token (401/403), a transfer that stops (a reset, a timeout, a stall of
// 60 s: retried from where it stopped 3 times, 1, 2 and 4 s apart; then what arrived stays in
// <file>.part for the next call) or a sha256 mismatch is one line naming the repo and the file.
int elm_hub_fetch(const char *ref, const ElmHubOptions *o, char *dir, size_t cap, ElmError *err);

#endif
