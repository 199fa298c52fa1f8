// kernels/gpu/decode.c's orchestration on the CPU (kernels/dev/mock_ops.c for the matmul and
// layer-norm API, mock_decode_launchers.c for decode.h's launchers): prefills of three slots split
// over forward chunks, then decode steps, against ElmGpt2's fp32 KV-cache logits (rel. err <= 3e-2:
// the mocks round every bf16 output like the GPU), for a random 2-layer model with every
// parameter perturbed and the gpt2-tiny fixture. Built and run by test_decoder_on_host.sh.
#include "elmtest.h"

#include "engine/model/gpt2.h"
#include "engine/model/hf.h"
#include "kernels/gpu/decode.h"

#include <math.h>
#include <string.h>

static double relerr(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i])) return INFINITY;
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return sqrt(num / den);
}

static void check(ElmGpt2 *m, const char *what) {
    ElmError err = {{0}};
    ElmCudaCtx *ctx = elm_cuda_ctx_create(0, &err);
    const int S = 3, cap = 24, V = m->config.vocab_size, steps = 5;
    const int plen[3] = {5, 9, 1};
    uint64_t rng = 7;
    CHECK(elm_gpt2_kv_alloc(m, S, cap, &err) == 0, "%s", err.msg);
    ElmCuDecoder *d = elm_cu_decoder_create(ctx, m, S, cap, 8, &err); // 8 rows: split prefill
    CHECK(d != NULL, "%s", err.msg);
    if (!d) return;
    float *cpu = malloc(sizeof(float) * S * V), *gpu = malloc(sizeof(float) * S * V);
    int tok[16], slot[16], pos[16], len[3], n = 0;
    uint8_t out[16];
    for (int s = 0; s < S; s++) {
        int ids[9];
        for (int i = 0; i < plen[s]; i++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            ids[i] = (int)((rng >> 33) % (uint64_t)V);
            tok[n] = ids[i], slot[n] = s, pos[n] = i, out[n] = i == plen[s] - 1, n++;
        }
        CHECK(elm_gpt2_prefill(m, s, ids, plen[s], cpu + (size_t)s * V, &err) == 0, "%s", err.msg);
        len[s] = plen[s];
    }
    int ld;
    float *logits = elm_cu_decoder_logits(d, &ld);
    for (size_t i = 0; i < (size_t)S * ld; i++) logits[i] = NAN;
    CHECK(elm_cu_decoder_forward(d, tok, slot, pos, out, n, &err) == 0, "%s", err.msg);
    for (int step = 0; step <= steps; step++) {
        for (int s = 0; s < S; s++) memcpy(gpu + (size_t)s * V, logits + (size_t)s * ld, 4 * V);
        double e = relerr(gpu, cpu, (size_t)S * V);
        printf("decoder %s, %s %d: logits rel err %.2e\n", what, step ? "step" : "prefill", step,
               e);
        CHECK(e <= 3e-2, "%s step %d: rel err %g", what, step, e);
        if (step == steps) break;
        int next[3];
        for (int s = 0; s < S; s++) next[s] = elm_gpt2_argmax(cpu + (size_t)s * V, V);
        CHECK(elm_gpt2_decode_step(m, next, cpu, &err) == 0, "%s", err.msg);
        memcpy(elm_cu_decoder_step_tokens(d), next, sizeof next);
        memcpy(elm_cu_decoder_step_positions(d), len, sizeof len);
        for (size_t i = 0; i < (size_t)S * ld; i++) logits[i] = NAN;
        CHECK(elm_cu_decoder_step(d, 1, &err) == 0, "%s", err.msg);
        for (int s = 0; s < S; s++) len[s]++;
    }
    elm_cu_decoder_free(d);
    elm_cuda_ctx_free(ctx);
    free(cpu), free(gpu);
}

int main(void) {
    ElmError err = {{0}};
    ElmGpt2 m;
    ElmGpt2Config cfg = {.n_layer = 2, .n_head = 4, .n_embd = 64, .n_ctx = 32, .vocab_size = 300};
    CHECK(elm_gpt2_init(&m, &cfg, &err) == 0, "%s", err.msg);
    elm_gpt2_init_random(&m, 5);
    // Every parameter moved off its initial value (layer norms start at 1 and 0, biases at 0),
    // so a mixed-up tensor or offset shows.
    uint64_t r = 11;
    for (size_t i = 0; i < m.num_parameters; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        m.params_memory[i] += 0.1f * ((float)(r >> 40) / 16777216.0f - 0.5f);
    }
    check(&m, "random 2-layer");
    elm_gpt2_free(&m);
    const char *shared = elm_test_shared();
    if (!shared) return 1;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/fixtures/gpt2-tiny", shared);
    CHECK(elm_hf_load(dir, &m, &err) == 0, "%s", err.msg);
    check(&m, "gpt2-tiny");
    elm_gpt2_free(&m);
    ELM_TEST_DONE();
}
