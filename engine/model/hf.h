// hf.h — Hugging Face GPT-2 folders in and out: config.json + model.safetensors (or a sharded
// model.safetensors.index.json).
//
// Names and layouts are transformers' GPT2LMHeadModel: transformer.wte.weight (V, C),
// transformer.wpe.weight (n_positions, C), transformer.h.N.{ln_1,ln_2}.{weight,bias},
// transformer.h.N.attn.c_attn.weight [C, 3C] and .c_proj.weight [C, C], transformer.h.N.mlp.
// c_fc.weight [C, 4C] and .c_proj.weight [4C, C] (Conv1D: [in, out], transposed to elm's
// (OC, C) on load and back on save), transformer.ln_f.{weight,bias}. lm_head.weight is tied to
// wte and not saved. Loading also accepts names without the "transformer." prefix, F16/BF16
// data, and skips the attn.bias / attn.masked_bias buffers of old checkpoints. Saving writes
// F32 in a fixed order, so saving the same model twice gives identical bytes.
#ifndef ELM_HF_H
#define ELM_HF_H

#include "engine/base/error.h"
#include "engine/model/gpt2.h"

#ifdef __cplusplus
extern "C" {
#endif

// One HF tensor of a config: its name, its HF shape, and where it lives in elm's parameters.
typedef struct ElmHfParam {
    char name[96];  // "transformer.h.3.attn.c_attn.weight"
    int rank;       // 1 or 2
    int shape[2];   // HF shape ([in, out] for Conv1D weights)
    size_t offset;  // elements from params_memory (or grads_memory) of the elm tensor slice
    int transposed; // 1: HF [in, out] = elm (out, in) transposed
} ElmHfParam;

// Number of HF tensors for a config (4 + 12 * n_layer + 2 ... = 12 L + 4).
int elm_hf_param_count(const ElmGpt2Config *cfg);
// The k-th HF tensor (0 <= k < count), in the order elm saves them.
void elm_hf_param(const ElmGpt2Config *cfg, int k, ElmHfParam *p);

// Copies elm's tensor slice src (at p->offset of a params-shaped buffer) into dst in HF layout,
// and back. Used for weights, gradients and optimizer moments alike.
void elm_hf_to_hf(const ElmHfParam *p, const float *params_memory, float *dst);
void elm_hf_from_hf(const ElmHfParam *p, const float *src, float *params_memory);

// Reads DIR/config.json (n_layer, n_head, n_embd, n_positions or n_ctx, vocab_size,
// layer_norm_epsilon which must be 1e-5, activation_function gelu_new if present).
int elm_hf_read_config(const char *dir, ElmGpt2Config *cfg, ElmError *err);
// Writes DIR/config.json (atomically) for cfg, in a fixed key order; bos/eos_token_id are
// 50256 (GPT-2's <|endoftext|>), or vocab_size - 1 for a smaller vocabulary.
int elm_hf_write_config(const char *dir, const ElmGpt2Config *cfg, ElmError *err);
// The same with bos/eos_token_id = eot (the <|endoftext|> id of the folder's vocabulary).
int elm_hf_write_config_eot(const char *dir, const ElmGpt2Config *cfg, int eot, ElmError *err);

// Loads the weights of DIR into m, whose config must match the folder's tensors (a shape that
// disagrees is an error naming the file, the tensor and both shapes); every tensor must be
// present. Reads model.safetensors, or the shards listed by model.safetensors.index.json.
int elm_hf_load_weights(const char *dir, ElmGpt2 *m, ElmError *err);
// elm_hf_read_config + elm_gpt2_init + elm_hf_load_weights (m is freed on failure).
int elm_hf_load(const char *dir, ElmGpt2 *m, ElmError *err);
// Creates DIR and writes model.safetensors (F32) + config.json, each atomically.
int elm_hf_save(const char *dir, const ElmGpt2 *m, ElmError *err);

// The tokenizer half of the folder, as transformers saves it for GPT-2, so that
// GPT2TokenizerFast.from_pretrained(DIR) loads it: copies vocab_json and merges_txt (GPT-2's
// byte-level BPE files) to DIR/vocab.json + merges.txt, and writes tokenizer_config.json
// (GPT2Tokenizer, <|endoftext|> = id eot as bos/eos/unk, model_max_length = n_ctx),
// special_tokens_map.json, generation_config.json and config.json with bos/eos = eot, each
// atomically. The files are copied as they are: the caller checks them.
int elm_hf_save_tokenizer(const char *dir, const ElmGpt2Config *cfg, const char *vocab_json,
                          const char *merges_txt, int eot, ElmError *err);

#ifdef __cplusplus
}
#endif

#endif
