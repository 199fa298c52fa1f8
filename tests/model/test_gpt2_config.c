// test_gpt2_config.c — [model] presets and custom sizes, init = scratch (GPT-2's initialisation,
// seeded) and init = PATH (an HF folder whose config must agree), parameter counts.
#include "elmtest.h"

#include "engine/config/config.h"
#include "engine/model/gpt2.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int open_cfg(const char *ini, ElmGpt2 *m, int vocab, uint64_t seed, ElmError *err) {
    ElmConfig cfg;
    if (elm_config_init(&cfg, err) || elm_config_load_string(&cfg, ini, "test.ini", err)) return -1;
    int rc = elm_gpt2_open_from_cfg(m, &cfg, vocab, seed, 1, 1, err);
    elm_config_free(&cfg);
    return rc;
}

static void stats(const float *x, size_t n, double *mean, double *std) {
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) s += x[i], s2 += (double)x[i] * x[i];
    *mean = s / n;
    *std = sqrt(s2 / n - *mean * *mean);
}

int main(void) {
    const char *shared = elm_test_shared();
    if (!shared) return 1;
    ElmError err;
    ElmGpt2Config c;
    // Published GPT-2 parameter counts (tied LM head, vocab 50257).
    const char *names[] = {"gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"};
    const size_t counts[] = {124439808, 354823168, 774030080, 1557611200};
    for (int i = 0; i < 4; i++) {
        CHECK(elm_gpt2_preset(names[i], &c, &err) == 0, "%s", err.msg);
        ElmGpt2TensorInfo last;
        elm_gpt2_tensor_info(&c, ELM_GPT2_NUM_TENSORS - 1, &last);
        CHECK(last.offset + last.size == counts[i], "%s: %zu parameters", names[i],
              last.offset + last.size);
    }
    CHECK(elm_gpt2_preset("gpt3", &c, &err) != 0 && strstr(err.msg, "gpt3"), "unknown preset");

    ElmGpt2 m, m2;
    const char *tiny = "[model]\npreset = custom\nn_layer = 3\nn_head = 2\nn_embd = 32\n"
                       "n_ctx = 24\nvocab_size = 0\n";
    CHECK(open_cfg(tiny, &m, 101, 7, &err) == 0, "%s", err.msg);
    CHECK(m.config.n_layer == 3 && m.config.n_embd == 32 && m.config.vocab_size == 101,
          "custom sizes with the tokenizer's vocabulary");
    double mean, std;
    stats(m.params.wte, (size_t)101 * 32, &mean, &std);
    CHECK(fabs(std - 0.02) < 0.002 && fabs(mean) < 0.002, "wte std %g mean %g", std, mean);
    stats(m.params.fcw, (size_t)3 * 128 * 32, &mean, &std);
    CHECK(fabs(std - 0.02) < 0.001, "fcw std %g", std);
    stats(m.params.fcprojw, (size_t)3 * 128 * 32, &mean, &std);
    CHECK(fabs(std - 0.02 / sqrt(6.0)) < 0.0005, "fcprojw std %g (want %g)", std, 0.02 / sqrt(6.0));
    stats(m.params.attprojw, (size_t)3 * 32 * 32, &mean, &std);
    CHECK(fabs(std - 0.02 / sqrt(6.0)) < 0.0008, "attprojw std %g", std);
    int ones = 1, zeros = 1;
    for (int i = 0; i < 3 * 32; i++) {
        ones &= m.params.ln1w[i] == 1.0f && m.params.ln2w[i] == 1.0f;
        zeros &= m.params.ln1b[i] == 0.0f && m.params.attprojb[i] == 0.0f;
    }
    for (int i = 0; i < 3 * 128; i++) zeros &= m.params.fcb[i] == 0.0f;
    CHECK(ones && zeros, "layer norms start at 1/0 and biases at 0");
    CHECK(open_cfg(tiny, &m2, 101, 7, &err) == 0, "%s", err.msg);
    CHECK(memcmp(m.params_memory, m2.params_memory, m.num_parameters * 4) == 0,
          "same seed, same weights");
    elm_gpt2_free(&m2);
    CHECK(open_cfg(tiny, &m2, 101, 8, &err) == 0, "%s", err.msg);
    CHECK(memcmp(m.params_memory, m2.params_memory, m.num_parameters * 4) != 0,
          "another seed, other weights");
    elm_gpt2_free(&m2);
    elm_gpt2_free(&m);

    CHECK(open_cfg("[model]\npreset = custom\nn_head = 5\nn_embd = 32\n", &m, 50257, 1, &err) !=
                  0 &&
              strstr(err.msg, "divisible"),
          "n_embd %% n_head: %s", err.msg);
    CHECK(open_cfg("[model]\nvocab_size = 0\n", &m, 0, 1, &err) != 0 && strstr(err.msg, "vocab"),
          "no vocabulary: %s", err.msg);

    char ini[8192];
    snprintf(ini, sizeof ini,
             "[model]\npreset = custom\nn_layer = 2\nn_head = 4\nn_embd = 64\nn_ctx = 64\n"
             "init = %s/fixtures/gpt2-tiny\n",
             shared);
    CHECK(open_cfg(ini, &m, 50257, 1, &err) == 0, "%s", err.msg);
    CHECK(m.params.wte[0] != 0.0f && m.config.n_layer == 2, "init from the fixture folder");
    elm_gpt2_free(&m);
    snprintf(ini, sizeof ini, "[model]\npreset = gpt2\ninit = %s/fixtures/gpt2-tiny\n", shared);
    CHECK(open_cfg(ini, &m, 50257, 1, &err) != 0 && strstr(err.msg, "[model] init") &&
              strstr(err.msg, "gpt2-tiny"),
          "size mismatch names the key and folder: %s", err.msg);
    ELM_TEST_DONE();
}
