// Greedy decoding on the GPU (decoder + GPU sampler at temperature 0, graph-replayed steps) vs
// the CPU path (ElmGpt2 KV cache + argmax) over 64 new tokens from 8-token random prompts, for
// the gpt2-tiny fixture and a random 124M model: the count of equal sequences (>= 99% needed;
// bf16 near-ties may differ), equal tokens, and where the first differences start.
#include "decodecheck.h"

#ifndef ELM_HAVE_CUDA
int main(void) {
    DC_SKIP_WITHOUT_CUDA("test_greedy_gpu");
}
#else

#include "elmtest.h"
#include "engine/model/gpt2.h"
#include "engine/model/hf.h"
#include "kernels/gpu/decode.h"
#include "kernels/sampling.h"

#define PROMPT 8
#define NEW 64

static void run(ElmCudaCtx *ctx, ElmGpt2 *m, int B, const char *what) {
    ElmError err = {{0}};
    const int V = m->config.vocab_size, T = PROMPT + NEW;
    uint64_t rng = 99;
    int *prompt = malloc(sizeof(int) * B * PROMPT);
    for (int i = 0; i < B * PROMPT; i++) prompt[i] = (int)(dc_next(&rng) % V);
    // CPU
    int *cpu = malloc(sizeof(int) * B * NEW), *next = malloc(sizeof(int) * B);
    float *logits = malloc(sizeof(float) * (size_t)B * V);
    DC_OK(elm_gpt2_kv_alloc(m, B, T, &err));
    for (int b = 0; b < B; b++) {
        DC_OK(elm_gpt2_prefill(m, b, prompt + b * PROMPT, PROMPT, logits + (size_t)b * V, &err));
        next[b] = elm_gpt2_argmax(logits + (size_t)b * V, V);
    }
    for (int t = 0; t < NEW; t++) {
        for (int b = 0; b < B; b++) cpu[b * NEW + t] = next[b];
        if (t == NEW - 1) break;
        DC_OK(elm_gpt2_decode_step(m, next, logits, &err));
        for (int b = 0; b < B; b++) next[b] = elm_gpt2_argmax(logits + (size_t)b * V, V);
    }
    // GPU
    ElmCuDecoder *d = elm_cu_decoder_create(ctx, m, B, T, B * PROMPT, &err);
    DC_OK(!d);
    int *tok = malloc(sizeof(int) * B * PROMPT), *slot = malloc(sizeof(int) * B * PROMPT);
    int *pos = malloc(sizeof(int) * B * PROMPT), *gpu = malloc(sizeof(int) * B * NEW);
    uint8_t *out = malloc((size_t)B * PROMPT), *live = malloc((size_t)B);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < PROMPT; i++) {
            int r = b * PROMPT + i;
            tok[r] = prompt[r], slot[r] = b, pos[r] = i, out[r] = i == PROMPT - 1;
        }
    int32_t *dtok, *dctx;
    int *dlen, *dpos;
    uint64_t *didx;
    uint8_t *dlive;
    float *dlp, *dscr;
    DC_OK(!(dtok = elm_cuda_malloc(4 * (size_t)B, &err)) ||
          !(dctx = elm_cuda_malloc(4 * (size_t)B, &err)) ||
          !(dlen = elm_cuda_malloc(4 * (size_t)B, &err)) ||
          !(dpos = elm_cuda_malloc(4 * (size_t)B, &err)) ||
          !(didx = elm_cuda_malloc(8 * (size_t)B, &err)) ||
          !(dlive = elm_cuda_malloc((size_t)B, &err)) ||
          !(dlp = elm_cuda_malloc(4 * (size_t)B, &err)) ||
          !(dscr = elm_cuda_malloc(4 * (size_t)B, &err)));
    memset(live, 1, (size_t)B);
    DC_OK(elm_cuda_memset(ctx, dlen, 0, 4 * (size_t)B, &err) ||
          elm_cuda_memset(ctx, dpos, 0, 4 * (size_t)B, &err) ||
          elm_cuda_memset(ctx, didx, 0, 8 * (size_t)B, &err) ||
          elm_cuda_h2d(ctx, dlive, live, (size_t)B, &err));
    DC_OK(elm_cu_decoder_forward(d, tok, slot, pos, out, B * PROMPT, &err));
    ElmCuSampleParams gp = {0.0f, 0, 1.0f, 1.0f, 0, -1, 0};
    int ld;
    float *dlogits = elm_cu_decoder_logits(d, &ld);
    int *steppos = malloc(sizeof(int) * B);
    for (int t = 0; t < NEW; t++) {
        DC_OK(elm_cu_sample(ctx, &gp, dlogits, ld, V, B, dctx, 1, dlen, didx, dpos, dlive, dscr,
                            dtok, dlp, &err));
        DC_OK(elm_cuda_d2h(ctx, next, dtok, 4 * (size_t)B, &err) || elm_cuda_sync(ctx, &err));
        for (int b = 0; b < B; b++) gpu[b * NEW + t] = next[b], steppos[b] = PROMPT + t;
        if (t == NEW - 1) break;
        // Feed the GPU's own tokens (each path continues its own sequence).
        DC_OK(elm_cuda_h2d(ctx, elm_cu_decoder_step_tokens(d), next, 4 * (size_t)B, &err) ||
              elm_cuda_h2d(ctx, elm_cu_decoder_step_positions(d), steppos, 4 * (size_t)B, &err) ||
              elm_cu_decoder_step(d, 1, &err));
    }
    int same_seq = 0, same_tok = 0, first_diff_sum = 0;
    for (int b = 0; b < B; b++) {
        int k = 0;
        while (k < NEW && cpu[b * NEW + k] == gpu[b * NEW + k]) k++;
        same_seq += k == NEW;
        if (k < NEW) first_diff_sum += k;
        for (int t = 0; t < NEW; t++) same_tok += cpu[b * NEW + t] == gpu[b * NEW + t];
    }
    printf("greedy %s: %d/%d sequences equal over %d tokens (%.1f%%), %d/%d tokens equal, "
           "differing sequences part at token %.1f on average\n",
           what, same_seq, B, NEW, 100.0 * same_seq / B, same_tok, B * NEW,
           B - same_seq ? (double)first_diff_sum / (B - same_seq) : 0.0);
    CHECK(same_seq >= (int)ceil(0.99 * B), "greedy %s: %d of %d sequences equal", what, same_seq,
          B);
    elm_cu_decoder_free(d);
    void *dv[] = {dtok, dctx, dlen, dpos, didx, dlive, dlp, dscr};
    for (size_t i = 0; i < sizeof dv / sizeof dv[0]; i++) elm_cuda_free(dv[i]);
    free(prompt), free(cpu), free(next), free(logits), free(tok), free(slot), free(pos), free(gpu),
        free(out), free(live), free(steppos);
}

int main(void) {
    ElmCudaCtx *ctx = dc_open("test_greedy_gpu");
    ElmError err = {{0}};
    const char *shared = getenv("ELM_SHARED");
    char dir[4096];
    ElmGpt2 m;
    snprintf(dir, sizeof dir, "%s/fixtures/gpt2-tiny", shared ? shared : "../shared");
    if (elm_hf_load(dir, &m, &err) == 0) {
        run(ctx, &m, 200, "gpt2-tiny");
        elm_gpt2_free(&m);
    } else {
        CHECK(0, "gpt2-tiny fixture: %s", err.msg);
    }
    ElmGpt2Config cfg;
    DC_OK(elm_gpt2_preset("gpt2", &cfg, &err) || elm_gpt2_init(&m, &cfg, &err));
    elm_gpt2_init_random(&m, 124);
    run(ctx, &m, 100, "random 124M");
    elm_gpt2_free(&m);
    elm_cuda_ctx_free(ctx);
    ELM_TEST_DONE();
}
#endif
