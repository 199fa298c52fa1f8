// decode.h — GPT-2 inference on the GPU for `elm generate`: bf16 weights, a bf16 KV cache of
// `slots` sequences, one forward over "rows" for both prefill and decode, and the decode step
// captured in a CUDA graph. Called by kernels/gpu/batcher_cuda.c and tests/gpu/test_decode*.c.
//
// A row is one token of one slot at one position. elm_cu_decoder_forward runs any set of rows:
// a prefill is the rows of one prompt (positions 0..n-1 of its slot, several prompts at once),
// a decode step is one row per slot. Per layer: layernorm -> qkv matmul -> the rows' k and v
// enter the cache -> attention of each row over its slot's positions 0..pos -> projection ->
// residual + layernorm -> fc (+GELU) -> projection -> residual; then the final layernorm and
// the tied LM head for the rows that want logits, in fp32 (slots, ld) rows.
// Matrix products go through the cuda branch's elm_cu_matmul (cuBLASLt by default), layer norms
// through elm_cu_layernorm_forward / elm_cu_residual_layernorm_forward.
#ifndef ELM_CU_DECODE_H
#define ELM_CU_DECODE_H

#include "kernels/cuda_ctx.h"
#include "engine/model/gpt2.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ElmCuDecoder ElmCuDecoder;

// Uploads m's weights as bf16 and allocates the cache: `slots` sequences of `cap` positions
// (cap <= n_ctx), activations for max(slots, max_rows) rows per forward.
ElmCuDecoder *elm_cu_decoder_create(ElmCudaCtx *ctx, const ElmGpt2 *m, int slots, int cap,
                                    int max_rows, ElmError *err);
void elm_cu_decoder_free(ElmCuDecoder *d);

// Runs n rows (host arrays): row r is token tok[r] of slot slot[r] at position pos[r] (a
// slot's rows in increasing position; positions before them already in the cache). Rows with
// out[r] = 1 write logits to row slot[r] of the logits buffer. n may exceed max_rows (it is
// split). The attention split count follows the rows' longest context.
int elm_cu_decoder_forward(ElmCuDecoder *d, const int *tok, const int *slot, const int *pos,
                           const uint8_t *out, int n, ElmError *err);

// One decode step for every slot: token tok_dev[s] at position pos_dev[s] (device arrays of
// `slots` ints, which the caller fills before the call), logits into row s. The first call
// captures the step in a CUDA graph (use_graph = 1) and later calls replay it.
int elm_cu_decoder_step(ElmCuDecoder *d, int use_graph, ElmError *err);
// Device arrays the step reads: tokens and positions (slots each). The positions follow the
// tokens in one array (positions == tokens + slots), so one copy of 2 * slots ints sets both.
int *elm_cu_decoder_step_tokens(ElmCuDecoder *d);
int *elm_cu_decoder_step_positions(ElmCuDecoder *d);

// The fp32 logits (slots, *ld) on the device; columns [V, ld) are padding.
float *elm_cu_decoder_logits(ElmCuDecoder *d, int *ld);

// ---- single kernels, for tests/gpu/test_decode_kernels.c ----------------------------------
// Attention of n rows over the cache: q (n, C) bf16 (row stride ldq), kcache/vcache laid out
// (slots, NH, cap, hs) bf16, row r attends positions 0..pos[r] of slot slot[r]; out (n, C)
// bf16. nsplit > 1 splits the positions over blocks (flash-decoding) with scratch of
// n * NH * nsplit * (hs + 2) floats. slot/pos are device arrays.
int elm_cu_decode_attention(ElmCudaCtx *ctx, ElmBf16 *out, const ElmBf16 *q, long ldq,
                            const ElmBf16 *kcache, const ElmBf16 *vcache, const int *slot,
                            const int *pos, int n, int C, int NH, int cap, int nsplit,
                            float *scratch, ElmError *err);
// Writes the k and v parts of qkv rows (n, 3C) into the caches at (slot[r], pos[r]).
int elm_cu_decode_kv_store(ElmCudaCtx *ctx, ElmBf16 *kcache, ElmBf16 *vcache, const ElmBf16 *qkv,
                           const int *slot, const int *pos, int n, int C, int NH, int cap,
                           ElmError *err);
// x (n, C) = wte[tok[r]] + wpe[pos[r]] (device arrays).
int elm_cu_decode_embed(ElmCudaCtx *ctx, ElmBf16 *x, const ElmBf16 *wte, const ElmBf16 *wpe,
                        const int *tok, const int *pos, int n, int C, ElmError *err);

// Row gather dst (n, C) = src rows idx[0..n) (bf16), and logits scatter: dst row slot[i] =
// src row i (n rows of ld floats, ld a multiple of 4). idx and slot are device arrays.
int elm_cu_decode_gather(ElmCudaCtx *ctx, ElmBf16 *dst, const ElmBf16 *src, const int *idx, int n,
                         int C, ElmError *err);
int elm_cu_decode_scatter_logits(ElmCudaCtx *ctx, float *dst, const float *src, const int *slot,
                                 int n, int ld, ElmError *err);

// CUDA graphs of the work issued on ctx's stream: begin (0; 1 = graphs unavailable, nothing
// begun), end (*exec = the instantiated graph, also ending a failed capture), launch, free.
int elm_cu_graph_begin(ElmCudaCtx *ctx, ElmError *err);
int elm_cu_graph_end(ElmCudaCtx *ctx, void **exec, ElmError *err);
int elm_cu_graph_launch(ElmCudaCtx *ctx, void *exec, ElmError *err);
void elm_cu_graph_free(void *exec);

#ifdef __cplusplus
}
#endif

#endif
