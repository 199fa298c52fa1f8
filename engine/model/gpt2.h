// gpt2.h — ElmGpt2: GPT-2 on the CPU in fp32: parameters, forward/backward, AdamW, KV-cache
// decoding.
//
// Memory: parameters live in ONE buffer carved into the 16 tensors of ElmGpt2Params by a size
// table in llm.c's order; gradients and the AdamW moments mirror it element for element
// (so a flat index means the same scalar in params_memory, grads_memory, adam_m, adam_v).
// Activations are one buffer sized for the (B, T) of the last forward (grown on demand).
// Linear weights are (OC, C) — see layers.h; hf.h converts from/to Hugging Face's layout.
#ifndef ELM_GPT2_H
#define ELM_GPT2_H

#include "engine/config/config.h"
#include "engine/base/error.h"
#include "engine/model/qmatmul.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ElmGpt2Config {
    int n_layer;    // L
    int n_head;     // NH
    int n_embd;     // C (divisible by NH)
    int n_ctx;      // maxT: positions (HF n_positions)
    int vocab_size; // V (no padding)
} ElmGpt2Config;

// Fills cfg from a preset name: "gpt2" (124M: 12/12/768), "gpt2-medium" (355M: 24/16/1024),
// "gpt2-large" (774M: 36/20/1280), "gpt2-xl" (1558M: 48/25/1600); n_ctx 1024, vocab 50257.
int elm_gpt2_preset(const char *name, ElmGpt2Config *cfg, ElmError *err);
// Checks ranges (all > 0, n_embd % n_head == 0); `what` names the source in the message.
int elm_gpt2_config_check(const ElmGpt2Config *cfg, const char *what, ElmError *err);

#define ELM_GPT2_NUM_TENSORS 16

// The parameter tensors, llm.c order. L = n_layer, C = n_embd, V = vocab, maxT = n_ctx.
typedef struct ElmGpt2Params {
    float *wte;      // (V, C)    token embedding, also the tied LM head
    float *wpe;      // (maxT, C) position embedding
    float *ln1w;     // (L, C)
    float *ln1b;     // (L, C)
    float *qkvw;     // (L, 3C, C)  HF attn.c_attn.weight transposed
    float *qkvb;     // (L, 3C)
    float *attprojw; // (L, C, C)   HF attn.c_proj.weight transposed
    float *attprojb; // (L, C)
    float *ln2w;     // (L, C)
    float *ln2b;     // (L, C)
    float *fcw;      // (L, 4C, C)  HF mlp.c_fc.weight transposed
    float *fcb;      // (L, 4C)
    float *fcprojw;  // (L, C, 4C)  HF mlp.c_proj.weight transposed
    float *fcprojb;  // (L, C)
    float *lnfw;     // (C)
    float *lnfb;     // (C)
} ElmGpt2Params;

// Name, rank and shape of parameter tensor i (0..15) for a config; shape has rank entries
// (the leading L of per-layer tensors included). Names are llm.c's ("wte", "qkvw", ...).
typedef struct ElmGpt2TensorInfo {
    const char *name;
    int rank; // 1, 2 or 3 (per-layer tensors carry the leading L)
    int shape[3];
    size_t size;   // elements
    size_t offset; // elements from params_memory
    int decay;     // 1 when AdamW's weight decay applies (the tensor per layer has >= 2 dims)
} ElmGpt2TensorInfo;
void elm_gpt2_tensor_info(const ElmGpt2Config *cfg, int i, ElmGpt2TensorInfo *info);

// Activations of one forward pass for (B, T); NH = n_head.
typedef struct ElmGpt2Acts {
    float *encoded;   // (B, T, C)
    float *ln1;       // (L, B, T, C)
    float *ln1_mean;  // (L, B, T)
    float *ln1_rstd;  // (L, B, T)
    float *qkv;       // (L, B, T, 3C)
    float *atty;      // (L, B, T, C)
    float *att;       // (L, B, NH, T, T)
    float *attproj;   // (L, B, T, C)
    float *residual2; // (L, B, T, C)
    float *ln2;       // (L, B, T, C)
    float *ln2_mean;  // (L, B, T)
    float *ln2_rstd;  // (L, B, T)
    float *fch;       // (L, B, T, 4C)
    float *fch_gelu;  // (L, B, T, 4C)
    float *fcproj;    // (L, B, T, C)
    float *residual3; // (L, B, T, C)
    float *lnf;       // (B, T, C)
    float *lnf_mean;  // (B, T)
    float *lnf_rstd;  // (B, T)
    float *logits;    // (B, T, V)
    float *probs;     // (B, T, V)  softmax, only with targets
    float *losses;    // (B, T)
} ElmGpt2Acts;
#define ELM_GPT2_NUM_ACTS 22

// AdamW hyper-parameters for one step (the train loop passes the scheduled lr).
typedef struct ElmAdamW {
    float lr;
    float beta1, beta2;
    float eps;
    float weight_decay; // decoupled; applied only to tensors with decay = 1
} ElmAdamW;

// The matrix products of elm_gpt2_forward/backward: fp32, or bf16 factors with fp32 sums (the
// parameters, gradients and AdamW stay fp32). bf16 wins over use_blas.
enum { ELM_GPT2_FP32 = 0, ELM_GPT2_BF16 = 1 };

typedef struct ElmGpt2 {
    ElmGpt2Config config;
    int threads;   // OpenMP threads for every call (0 = leave the OpenMP default alone)
    int use_blas;  // 1 = cblas_sgemm for the matrix products (when built with one); default 0
    int precision; // ELM_GPT2_FP32 (default) or ELM_GPT2_BF16: the matrix products of forward and
                   // backward (bf16 factors, fp32 sums; [train] precision = bf16 on the CPU)

    ElmGpt2Params params;
    float *params_memory;
    size_t num_parameters;
    ElmGpt2Params grads; // allocated by elm_gpt2_alloc_grads / the first backward
    float *grads_memory;

    float *adam_m, *adam_v; // AdamW moments (num_parameters each), allocated by the first step
    long long adam_t;       // AdamW steps taken (bias correction); save/restore it to resume

    // Activations for (B, T) of the last forward, and gradient buffers the backward uses:
    // grad_acts has the same names but ONE layer's worth (reused for every layer) and no
    // logits/probs (the logits' gradient overwrites acts.probs).
    ElmGpt2Acts acts, grad_acts;
    float *acts_memory, *grad_acts_memory;
    size_t acts_capacity, grad_acts_capacity; // floats allocated
    int B, T;
    int *inputs, *targets; // copies of the last forward's (B, T) ids (targets NULL = none)
    size_t io_capacity;
    float mean_loss; // of the last forward with targets; -1 without
    int n_targets;   // targets >= 0 in the last forward (the loss is their mean)
    int have_probs;  // acts.probs holds the last forward's softmax (not yet used by a backward)

    // KV cache (elm_gpt2_kv_alloc): k and v per layer, per sequence, per position.
    float *kv;    // (L, kvB, kvT, 2, C): [k | v] for each position
    int *kv_pos;  // (kvB) tokens held per sequence
    int kvB, kvT; // sequences, positions per sequence (<= n_ctx)
    int kv_bf16;  // 1 = entries in bf16 (uint16_t bits, kv cast) from the next elm_gpt2_kv_alloc
    int kv_held_bf16; // what the allocated cache holds (kv_alloc copies kv_bf16 here)
    float *kv_scratch;
    size_t kv_scratch_capacity;
    // Rows one forward holds (the scratch's size): max(kvB, kvT, min(kvB * kvT, prefill_rows)),
    // so a batched prefill of short prompts packs up to prefill_rows rows into one forward.
    int kv_rows;
    int prefill_rows; // read by elm_gpt2_kv_alloc; 0 = ELM_GPT2_PREFILL_ROWS (tests set less)

    // Reduced-precision copies of the linear weights for KV-cache decoding only (training and
    // elm_gpt2_forward always use the fp32 parameters): elm_gpt2_set_weights makes them, an
    // AdamW step marks them stale and the next prefill/decode remakes them.
    int weights;          // ELM_QMM_FP32 (default: the parameters themselves), _BF16 or _INT8
    int weights_int8;     // ELM_QMM_INT8_ACT8 (default) or ELM_QMM_INT8_DEQ
    int weights_portable; // 1 = the portable loops even where the CPU has AVX-512 (tests)
    int weights_stale;
    ElmQMat *qw; // (4L + 1): per layer qkvw, attprojw, fcw, fcprojw; then wte (the LM head)
    void *qscratch;
    size_t qscratch_bytes;
} ElmGpt2;

// Allocates parameters (zeroed) for cfg; no gradients or activations yet.
int elm_gpt2_init(ElmGpt2 *m, const ElmGpt2Config *cfg, ElmError *err);
void elm_gpt2_free(ElmGpt2 *m);

// GPT-2's initialisation from a seed: every weight matrix and embedding ~ N(0, 0.02), the
// residual projections (attprojw, fcprojw) ~ N(0, 0.02 / sqrt(2 L)), biases 0, layer-norm
// weights 1 and biases 0. Deterministic for a seed, independent of threads.
void elm_gpt2_init_random(ElmGpt2 *m, uint64_t seed);

// Forward pass over inputs (B, T) with ids in [0, V) and T <= n_ctx. With targets (B, T)
// (ids, or < 0 to ignore a position) m->mean_loss is the mean loss over the targets >= 0 and
// the softmax is kept for the backward; without (NULL) only logits are computed. Logits are
// in m->acts.logits (B, T, V) either way (with targets they are the pre-softmax values still).
// Out-of-range ids or sizes are an error.
int elm_gpt2_forward(ElmGpt2 *m, const int *inputs, const int *targets, int B, int T,
                     ElmError *err);

// Sets every gradient to 0 (allocating them on first use).
int elm_gpt2_zero_grad(ElmGpt2 *m, ElmError *err);

// Backward of `scale * mean_loss` of the last forward (which needs targets), ACCUMULATED into
// m->grads: scale 1 for one batch, 1/k for each of k accumulated micro-batches.
int elm_gpt2_backward(ElmGpt2 *m, float scale, ElmError *err);

// Global L2 norm of all gradients (accumulated in double, fixed order): the sums of squares of
// chunks of ELM_GPT2_NORM_CHUNK gradients, added in chunk order.
#define ELM_GPT2_NORM_CHUNK ((size_t)1 << 16)
float elm_gpt2_grad_norm(const ElmGpt2 *m);
// Those chunk sums for gradients [lo, hi) (lo a multiple of ELM_GPT2_NORM_CHUNK) into
// part[0 .. ceil((hi - lo) / chunk)): a ZeRO-1 rank's share of the norm (train_zero.h).
void elm_gpt2_grad_sumsq_chunks(const ElmGpt2 *m, size_t lo, size_t hi, double *part);
// The clip of elm_gpt2_clip_grad given the global norm, on gradients [lo, hi) only.
void elm_gpt2_clip_grad_range(ElmGpt2 *m, size_t lo, size_t hi, float norm, float max_norm);
// PyTorch's clip_grad_norm_: when norm > max_norm, gradients *= max_norm / (norm + 1e-6).
// Returns the norm before clipping. max_norm <= 0 only measures.
float elm_gpt2_clip_grad(ElmGpt2 *m, float max_norm);
// That factor alone: max_norm / (norm + 1e-6) when norm > max_norm > 0, else 1.
float elm_gpt2_clip_coef(float norm, float max_norm);

// One AdamW step on every parameter, PyTorch's torch.optim.AdamW exactly (t = ++adam_t):
//   p -= lr * wd * p (decay tensors only); m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
int elm_gpt2_adamw_step(ElmGpt2 *m, const ElmAdamW *opt, ElmError *err);
// The same step on the gradients times grad_scale, read as g * grad_scale without writing them:
// clip_grad then adamw_step equals grad_norm, clip_coef, then this, bit for bit, one pass over
// the gradients fewer (the trainer's clip).
int elm_gpt2_adamw_step_scaled(ElmGpt2 *m, const ElmAdamW *opt, float grad_scale, ElmError *err);
// The same step on parameters [lo, hi) only, with that range's moments am and av (hi - lo
// each; ZeRO-1's shard), on the gradients times grad_scale (read, not written; 1: as they are):
// element for element the arithmetic of elm_gpt2_adamw_step.
void elm_gpt2_adamw_step_range(ElmGpt2 *m, const ElmAdamW *opt, float grad_scale, size_t lo,
                               size_t hi, float *am, float *av);

// ---- KV-cache inference ------------------------------------------------------------------
// Rows of a batched prefill's forward by default (its gain over serial grows up to about this
// many rows on the CPU, docs/model.md); 512 rows of 124M's scratch are ~20 MB at 80 positions.
#define ELM_GPT2_PREFILL_ROWS 512
// Allocates a cache for n_seq sequences of up to max_T (<= n_ctx) positions each, all empty.
int elm_gpt2_kv_alloc(ElmGpt2 *m, int n_seq, int max_T, ElmError *err);
// Empties every sequence (keeps the memory).
void elm_gpt2_kv_reset(ElmGpt2 *m);
// Appends n tokens to sequence `seq` in one pass and writes the logits after the last of
// them into logits (V). n >= 1; an overflow of max_T is an error.
int elm_gpt2_prefill(ElmGpt2 *m, int seq, const int *tokens, int n, float *logits, ElmError *err);
// elm_gpt2_prefill with the logits after every one of the n tokens: logits (n, V) (scoring).
int elm_gpt2_prefill_logits(ElmGpt2 *m, int seq, const int *tokens, int n, float *logits,
                            ElmError *err);
// Appends tokens[b] to each sequence b of the cache (all kvB of them) and writes the logits
// for the next token into logits (kvB, V).
int elm_gpt2_decode_step(ElmGpt2 *m, const int *tokens, float *logits, ElmError *err);

// Decodes with weights in fmt (ELM_QMM_FP32, _BF16 or _INT8; see qmatmul.h), converting the
// current fp32 parameters once (they stay, for training and elm_gpt2_forward).
int elm_gpt2_set_weights(ElmGpt2 *m, int fmt, ElmError *err);

// Prefills n_seq sequences in one forward: tokens[i] (n[i] >= 1 ids) is appended to sequence
// seqs[i] (distinct), and the logits after its last token go to logits + i * V. The rows of all
// prompts are packed together (no padding), in forwards of whole prompts of at most kv_rows
// rows; the result equals elm_gpt2_prefill of each in turn.
int elm_gpt2_prefill_batch(ElmGpt2 *m, int n_seq, const int *seqs, const int *const *tokens,
                           const int *n, float *logits, ElmError *err);

// Argmax of logits (V) (the lowest id on ties), for greedy decoding.
int elm_gpt2_argmax(const float *logits, int V);

// Decode throughput for benchmarks: B sequences, a prompt of prompt_len tokens each (ids from
// the seed), then n_new greedy tokens, either with the KV cache (use_cache = 1: the prompts
// prefilled one at a time, 2: in one elm_gpt2_prefill_batch; then one decode step per token) or
// by recomputing the full forward each token (0). *tok_per_s counts new tokens (B * n_new) per
// second of the whole call.
int elm_gpt2_decode_bench(ElmGpt2 *m, int B, int prompt_len, int n_new, int use_cache,
                          uint64_t seed, double *tok_per_s, ElmError *err);
// Prefill throughput for benchmarks: B prompts of prompt_len ids (from the seed) into an empty
// cache of B sequences x cap positions (allocated when m's is another shape, not timed), one
// at a time (batched = 0) or in one elm_gpt2_prefill_batch (1). *tok_per_s counts prompt
// tokens (B * prompt_len) per second.
int elm_gpt2_prefill_bench(ElmGpt2 *m, int B, int prompt_len, int cap, int batched, uint64_t seed,
                           double *tok_per_s, ElmError *err);

// ---- from the config ------------------------------------------------------------------------
// [generate] weights and kv_cache for CPU decoding: converts the weights (elm_gpt2_set_weights)
// and sets the KV cache's format for the next elm_gpt2_kv_alloc.
int elm_gpt2_decode_from_cfg(ElmGpt2 *m, const ElmConfig *cfg, ElmError *err);

// ---- from the [model] config section -----------------------------------------------------
// Resolves [model] (preset or custom sizes; vocab_size 0 takes tokenizer_vocab) into cfg.
int elm_gpt2_config_from_cfg(const ElmConfig *cfg, int tokenizer_vocab, ElmGpt2Config *out,
                             ElmError *err);
// Builds the model [model] describes: init = scratch -> random weights from seed; init = PATH
// -> an HF GPT-2 folder (its config.json wins; a preset/custom size that disagrees is an error
// naming both); init = hf:OWNER/NAME -> downloaded first (its progress line unless quiet).
// threads is applied; [model] matmul concerns the CUDA path only.
int elm_gpt2_open_from_cfg(ElmGpt2 *m, const ElmConfig *cfg, int tokenizer_vocab, uint64_t seed,
                           int threads, int quiet, ElmError *err);

#ifdef __cplusplus
}
#endif

#endif
