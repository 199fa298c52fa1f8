// steer.h — keyword steering at decode time (`[generate] keywords`, `keyword_bonus`): a
// bag-of-words logit bonus in the manner of PPLM's BoW attribute model (Dathathri et al. 2020),
// without its gradient step: no retraining, so it works with any model, conditioned or not.
// Used by generate.c's batches (the CPU path; the GPU path refuses keywords, gen_device.c).
//
// Each keyword w is encoded in four forms: "w", " w", and the same with its first letter
// upper-cased (ASCII), each a token sequence t_1..t_L. At each step, for every form whose first
// j tokens (0 <= j < L) are the last j tokens of the sampler's context, the logit of t_{j+1}
// gets +bonus (once per token, whatever the number of forms asking for it): a keyword is begun
// anywhere and, once begun, finished. The text's log-probabilities stay the raw model's
// (generate.h), so a steered text's mean_logprob is its cost under the unsteered model.
#ifndef ELM_STEER_H
#define ELM_STEER_H

#include "engine/base/error.h"
#include "tokenizer/bpe.h"

#include <stdint.h>

typedef struct ElmSteer {
    int n_forms;
    int32_t **ids; // (n_forms) each form's tokens
    int *len;      // (n_forms)
    float bonus;
    int n_keywords;
    char *spec; // the keywords as given, for the output lines
} ElmSteer;

// Parses `spec` (comma-separated keywords; "" = none: s->n_forms = 0) and encodes every form.
// An empty keyword, or one that encodes to no tokens, is one line naming generate.keywords.
int elm_steer_init(ElmSteer *s, const char *spec, float bonus, const ElmBpe *bpe, ElmError *err);
void elm_steer_free(ElmSteer *s);

// Adds the bonus to the logits of the next token of every keyword form in progress after ctx.
void elm_steer_apply(const ElmSteer *s, float *logits, int vocab, const int32_t *ctx, int n_ctx);
// The bonus elm_steer_apply gave tok after ctx (0 when none).
float elm_steer_bonus(const ElmSteer *s, const int32_t *ctx, int n_ctx, int32_t tok);

#endif
