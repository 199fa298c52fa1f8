// test_trainkit.c — the pieces of training that need no model: the learning-rate schedule, the
// data order, state.bin (round trip and every kind of damage). test_train.py also runs it as
// a tool: `shard PATH VOCAB N SEED` writes a token shard with elm_shard_write.
#include "elmtest.h"
#include "engine/base/rng.h"
#include "engine/model/checkpoint.h"
#include "engine/base/fsutil.h"
#include "engine/generate/sample.h"
#include "engine/train/train.h"
#include "tokenizer/shard.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// Tokens from a small Markov chain (next = 7 * prev + noise mod V, an <|endoftext|> = 0 every
// ~40 tokens), so a tiny model has something to learn.
static int write_shard(const char *path, int vocab, long n, uint64_t seed) {
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)n);
    uint64_t r = seed;
    long docs = 1;
    ids[0] = 0;
    for (long i = 1; i < n; i++) {
        r = elm_rng_mix(r);
        if (r % 40 == 0) {
            ids[i] = 0;
            docs++;
        } else {
            ids[i] = (int32_t)((ids[i - 1] * 7 + 1 + (int)((r >> 8) % 3)) % vocab);
        }
    }
    ElmError e;
    int rc = elm_shard_write(path, ids, (size_t)n, (uint32_t)vocab, 0, (uint64_t)docs, &e);
    if (rc) fprintf(stderr, "%s\n", e.msg);
    free(ids);
    return rc ? 1 : 0;
}

static void check_schedule(void) {
    const float lr = 1e-3f, mn = 1e-4f;
    // Warmup: lr * (s + 1) / warmup.
    for (int s = 0; s < 10; s++) {
        float got = elm_train_lr(ELM_SCHED_COSINE, lr, mn, 10, 110, s);
        CHECK(fabsf(got - lr * (float)(s + 1) / 10.0f) < 1e-9f, "warmup step %d: %g", s, got);
    }
    // Cosine: lr at the end of warmup, the midpoint halfway, min_lr at the end.
    CHECK(elm_train_lr(ELM_SCHED_COSINE, lr, mn, 10, 110, 10) == lr, "cosine start");
    CHECK(fabsf(elm_train_lr(ELM_SCHED_COSINE, lr, mn, 10, 110, 60) - (lr + mn) / 2) < 1e-9f,
          "cosine midpoint");
    CHECK(fabsf(elm_train_lr(ELM_SCHED_COSINE, lr, mn, 10, 110, 110) - mn) < 1e-9f, "cosine end");
    // Every cosine value against the formula, in double.
    for (int s = 10; s < 110; s++) {
        double d = (s - 10) / 100.0;
        double want = mn + (lr - mn) * 0.5 * (1 + cos(M_PI * d));
        CHECK(fabs(elm_train_lr(ELM_SCHED_COSINE, lr, mn, 10, 110, s) - want) < 1e-9,
              "cosine step %d", s);
        double lin = lr - (lr - mn) * d;
        CHECK(fabs(elm_train_lr(ELM_SCHED_LINEAR, lr, mn, 10, 110, s) - lin) < 1e-9,
              "linear step %d", s);
        CHECK(elm_train_lr(ELM_SCHED_CONSTANT, lr, mn, 10, 110, s) == lr, "constant step %d", s);
    }
    // No warmup: the first step already runs at lr.
    CHECK(elm_train_lr(ELM_SCHED_COSINE, lr, mn, 0, 100, 0) == lr, "no warmup");
}

static void check_order(void) {
    enum { W = 1000 };
    uint32_t a[W], b[W], c[W];
    elm_train_epoch_order(a, W, 5, 0);
    elm_train_epoch_order(b, W, 5, 0);
    elm_train_epoch_order(c, W, 5, 1);
    CHECK(memcmp(a, b, sizeof a) == 0, "same seed and epoch, different order");
    CHECK(memcmp(a, c, sizeof a) != 0, "epochs share an order");
    int seen[W] = {0}, fixed = 0;
    for (int i = 0; i < W; i++) {
        if (a[i] < W) seen[a[i]]++;
        fixed += a[i] == (uint32_t)i;
    }
    int perm = 1;
    for (int i = 0; i < W; i++) perm &= seen[i] == 1;
    CHECK(perm, "not a permutation");
    CHECK(fixed < 10, "%d fixed points: not shuffled", fixed);
}

static void check_state(const char *dir) {
    char path[4096], bad[4096];
    snprintf(path, sizeof path, "%s/state.bin", dir);
    snprintf(bad, sizeof bad, "%s/bad.bin", dir);
    enum { N = 1000 };
    float m[N], v[N];
    for (int i = 0; i < N; i++) m[i] = (float)i * 0.5f - 7, v[i] = (float)(i * i) * 1e-3f;
    ElmTrainState st = {.step = 123,
                        .adam_t = 123,
                        .n_params = N,
                        .seed = 99,
                        .epoch = 2,
                        .cursor = 40,
                        .tokens_seen = 777,
                        .batch_size = 4,
                        .seq_len = 32,
                        .grad_accum = 2,
                        .vocab_size = 256};
    ElmError e;
    CHECK(elm_checkpoint_state_write(path, &st, m, v, &e) == 0, "%s", e.msg);
    ElmTrainState r;
    float *rm, *rv;
    CHECK(elm_checkpoint_state_read(path, &r, &rm, &rv, &e) == 0, "%s", e.msg);
    CHECK(memcmp(&r, &st, sizeof r) == 0, "header round trip");
    CHECK(rm && memcmp(rm, m, sizeof m) == 0 && memcmp(rv, v, sizeof v) == 0, "moments");
    free(rm), free(rv);

    char *data;
    size_t n;
    CHECK(elm_read_file(path, &data, &n, &e) == 0, "%s", e.msg);
    CHECK(n == ELM_STATE_HEADER_BYTES + 8 * N, "size %zu", n);
    struct {
        const char *what;
        size_t at;   // byte to flip (or SIZE_MAX)
        size_t keep; // bytes kept (truncation)
        const char *needle;
    } cases[] = {
        {"flipped moment byte", ELM_STATE_HEADER_BYTES + 4000, n, "checksum"},
        {"flipped step", 16, n, "checksum"},
        {"truncated data", SIZE_MAX, n - 4, "size"},
        {"truncated header", SIZE_MAX, 60, "truncated"},
        {"bad magic", 0, n, "magic"},
        {"lying n_params", 33, n, "size"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *copy = malloc(n);
        memcpy(copy, data, n);
        if (cases[k].at != SIZE_MAX) copy[cases[k].at] ^= 0x5a;
        CHECK(elm_write_file_atomic(bad, copy, cases[k].keep, &e) == 0, "%s", e.msg);
        free(copy);
        e.msg[0] = '\0';
        rm = rv = NULL;
        int rc = elm_checkpoint_state_read(bad, &r, &rm, &rv, &e);
        CHECK(rc != 0, "%s accepted", cases[k].what);
        CHECK(strstr(e.msg, cases[k].needle) && strstr(e.msg, "bad.bin"),
              "%s: message '%s' lacks '%s' or the file name", cases[k].what, e.msg,
              cases[k].needle);
        CHECK(rm == NULL && rv == NULL, "%s: buffers left allocated", cases[k].what);
    }
    free(data);
    unlink(path);
    unlink(bad);
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "shard") == 0)
        return write_shard(argv[2], atoi(argv[3]), atol(argv[4]), strtoull(argv[5], NULL, 10));
    check_schedule();
    check_order();
    char dir[] = "/tmp/elm-trainkit-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    check_state(dir);
    rmdir(dir);
    ELM_TEST_DONE();
}
