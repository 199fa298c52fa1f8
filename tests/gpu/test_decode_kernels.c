// GPU decode kernels vs the CPU on fresh random data, outputs poisoned first (NaN bf16):
// row embedding, KV-cache stores (exact), decode attention with 1 and several splits (double
// reference; bf16 rel. err <= 1e-2), and the whole decoder (prefill, eager and graph-replayed
// decode steps) against ElmGpt2's fp32 KV-cache path (logits rel. err <= 3e-2: bf16 weights and
// activations through every layer), graph replay equal to the eager step bit for bit.
#include "decodecheck.h"

#ifndef ELM_HAVE_CUDA
int main(void) {
    DC_SKIP_WITHOUT_CUDA("test_decode_kernels");
}
#else

#include "elmtest.h"
#include "engine/model/gpt2.h"
#include "kernels/gpu/decode.h"

static uint64_t rng = 0x5eed1234abcdull;

// n random bf16 values (scale), host fp32 copy of exactly those values, device copy.
static float *rand_bf16(ElmCudaCtx *ctx, size_t n, float scale, ElmBf16 **dev) {
    ElmError err = {{0}};
    float *h = malloc(n * sizeof *h);
    ElmBf16 *b = malloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        b[i] = elm_bf16_from_f32(dc_unif(&rng) * scale);
        h[i] = elm_bf16_to_f32(b[i]);
    }
    *dev = elm_cuda_malloc(n * 2, &err);
    DC_OK(!*dev || elm_cuda_h2d(ctx, *dev, b, n * 2, &err));
    free(b);
    return h;
}

static int *dev_ints(ElmCudaCtx *ctx, const int *h, int n) {
    ElmError err = {{0}};
    int *d = elm_cuda_malloc((size_t)n * 4, &err);
    DC_OK(!d || elm_cuda_h2d(ctx, d, h, (size_t)n * 4, &err));
    return d;
}

// Downloads n bf16 values as floats.
static float *down_bf16(ElmCudaCtx *ctx, const ElmBf16 *dev, size_t n) {
    ElmError err = {{0}};
    ElmBf16 *b = malloc(n * 2);
    float *f = malloc(n * sizeof *f);
    DC_OK(elm_cuda_d2h(ctx, b, dev, n * 2, &err) || elm_cuda_sync(ctx, &err));
    elm_bf16_to_f32_n(f, b, n);
    free(b);
    return f;
}

static void check_embed(ElmCudaCtx *ctx) {
    ElmError err = {{0}};
    const int V = 300, T = 40, C = 96, n = 37;
    ElmBf16 *wte, *wpe, *x;
    float *hwte = rand_bf16(ctx, (size_t)V * C, 1.0f, &wte);
    float *hwpe = rand_bf16(ctx, (size_t)T * C, 1.0f, &wpe);
    int tok[37], pos[37];
    for (int r = 0; r < n; r++)
        tok[r] = (int)(dc_next(&rng) % V), pos[r] = (int)(dc_next(&rng) % T);
    int *dtok = dev_ints(ctx, tok, n), *dpos = dev_ints(ctx, pos, n);
    x = elm_cuda_malloc((size_t)n * C * 2, &err);
    DC_OK(!x || elm_cuda_memset(ctx, x, 0xff, (size_t)n * C * 2, &err));
    DC_OK(elm_cu_decode_embed(ctx, x, wte, wpe, dtok, dpos, n, C, &err));
    float *got = down_bf16(ctx, x, (size_t)n * C);
    double *ref = malloc(sizeof(double) * n * C);
    for (int r = 0; r < n; r++)
        for (int c = 0; c < C; c++)
            ref[r * C + c] = (double)hwte[tok[r] * C + c] + hwpe[pos[r] * C + c];
    double e = dc_relerr(got, ref, (size_t)n * C);
    printf("embed: rel err %.2e\n", e);
    CHECK(e <= 1e-2, "embed rel err %g", e);
    elm_cuda_free(wte), elm_cuda_free(wpe), elm_cuda_free(x), elm_cuda_free(dtok),
        elm_cuda_free(dpos);
    free(hwte), free(hwpe), free(got), free(ref);
}

// kv_store then attention for one head layout; nsplit 1 and 3.
static void check_attention(ElmCudaCtx *ctx, int C, int NH) {
    ElmError err = {{0}};
    const int slots = 5, cap = 70, n = 7, hs = C / NH;
    const size_t csz = (size_t)slots * NH * cap * hs;
    ElmBf16 *kc, *vc, *qkv, *out;
    float *hk = rand_bf16(ctx, csz, 1.0f, &kc), *hv = rand_bf16(ctx, csz, 1.0f, &vc);
    float *hqkv = rand_bf16(ctx, (size_t)n * 3 * C, 1.0f, &qkv);
    int slot[7], pos[7];
    for (int r = 0; r < n; r++) {
        slot[r] = r % slots; // rows 5, 6 share slots 0, 1 with rows 0, 1 at other positions
        pos[r] = r < slots ? (int)(dc_next(&rng) % cap) : (pos[r - slots] + 1) % cap;
    }
    pos[0] = cap - 1; // the longest context
    int *dslot = dev_ints(ctx, slot, n), *dpos = dev_ints(ctx, pos, n);
    DC_OK(elm_cu_decode_kv_store(ctx, kc, vc, qkv, dslot, dpos, n, C, NH, cap, &err));
    // The stores must land exactly at (slot, head, pos).
    float *gk = down_bf16(ctx, kc, csz), *gv = down_bf16(ctx, vc, csz);
    int bad = 0;
    for (int r = 0; r < n; r++)
        for (int c = 0; c < C; c++) {
            int h = c / hs, d = c % hs;
            size_t at = (((size_t)slot[r] * NH + h) * cap + pos[r]) * hs + d;
            hk[at] = hqkv[(size_t)r * 3 * C + C + c];
            hv[at] = hqkv[(size_t)r * 3 * C + 2 * C + c];
        }
    for (size_t i = 0; i < csz; i++) bad += gk[i] != hk[i] || gv[i] != hv[i];
    CHECK(bad == 0, "kv store: %d cache values differ (C %d, NH %d)", bad, C, NH);
    double *ref = malloc(sizeof(double) * n * C);
    double *sc = malloc(sizeof(double) * cap);
    for (int r = 0; r < n; r++)
        for (int h = 0; h < NH; h++) {
            const float *q = hqkv + (size_t)r * 3 * C + h * hs;
            size_t base = ((size_t)slot[r] * NH + h) * cap * hs;
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j <= pos[r]; j++) {
                double s = 0;
                for (int d = 0; d < hs; d++) s += (double)q[d] * hk[base + (size_t)j * hs + d];
                sc[j] = s / sqrt((double)hs);
                if (sc[j] > mx) mx = sc[j];
            }
            for (int j = 0; j <= pos[r]; j++) sum += sc[j] = exp(sc[j] - mx);
            for (int d = 0; d < hs; d++) {
                double o = 0;
                for (int j = 0; j <= pos[r]; j++) o += sc[j] * hv[base + (size_t)j * hs + d];
                ref[(size_t)r * C + h * hs + d] = o / sum;
            }
        }
    float *scratch = elm_cuda_malloc((size_t)n * NH * 3 * (hs + 2) * 4, &err);
    out = elm_cuda_malloc((size_t)n * C * 2, &err);
    for (int nsplit = 1; nsplit <= 3; nsplit += 2) {
        DC_OK(elm_cuda_memset(ctx, out, 0xff, (size_t)n * C * 2, &err));
        DC_OK(elm_cu_decode_attention(ctx, out, qkv, 3 * C, kc, vc, dslot, dpos, n, C, NH, cap,
                                      nsplit, scratch, &err));
        float *got = down_bf16(ctx, out, (size_t)n * C);
        double e = dc_relerr(got, ref, (size_t)n * C);
        printf("attention C %d NH %d splits %d: rel err %.2e\n", C, NH, nsplit, e);
        CHECK(e <= 1e-2, "attention C %d NH %d splits %d: rel err %g", C, NH, nsplit, e);
        free(got);
    }
    elm_cuda_free(kc), elm_cuda_free(vc), elm_cuda_free(qkv), elm_cuda_free(out),
        elm_cuda_free(scratch), elm_cuda_free(dslot), elm_cuda_free(dpos);
    free(hk), free(hv), free(hqkv), free(gk), free(gv), free(ref), free(sc);
}

// The whole decoder vs ElmGpt2's KV-cache path on a random model.
static void check_decoder(ElmCudaCtx *ctx, const ElmGpt2Config *cfg, const char *what) {
    ElmError err = {{0}};
    ElmGpt2 m;
    DC_OK(elm_gpt2_init(&m, cfg, &err));
    elm_gpt2_init_random(&m, 42);
    const int S = 3, cap = 32, V = cfg->vocab_size, steps = 6;
    const int plen[3] = {5, 9, 1};
    DC_OK(elm_gpt2_kv_alloc(&m, S, cap, &err));
    ElmCuDecoder *d = elm_cu_decoder_create(ctx, &m, S, cap, 8, &err); // 8 rows: forces a split
    DC_OK(!d);
    float *cpu = malloc(sizeof(float) * S * V), *gpu = malloc(sizeof(float) * S * V);
    float *gpu2 = malloc(sizeof(float) * S * V);
    double *refd = malloc(sizeof(double) * S * V);
    int tok[16], slot[16], pos[16], len[3];
    uint8_t out[16];
    int n = 0;
    for (int s = 0; s < S; s++) {
        int ids[9];
        for (int i = 0; i < plen[s]; i++) {
            ids[i] = (int)(dc_next(&rng) % V);
            tok[n] = ids[i], slot[n] = s, pos[n] = i, out[n] = i == plen[s] - 1, n++;
        }
        DC_OK(elm_gpt2_prefill(&m, s, ids, plen[s], cpu + (size_t)s * V, &err));
        len[s] = plen[s];
    }
    int ld;
    float *dlogits = elm_cu_decoder_logits(d, &ld);
    DC_OK(elm_cu_decoder_forward(d, tok, slot, pos, out, n, &err));
    for (int step = 0; step <= steps; step++) {
        for (int s = 0; s < S; s++)
            DC_OK(elm_cuda_d2h(ctx, gpu + (size_t)s * V, dlogits + (size_t)s * ld,
                               sizeof(float) * V, &err));
        DC_OK(elm_cuda_sync(ctx, &err));
        for (size_t i = 0; i < (size_t)S * V; i++) refd[i] = cpu[i];
        double e = dc_relerr(gpu, refd, (size_t)S * V);
        printf("decoder %s, %s %d: logits rel err %.2e\n", what, step ? "step" : "prefill", step,
               e);
        CHECK(e <= 3e-2, "decoder %s step %d: logits rel err %g", what, step, e);
        if (step == steps) break;
        int next[3];
        for (int s = 0; s < S; s++) next[s] = (int)(dc_next(&rng) % V);
        DC_OK(elm_gpt2_decode_step(&m, next, cpu, &err));
        DC_OK(elm_cuda_h2d(ctx, elm_cu_decoder_step_tokens(d), next, sizeof next, &err));
        DC_OK(elm_cuda_h2d(ctx, elm_cu_decoder_step_positions(d), len, sizeof len, &err));
        // Eager first, then the graph (the first graphed call runs eagerly and captures; the
        // second replays): replaying the same step must give the same logits bit for bit.
        DC_OK(elm_cuda_memset(ctx, dlogits, 0xff, sizeof(float) * S * ld, &err));
        DC_OK(elm_cu_decoder_step(d, step > 0, &err));
        if (step >= 1) {
            for (int s = 0; s < S; s++)
                DC_OK(elm_cuda_d2h(ctx, gpu2 + (size_t)s * V, dlogits + (size_t)s * ld,
                                   sizeof(float) * V, &err));
            DC_OK(elm_cuda_memset(ctx, dlogits, 0xff, sizeof(float) * S * ld, &err));
            DC_OK(elm_cu_decoder_step(d, 1, &err)); // replay of the same step
            for (int s = 0; s < S; s++)
                DC_OK(elm_cuda_d2h(ctx, gpu + (size_t)s * V, dlogits + (size_t)s * ld,
                                   sizeof(float) * V, &err));
            DC_OK(elm_cuda_sync(ctx, &err));
            CHECK(memcmp(gpu, gpu2, sizeof(float) * S * V) == 0,
                  "decoder %s step %d: graph replay differs from the first run", what, step);
        }
        for (int s = 0; s < S; s++) len[s]++;
    }
    elm_cu_decoder_free(d);
    elm_gpt2_free(&m);
    free(cpu), free(gpu), free(gpu2), free(refd);
}

int main(void) {
    ElmCudaCtx *ctx = dc_open("test_decode_kernels");
    check_embed(ctx);
    check_attention(ctx, 64, 4);    // gpt2-tiny heads (hs 16)
    check_attention(ctx, 768, 12);  // 124M
    check_attention(ctx, 1024, 16); // 355M
    ElmGpt2Config tiny = {.n_layer = 2, .n_head = 4, .n_embd = 64, .n_ctx = 64, .vocab_size = 500};
    check_decoder(ctx, &tiny, "tiny");
    ElmGpt2Config mid = {
        .n_layer = 4, .n_head = 12, .n_embd = 768, .n_ctx = 128, .vocab_size = 50257};
    check_decoder(ctx, &mid, "4-layer 768");
    elm_cuda_ctx_free(ctx);
    ELM_TEST_DONE();
}
#endif
