// generate.h — `elm generate`: prompts -> batches of sequences through the KV cache -> the
// sampler (sample.h) -> tweets or stories cut to their limits -> <run>/generated/*.jsonl.
// Called by gen_device.c (the generate stage), the batcher and train.c for its periodic samples.
//
// A text is its prompt followed by new tokens. The context fed to the model is
// [<|endoftext|>] + encode(prompt) (GPT-2's document start); the sampler's context (for the
// repetition penalty and no-repeat n-grams) is encode(prompt) + the new tokens. Sequence i of
// a run draws with elm_sample_uniform(seed, i, position), so its text does not depend on the
// batch it was sampled in. A sequence ends at <|endoftext|> (tweet mode, never as the first
// new token; story mode never samples it), at max_new_tokens, once the text passes max_chars
// characters, or when the model's context is full. Then the text is cut: tweet mode cuts a
// truncated text at its last word boundary within max_chars; story mode ends every text at its last
// sentence boundary within max_chars (a word boundary if it has none). Trailing white space is
// dropped, and so is leading white space of an unprompted text (its first token's space);
// invalid UTF-8 becomes U+FFFD.
#ifndef ELM_GENERATE_H
#define ELM_GENERATE_H

#include "engine/base/buf.h"
#include "engine/base/error.h"
#include "engine/model/gpt2.h"
#include "engine/config/run.h"
#include "engine/generate/sample.h"
#include "engine/generate/steer.h"
#include "tokenizer/bpe.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { ELM_GEN_TWEET, ELM_GEN_STORY } ElmGenMode;

// How the CPU puts the prompts of a batch (and of the slots the batcher refills) into the KV
// cache: all in one forward of packed rows (elm_gpt2_prefill_batch), or one prompt at a time
// ([generate] prefill = serial: the reference the batched prefill is tested and timed against).
typedef enum { ELM_GEN_PREFILL_BATCHED, ELM_GEN_PREFILL_SERIAL } ElmGenPrefill;

typedef struct ElmGenParams {
    ElmSampleParams sample;
    ElmGenMode mode;
    int max_new_tokens; // > 0 (tweets: max_new_tokens, stories: story_max_new_tokens)
    int max_chars;      // > 0, prompt included (tweets: max_chars, stories: story_max_chars)
    uint64_t seed;
    const ElmSteer *steer; // keyword steering (steer.h; NULL = none), borrowed
    ElmGenPrefill prefill; // CPU prefill (0 = batched, the default)
} ElmGenParams;

typedef struct ElmGenText {
    char *text;           // prompt + continuation after the cut, valid UTF-8, NUL-terminated
    int n_tokens;         // new tokens whose bytes are all inside text
    double mean_logprob;  // their mean log-probability under the raw model (0 when none)
    const char *stop;     // "eot", "max_tokens", "max_chars", "context" or "banned"
    const char *account;  // the account it was conditioned on (NULL = none), borrowed
    const char *keywords; // the keywords it was steered to (NULL = none), borrowed
    // An unconditioned text of a conditioned model: the account of the data's mix whose header
    // prompted it (mix.h's elm_gen_mix_pick_prior; NULL = none), borrowed.
    const char *prior_account;
    const char *topic;       // the topic it was conditioned on (NULL = none), borrowed
    const char *prior_topic; // a conditioned model's header topic not asked for, borrowed
} ElmGenText;

// The text one sequence builds while it is sampled (elm_generate_batch's sequences and the
// continuous batcher's slots): the prompt's bytes, then each new token's.
typedef struct ElmGenSeq {
    ElmBuf text; // the bytes so far, NUL-terminated
    size_t prompt_bytes, n_chars;
    size_t skip_bytes, skip_chars; // the leading control header (mix.h): context, not text
    size_t *tok_end;               // (max_new_tokens) byte end of each new token
    double *logprob;               // (max_new_tokens) raw-model log-probability of each new token
    int n_new, model_len;          // new tokens taken; tokens in the model's context
    const char *stop; // why it ended (ElmGenText's stop, or "oom"); NULL while it goes on
} ElmGenSeq;

// The stop rules of a sequence, one for elm_generate_batch and the batcher: takes the token
// sampled for s (tok < 0: nothing was left to sample) with its log-probability, and sets and
// returns s->stop (NULL: it goes on). In order: "banned" (tok < 0), "eot" (tok == eot; neither
// is taken into the text), "oom" (appending its bytes failed), then with the token taken
// "max_chars" (the text passed max_chars), "max_tokens" (n_new reached max_new_tokens),
// "context" (model_len passed ctx_cap).
const char *elm_generate_stop(ElmGenSeq *s, const ElmBpe *bpe, const ElmGenParams *p, int eot,
                              int ctx_cap, int32_t tok, double logprob);

// Samples one batch: texts for sequence indices index[0..n) continuing prompts[0..n)
// ("" = unconditional). Uses (and re-allocates as needed) m's KV cache. out[i].text is
// malloc'd (elm_gen_text_free).
int elm_generate_batch(ElmGpt2 *m, const ElmBpe *bpe, const ElmGenParams *p,
                       const char *const *prompts, const uint64_t *index, int n, ElmGenText *out,
                       ElmError *err);
void elm_gen_text_free(ElmGenText *t);
// Empties sequences seqs[0..n) (distinct) of m's cache and prefills each with its context
// ids[i] (len[i] >= 1 ids): all in one elm_gpt2_prefill_batch, or one elm_gpt2_prefill at a
// time for ELM_GEN_PREFILL_SERIAL. The logits after context i go to logits + i * V. Shared by
// elm_generate_batch and the batcher's CPU backend.
int elm_generate_prefill(ElmGpt2 *m, ElmGenPrefill how, int n, const int *seqs,
                         const int *const *ids, const int *len, float *logits, ElmError *err);
// The same, where the first skip[i] bytes of prompt i (skip NULL = none) are a control header
// (mix.h): the model is prompted with the whole prompt, but the header is not part of the text:
// it is cut off the output and does not count towards max_chars.
int elm_generate_batch_ex(ElmGpt2 *m, const ElmBpe *bpe, const ElmGenParams *p,
                          const char *const *prompts, const size_t *skip, const uint64_t *index,
                          int n, ElmGenText *out, ElmError *err);

// Cuts a finished text (bytes = prompt + new tokens; tok_end[k] = byte end of new token k) to
// its mode's limits and fills out: the text, the new tokens inside the cut and their mean
// log-probability. Shared by elm_generate_batch and the continuous batcher.
int elm_gen_finish(const ElmGenParams *p, const char *bytes, size_t n_bytes, size_t prompt_bytes,
                   const size_t *tok_end, const double *logprob, int n_new, const char *stop,
                   ElmGenText *out);

// Reads [generate] into p (resolving the mode's defaults; seed -1 = run.seed).
int elm_generate_params(const ElmRun *run, ElmGenParams *p, ElmError *err);
// Sets p's mode and its limits: tweets max_new_tokens / max_chars (0 = 96 / 280), stories
// story_max_new_tokens / story_max_chars (0 = 512 / 2000).
void elm_generate_set_mode(const ElmRun *run, ElmGenParams *p, ElmGenMode mode);

// The model folder generate reads: [generate] checkpoint, else the latest <run>/checkpoints.
int elm_generate_checkpoint_dir(const ElmRun *run, char *out, size_t cap, ElmError *err);

// The tokenizer's vocabulary folder (encoder.json + vocab.bpe) as elm_tokenize_vocab_dir
// names it, when it holds both files; -1 otherwise.
int elm_generate_vocab_dir(const ElmRun *run, char *out, size_t cap);

// Finds the BPE vocabulary for a model folder: the folder's own vocab.json + merges.txt (HF
// names, which train copies into every checkpoint), else encoder.json + vocab.bpe there,
// else the tokenizer's configured vocabulary. NULL + err when none is found.
ElmBpe *elm_generate_load_bpe(const ElmRun *run, const char *model_dir, ElmError *err);
// The two files elm_generate_load_bpe reads (vocabulary, merges), into vocab and merges.
int elm_generate_bpe_files(const ElmRun *run, const char *model_dir, char *vocab, char *merges,
                           size_t cap, ElmError *err);

// A run's prompts and where each came from, for messages: text i (0-based) continues prompt
// i mod n; messages number prompts from 1 and name where[i] ("generate.prompts",
// "<prompts_file> line N", a story's source).
typedef struct ElmGenPrompts {
    char **text, **where;
    int n, cap;
} ElmGenPrompts;

// generate.prompts then the non-empty lines of generate.prompts_file.
int elm_generate_load_prompts(const ElmRun *run, ElmGenPrompts *out, ElmError *err);
int elm_generate_prompts_add(ElmGenPrompts *pr, const char *text, const char *where, ElmError *err);
void elm_generate_prompts_free(ElmGenPrompts *pr);
// Checks every prompt before anything is written: its context ([<|endoftext|>] + its tokens)
// must fit below the model's n_ctx positions and it must have at most p->max_chars characters.
int elm_generate_check_prompts(const ElmGenPrompts *pr, const ElmBpe *bpe, const ElmGenParams *p,
                               int n_ctx, ElmError *err);

// One JSONL output line (the CPU and GPU runs write the same): index, seed, prompt, text, tokens,
// mean_logprob, stop, and "account" / "keywords" when the text was conditioned on them
// ("prior_account" for an unconditioned text of a conditioned model).
int elm_generate_write_line(FILE *f, const char *prompt, const ElmGenText *t, uint64_t index,
                            uint64_t seed);

#endif
