// test_train_zero.c — ZeRO-1's pieces that need no second rank: the shards (contiguous, cover
// every parameter once, cut at norm chunks, balanced, empty past the last chunk) and the shard
// arithmetic of gpt2.c: the chunk sums of every shard, added in order, are elm_gpt2_grad_norm,
// and clip + AdamW run shard by shard with each shard's own moments give elm_gpt2_clip_grad +
// elm_gpt2_adamw_step's parameters and moments bit for bit (two steps, decay and no decay).
#include "elmtest.h"
#include "engine/base/rng.h"
#include "engine/model/gpt2.h"
#include "engine/train/train_zero.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CH ELM_GPT2_NORM_CHUNK

static void check_shards(void) {
    static const size_t ns[] = {1, CH - 1, CH, CH + 1, 3 * CH + 17, 124439808};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        for (int R = 1; R <= 8; R++) {
            size_t n = ns[k], chunks = (n + CH - 1) / CH, at = 0, most = 0, least = (size_t)-1;
            int bad = 0;
            for (int r = 0; r < R; r++) {
                size_t lo, hi;
                elm_train_zero_shard(n, R, r, &lo, &hi);
                bad +=
                    lo != at || hi < lo || (lo % CH != 0 && lo != n) || (hi % CH != 0 && hi != n);
                size_t c = (hi - lo + CH - 1) / CH;
                most = c > most ? c : most, least = c < least ? c : least;
                at = hi;
            }
            CHECK(bad == 0 && at == n, "n %zu over %d: shards not contiguous/aligned/covering", n,
                  R);
            CHECK(most - least <= 1 && (chunks < (size_t)R ? least == 0 : least >= 1),
                  "n %zu over %d: unbalanced (%zu..%zu chunks)", n, R, least, most);
        }
}

// Seeded gradients of size about 1e-2 (some steps clip at max_norm 1, some not).
static void fill_grads(ElmGpt2 *m, uint64_t seed) {
    uint64_t r = seed;
    for (size_t i = 0; i < m->num_parameters; i++) {
        r = elm_rng_mix(r);
        m->grads_memory[i] = ((float)(r % 20001) - 10000.0f) * 1e-6f;
    }
}

static void check_shard_step(int R) {
    ElmGpt2Config cfg = {2, 4, 64, 32, 2000}; // about 230k parameters: 4 chunks
    ElmGpt2 a, b;
    ElmError e = {{0}};
    memset(&a, 0, sizeof a), memset(&b, 0, sizeof b);
    CHECK(elm_gpt2_init(&a, &cfg, &e) == 0 && elm_gpt2_init(&b, &cfg, &e) == 0, "init: %s", e.msg);
    elm_gpt2_init_random(&a, 3), elm_gpt2_init_random(&b, 3);
    a.threads = b.threads = 1;
    size_t n = a.num_parameters, chunks = (n + CH - 1) / CH;
    CHECK(elm_gpt2_zero_grad(&a, &e) == 0 && elm_gpt2_zero_grad(&b, &e) == 0, "grads: %s", e.msg);
    float *am = calloc(n, sizeof *am), *av = calloc(n, sizeof *av); // the shards' moments, laid
    double *part = calloc(chunks, sizeof *part);                    // out side by side
    ElmAdamW opt = {1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f};
    for (int step = 0; step < 2; step++) {
        fill_grads(&a, 11 + (uint64_t)step), fill_grads(&b, 11 + (uint64_t)step);
        float max_norm = step == 0 ? 1.0f : 100.0f; // clipped, then not
        float want = elm_gpt2_clip_grad(&a, max_norm);
        CHECK(elm_gpt2_adamw_step(&a, &opt, &e) == 0, "adamw: %s", e.msg);
        for (int r = 0; r < R; r++) {
            size_t lo, hi;
            elm_train_zero_shard(n, R, r, &lo, &hi);
            if (hi > lo) elm_gpt2_grad_sumsq_chunks(&b, lo, hi, part + lo / CH);
        }
        double s = 0;
        for (size_t k = 0; k < chunks; k++) s += part[k];
        float norm = (float)sqrt(s);
        CHECK(memcmp(&norm, &want, sizeof norm) == 0, "%d shards: norm %.9g vs %.9g", R,
              (double)norm, (double)want);
        long long t = b.adam_t;
        for (int r = 0; r < R; r++) {
            size_t lo, hi;
            elm_train_zero_shard(n, R, r, &lo, &hi);
            elm_gpt2_clip_grad_range(&b, lo, hi, norm, max_norm);
            b.adam_t = t; // each rank's model counts the step once
            elm_gpt2_adamw_step_range(&b, &opt, 1.0f, lo, hi, am + lo, av + lo);
        }
        CHECK(b.adam_t == a.adam_t, "adam_t %lld vs %lld", b.adam_t, a.adam_t);
    }
    CHECK(memcmp(a.params_memory, b.params_memory, n * sizeof(float)) == 0,
          "%d shards: parameters differ from the whole step's", R);
    CHECK(memcmp(a.adam_m, am, n * sizeof(float)) == 0 &&
              memcmp(a.adam_v, av, n * sizeof(float)) == 0,
          "%d shards: moments differ from the whole step's", R);
    free(am), free(av), free(part);
    elm_gpt2_free(&a), elm_gpt2_free(&b);
}

int main(void) {
    check_shards();
    for (int R = 1; R <= 5; R++) check_shard_step(R);
    ELM_TEST_DONE();
}
