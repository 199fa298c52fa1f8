// mix.h — the personal mix of `[generate] accounts = ada_bakes:3, orbit_otto:1`: parsing and
// checking it against the accounts a conditioned model was trained on (tokens.json, see
// tokenizer/tokenize.h), each text's account as a function of (seed, index), and the control
// header that prompts it. Used by gen_device.c.
//
// Text i draws its account from the golden-ratio (Weyl) sequence u_i = frac(o + i * phi^-1),
// o = elm_rng_mix(seed ^ "mix") / 2^64, by the cumulative weights: a function of (seed, index)
// only, so texts do not depend on the batch or thread count, and any n consecutive texts hold
// each account's share to within O(log n / n) (far closer than independent draws).
#ifndef ELM_MIX_H
#define ELM_MIX_H

#include "engine/base/error.h"
#include "engine/config/run.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ElmGenMix {
    int n;              // accounts in the mix (0 = unconditioned)
    char **account;     // (n) in the order given
    double *weight;     // (n) > 0
    double total;       // sum of the weights
    char **known;       // (n_known) the accounts the model was trained on (tokens.json)
    double *known_docs; // (n_known) their training documents
    int n_known;
} ElmGenMix;

// Reads tokens.json's accounts (when the run's tokens were conditioned) and parses `spec`
// (generate.accounts' value; "" = no mix). Every entry must be account:weight with an account
// of the data and a positive finite weight, and no account twice: otherwise one line naming
// generate.accounts and the bad entry. Nothing is read but <run>/tokens.json.
int elm_gen_mix_load(const ElmRun *run, const char *spec, ElmGenMix *out, ElmError *err);
void elm_gen_mix_free(ElmGenMix *m);

// The account index (into m->account) of text `index` under `seed`; -1 when m is empty.
int elm_gen_mix_pick(const ElmGenMix *m, uint64_t seed, uint64_t index);

// The account (index into m->known) an unconditioned text of a conditioned model is prompted
// for: drawn from the data's own mix (documents per account) by a second Weyl sequence
// (offset from seed ^ "prior"), so an unconditioned run holds the data's shares. Sampling the
// header from the model instead would let temperature, top-k and top-p sharpen the accounts'
// prior towards the likeliest one. -1 when the model is not conditioned.
int elm_gen_mix_pick_prior(const ElmGenMix *m, uint64_t seed, uint64_t index);

// The model prompt of a text for account `account`: the header "@<account>:" followed, when
// the user's prompt is not empty, by " " and the prompt (the training documents' form,
// "@<account>: <text>"). malloc'd; *skip receives the bytes that are header, not text.
char *elm_gen_mix_prompt(const char *account, const char *prompt, size_t *skip);

// The bytes of a leading "@<handle>:" header (a handle: no white space or ':'; and the white
// space after it) in text when the model was conditioned (m->n_known > 0), or 0: the header a
// conditioned model writes itself when it is not prompted with one (possibly a blend of handles).
size_t elm_gen_mix_own_header(const ElmGenMix *m, const char *text);

#endif
