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
    // Topics (condition = account+topic): those asked for, as indices into topic_names.
    int n_topics;
    int *topic;
    double *topic_weight, topic_total;
    char **topic_names; // (n_topic_names) the data's topics by id (tokens.json "topics")
    double *topic_docs; // (n_topic_names) their training documents
    double *pairs;      // (n_known, n_topic_names) documents per account and topic
    int n_topic_names;
} ElmGenMix;

// What text `index` is conditioned on: the account and topic asked for (NULL = none asked) and,
// for a conditioned model, the header's account and topic drawn from the data when none was
// asked (prior_*; NULL otherwise). Strings are borrowed from the mix.
typedef struct ElmGenPick {
    const char *account, *topic, *prior_account, *prior_topic;
} ElmGenPick;

// Reads tokens.json's accounts and topics (when the run's tokens were conditioned) and parses
// `spec` (generate.accounts' value; "" = no mix) and `topics` (generate.topics'). Every account
// entry must be account:weight with an account of the data and a positive finite weight, every
// topic entry topic[:weight] with a topic of the data by name or id (weight 1 when left out),
// and none twice: otherwise one line naming the key and the bad entry. Nothing is read but
// <run>/tokens.json.
int elm_gen_mix_load(const ElmRun *run, const char *spec, const char *topics, ElmGenMix *out,
                     ElmError *err);
void elm_gen_mix_free(ElmGenMix *m);

// The account index (into m->account) of text `index` under `seed`; -1 when m is empty.
int elm_gen_mix_pick(const ElmGenMix *m, uint64_t seed, uint64_t index);

// The account (index into m->known) an unconditioned text of a conditioned model is prompted
// for: drawn from the data's own mix (documents per account) by a second Weyl sequence
// (offset from seed ^ "prior"), so an unconditioned run holds the data's shares. Sampling the
// header from the model instead would let temperature, top-k and top-p sharpen the accounts'
// prior towards the likeliest one. -1 when the model is not conditioned.
int elm_gen_mix_pick_prior(const ElmGenMix *m, uint64_t seed, uint64_t index);

// Text `index`'s account and topic: the asked account by the golden-ratio sequence above, the
// asked topic by its own Weyl sequence (step frac(sqrt 2) * 2^64, offset from seed ^ "topic", so
// the two are not locked together); a header account not asked for is drawn from the data by
// elm_gen_mix_pick_prior, or, when a topic was asked, from the data's accounts of that topic
// (documents per account and topic, same sequence); a header topic not asked for from the
// header account's topics in the data (offset from seed ^ "ptopic", step frac(sqrt 2)).
void elm_gen_mix_pick_text(const ElmGenMix *m, uint64_t seed, uint64_t index, ElmGenPick *out);

// The model prompt of a text for account `account` (and `topic`, NULL = none): the header
// "@<account>:" or "@<account> [<topic>]:" followed, when the user's prompt is not empty, by " "
// and the prompt (the training documents' form, "@<account>: <text>"). malloc'd; *skip receives
// the bytes that are header, not text.
char *elm_gen_mix_prompt(const char *account, const char *topic, const char *prompt, size_t *skip);

// The bytes of a leading "@<handle>:" or "@<handle> [<topic>]:" header (a handle: no white space
// or ':'; a topic: no ']' or ':'; and the white space after it) in text when the model was
// conditioned (m->n_known > 0), or 0: the header a conditioned model writes itself when it is not
// prompted with one (possibly a blend of handles).
size_t elm_gen_mix_own_header(const ElmGenMix *m, const char *text);

#endif
