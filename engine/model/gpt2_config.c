// gpt2_config.c — builds an ElmGpt2 from the [model] config section: preset or custom sizes,
// init = scratch (seeded random), an HF GPT-2 folder or hf:owner/name (hub.c). Called by `elm
// train` and `elm generate`.
#include "engine/model/gpt2.h"

#include "engine/model/hf.h"
#include "engine/model/hub.h"
#include "engine/model/layers.h"

#include <stdio.h>
#include <string.h>

int elm_gpt2_config_from_cfg(const ElmConfig *cfg, int tokenizer_vocab, ElmGpt2Config *out,
                             ElmError *err) {
    static const char *const presets[] = {"gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"};
    int preset = elm_cfg_enum(cfg, "model.preset");
    char where[256];
    if (preset < 4) {
        if (elm_gpt2_preset(presets[preset], out, err)) return -1;
    } else {
        out->n_layer = (int)elm_cfg_int(cfg, "model.n_layer");
        out->n_head = (int)elm_cfg_int(cfg, "model.n_head");
        out->n_embd = (int)elm_cfg_int(cfg, "model.n_embd");
        out->n_ctx = (int)elm_cfg_int(cfg, "model.n_ctx");
    }
    int vocab = (int)elm_cfg_int(cfg, "model.vocab_size");
    if (vocab == 0) vocab = tokenizer_vocab;
    if (vocab <= 0)
        return elm_err(err, "%s: vocab_size is 0 and no tokenizer vocabulary was given",
                       elm_cfg_where(cfg, "model.vocab_size", where, sizeof where));
    if (tokenizer_vocab > 0 && vocab < tokenizer_vocab)
        return elm_err(err, "%s: vocab_size %d is smaller than the tokenizer's %d",
                       elm_cfg_where(cfg, "model.vocab_size", where, sizeof where), vocab,
                       tokenizer_vocab);
    out->vocab_size = vocab;
    return elm_gpt2_config_check(out, elm_cfg_where(cfg, "model.preset", where, sizeof where), err);
}

int elm_gpt2_open_from_cfg(ElmGpt2 *m, const ElmConfig *cfg, int tokenizer_vocab, uint64_t seed,
                           int threads, int quiet, ElmError *err) {
    ElmGpt2Config want;
    memset(m, 0, sizeof *m);
    if (elm_gpt2_config_from_cfg(cfg, tokenizer_vocab, &want, err)) return -1;
    const char *init = elm_cfg_str(cfg, "model.init");
    if (strcmp(init, "scratch") == 0) {
        if (elm_gpt2_init(m, &want, err)) return -1;
        elm_gpt2_init_random(m, seed);
    } else {
        char dir[4096], where[256];
        if (elm_hub_is_ref(init)) {
            ElmHubOptions o;
            elm_hub_options_env(&o, quiet);
            if (elm_hub_fetch(init, &o, dir, sizeof dir, err)) {
                elm_err_prefix(err, "%s", elm_cfg_where(cfg, "model.init", where, sizeof where));
                return -1;
            }
        } else {
            elm_cfg_path(cfg, "model.init", dir, sizeof dir);
        }
        ElmGpt2Config have;
        if (elm_hf_read_config(dir, &have, err)) return -1;
        if (have.n_layer != want.n_layer || have.n_head != want.n_head ||
            have.n_embd != want.n_embd || have.n_ctx != want.n_ctx ||
            have.vocab_size != want.vocab_size)
            return elm_err(
                err,
                "%s: [model] init %s holds n_layer %d n_head %d n_embd %d n_ctx %d vocab %d "
                "but [model] asks for %d %d %d %d %d",
                elm_cfg_where(cfg, "model.init", where, sizeof where), dir, have.n_layer,
                have.n_head, have.n_embd, have.n_ctx, have.vocab_size, want.n_layer, want.n_head,
                want.n_embd, want.n_ctx, want.vocab_size);
        if (elm_hf_load(dir, m, err)) return -1;
    }
    m->threads = threads;
    m->use_blas = 0; // elm's loops measured faster than OpenBLAS (docs/model.md)
    return 0;
}

int elm_gpt2_decode_from_cfg(ElmGpt2 *m, const ElmConfig *cfg, ElmError *err) {
    m->kv_bf16 = elm_cfg_enum(cfg, "generate.kv_cache") == 1;
    return elm_gpt2_set_weights(m, elm_cfg_enum(cfg, "generate.weights"), err);
}
