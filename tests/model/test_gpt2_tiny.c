// test_gpt2_tiny.c — ElmGpt2 against PyTorch + transformers on ../shared/fixtures/gpt2-tiny:
// logits, loss, every parameter's gradient, ten AdamW steps, greedy decoding with and without
// the KV cache, a loss step with targets left out (a control header's tokens under [train]
// header_loss = off); once with elm's own matmul loops and once with BLAS (when built with one).
#include "elmtest.h"

#include "engine/base/fsutil.h"
#include "engine/model/gpt2.h"
#include "engine/model/hf.h"
#include "engine/model/layers.h"
#include "engine/model/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char fixture[4096];

// max |a - b| / max |b|
static double rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > num || isnan(d)) num = isnan(d) ? INFINITY : d;
        if (fabs(b[i]) > den) den = fabs(b[i]);
    }
    return den > 0 ? num / den : num;
}

static float *read_f32(const ElmSafetensors *st, const char *name, size_t *n) {
    ElmError err;
    const ElmStTensor *t = elm_safetensors_find(st, name);
    if (!t) {
        fprintf(stderr, "%s: no tensor %s\n", st->path, name);
        exit(1);
    }
    float *x = malloc(t->numel * sizeof(float));
    if (elm_safetensors_read_f32(st, t, x, t->numel, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    if (n) *n = t->numel;
    return x;
}

static int *read_i32(const ElmSafetensors *st, const char *name, size_t *n) {
    ElmError err;
    const ElmStTensor *t = elm_safetensors_find(st, name);
    if (!t) {
        fprintf(stderr, "%s: no tensor %s\n", st->path, name);
        exit(1);
    }
    int *x = malloc(t->numel * sizeof(int));
    if (elm_safetensors_read_i32(st, t, x, t->numel, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    if (n) *n = t->numel;
    return x;
}

static void load(ElmGpt2 *m, int use_blas) {
    ElmError err;
    if (elm_hf_load(fixture, m, &err)) {
        fprintf(stderr, "load: %s\n", err.msg);
        exit(1);
    }
    m->threads = 1; // tiny shapes: one thread is fastest (layers are checked on two in test_layers)
    m->use_blas = use_blas;
}

static void check_forward_backward(const ElmSafetensors *ref, const ElmSafetensors *grads,
                                   int use_blas) {
    ElmGpt2 m;
    ElmError err;
    load(&m, use_blas);
    const ElmStTensor *ti = elm_safetensors_find(ref, "input_ids");
    int B = (int)ti->shape[0], T = (int)ti->shape[1], V = m.config.vocab_size;
    int *inputs = read_i32(ref, "input_ids", NULL), *targets = read_i32(ref, "targets", NULL);
    size_t n_logits;
    float *logits = read_f32(ref, "logits", &n_logits), *loss = read_f32(ref, "loss", NULL);

    CHECK(elm_gpt2_forward(&m, inputs, NULL, B, T, &err) == 0, "%s", err.msg);
    CHECK(n_logits == (size_t)B * T * V, "logits size");
    double e = rel_err(m.acts.logits, logits, n_logits);
    CHECK(e <= 1e-5, "blas %d: logits rel err %g", use_blas, e);

    CHECK(elm_gpt2_forward(&m, inputs, targets, B, T, &err) == 0, "%s", err.msg);
    e = rel_err(m.acts.logits, logits, n_logits);
    CHECK(e <= 1e-5, "blas %d: logits (with targets) rel err %g", use_blas, e);
    double e_logits = e, worst = 0;
    double le = fabs(m.mean_loss - loss[0]) / fabs(loss[0]);
    CHECK(le <= 1e-5, "blas %d: loss %.8f vs %.8f (rel %g)", use_blas, m.mean_loss, loss[0], le);

    CHECK(elm_gpt2_zero_grad(&m, &err) == 0, "%s", err.msg);
    CHECK(elm_gpt2_backward(&m, 1.0f, &err) == 0, "%s", err.msg);
    int count = elm_hf_param_count(&m.config), checked = 0;
    for (int k = 0; k < count; k++) {
        ElmHfParam p;
        elm_hf_param(&m.config, k, &p);
        char name[160];
        snprintf(name, sizeof name, "grad.%s", p.name);
        size_t n;
        float *ref_g = read_f32(grads, name, &n);
        float *mine = malloc(n * sizeof(float));
        elm_hf_to_hf(&p, m.grads_memory, mine);
        e = rel_err(mine, ref_g, n);
        CHECK(e <= 1e-4, "blas %d: %s rel err %g", use_blas, name, e);
        if (e > worst) worst = e;
        checked++;
        free(mine);
        free(ref_g);
    }
    printf("matmul %s: logits rel err %.3g, loss rel err %.3g, worst gradient rel err %.3g\n",
           use_blas ? "blas" : "loops", e_logits, le, worst);
    CHECK(checked == grads->n_tensors, "checked %d of %d gradient tensors", checked,
          grads->n_tensors);
    free(inputs);
    free(targets);
    free(logits);
    free(loss);
    elm_gpt2_free(&m);
}

static void check_adamw(const ElmSafetensors *ref, int use_blas) {
    ElmGpt2 m;
    ElmError err;
    load(&m, use_blas);
    const ElmStTensor *ti = elm_safetensors_find(ref, "input_ids");
    int B = (int)ti->shape[0], T = (int)ti->shape[1];
    int *inputs = read_i32(ref, "input_ids", NULL), *targets = read_i32(ref, "targets", NULL);
    size_t n;
    float *losses = read_f32(ref, "adamw_losses", &n);
    CHECK(n == 10, "ten AdamW losses");
    // reference.json: lr 1e-3, betas (0.9, 0.95), eps 1e-8, weight decay 0.1
    ElmAdamW opt = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f};
    float worst = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK(elm_gpt2_forward(&m, inputs, targets, B, T, &err) == 0, "%s", err.msg);
        if (fabsf(m.mean_loss - losses[i]) > worst) worst = fabsf(m.mean_loss - losses[i]);
        CHECK(fabsf(m.mean_loss - losses[i]) <= 1e-4f, "blas %d: AdamW loss %zu: %.6f vs %.6f",
              use_blas, i, m.mean_loss, losses[i]);
        CHECK(elm_gpt2_zero_grad(&m, &err) == 0, "%s", err.msg);
        CHECK(elm_gpt2_backward(&m, 1.0f, &err) == 0, "%s", err.msg);
        CHECK(elm_gpt2_adamw_step(&m, &opt, &err) == 0, "%s", err.msg);
    }
    printf("matmul %s: worst AdamW loss difference %.3g over %zu steps\n",
           use_blas ? "blas" : "loops", worst, n);
    free(inputs);
    free(targets);
    free(losses);
    elm_gpt2_free(&m);
}

// The trainer's clip (grad_norm, clip_coef, then adamw_step_scaled reading g * coef) against the
// eager clip_grad + adamw_step: bit for bit the same weights after every step, with the clip
// engaged (max_norm below every norm); the norm against a serial double sum.
static void check_clip_fused(const ElmSafetensors *ref, int use_blas) {
    ElmGpt2 a, b;
    ElmError err;
    load(&a, use_blas);
    load(&b, use_blas);
    const ElmStTensor *ti = elm_safetensors_find(ref, "input_ids");
    int B = (int)ti->shape[0], T = (int)ti->shape[1];
    int *inputs = read_i32(ref, "input_ids", NULL), *targets = read_i32(ref, "targets", NULL);
    ElmAdamW opt = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f};
    size_t n = a.num_parameters, differ = 0;
    float max_norm = 1e-3f, worst_norm = 0;
    for (int s = 0; s < 6; s++) {
        ElmGpt2 *ms[2] = {&a, &b};
        for (int k = 0; k < 2; k++) {
            CHECK(elm_gpt2_forward(ms[k], inputs, targets, B, T, &err) == 0, "%s", err.msg);
            CHECK(elm_gpt2_zero_grad(ms[k], &err) == 0, "%s", err.msg);
            CHECK(elm_gpt2_backward(ms[k], 1.0f, &err) == 0, "%s", err.msg);
        }
        double sq = 0;
        for (size_t i = 0; i < n; i++) sq += (double)b.grads_memory[i] * b.grads_memory[i];
        float na = elm_gpt2_clip_grad(&a, max_norm), nb = elm_gpt2_grad_norm(&b);
        CHECK(na == nb, "step %d: clip_grad's norm %.9g, grad_norm's %.9g", s, na, nb);
        CHECK(nb > max_norm, "step %d: norm %g does not engage the clip", s, nb);
        float rel = fabsf(nb - (float)sqrt(sq)) / (float)sqrt(sq);
        if (rel > worst_norm) worst_norm = rel;
        CHECK(elm_gpt2_adamw_step(&a, &opt, &err) == 0, "%s", err.msg);
        CHECK(elm_gpt2_adamw_step_scaled(&b, &opt, elm_gpt2_clip_coef(nb, max_norm), &err) == 0,
              "%s", err.msg);
        for (size_t i = 0; i < n; i++)
            differ += memcmp(&a.params_memory[i], &b.params_memory[i], sizeof(float)) != 0;
    }
    CHECK(worst_norm <= 1e-6f, "grad norm vs a serial double sum: %.3g", worst_norm);
    CHECK(differ == 0, "fused clip: %zu parameter values differ from clip_grad + adamw_step",
          differ);
    CHECK(elm_gpt2_clip_coef(2.0f, 1.0f) == 1.0f / (2.0f + 1e-6f) &&
              elm_gpt2_clip_coef(0.5f, 1.0f) == 1.0f && elm_gpt2_clip_coef(9.0f, 0.0f) == 1.0f,
          "clip_coef's rule");
    printf("matmul %s: fused clip equal bit for bit over 6 steps x %zu values; norm within %.2g\n",
           use_blas ? "blas" : "loops", n, worst_norm);
    free(inputs);
    free(targets);
    elm_gpt2_free(&a);
    elm_gpt2_free(&b);
}

static void check_greedy(const ElmSafetensors *ref, int use_blas) {
    ElmGpt2 m;
    ElmError err;
    load(&m, use_blas);
    size_t np, no;
    int *prompt = read_i32(ref, "greedy_prompt", &np), *want = read_i32(ref, "greedy_output", &no);
    int V = m.config.vocab_size;
    float *logits = malloc((size_t)V * sizeof(float));
    int *got = malloc(no * sizeof(int));
    memcpy(got, prompt, np * sizeof(int));
    CHECK(elm_gpt2_kv_alloc(&m, 1, (int)no, &err) == 0, "%s", err.msg);
    CHECK(elm_gpt2_prefill(&m, 0, prompt, (int)np, logits, &err) == 0, "%s", err.msg);
    for (size_t t = np; t < no; t++) {
        got[t] = elm_gpt2_argmax(logits, V);
        if (t + 1 < no) CHECK(elm_gpt2_decode_step(&m, &got[t], logits, &err) == 0, "%s", err.msg);
    }
    int same = 0;
    while (same < (int)no && got[same] == want[same]) same++;
    CHECK(same == (int)no, "blas %d: KV-cache greedy decode differs at token %d", use_blas, same);
    // Without the cache: the full forward on the growing sequence.
    int *seq = malloc(no * sizeof(int));
    memcpy(seq, prompt, np * sizeof(int));
    for (size_t t = np; t < no; t++) {
        CHECK(elm_gpt2_forward(&m, seq, NULL, 1, (int)t, &err) == 0, "%s", err.msg);
        seq[t] = elm_gpt2_argmax(m.acts.logits + (t - 1) * V, V);
    }
    CHECK(memcmp(seq, got, no * sizeof(int)) == 0, "blas %d: cached and uncached decode differ",
          use_blas);
    // A batch of two sequences at different positions decodes each as if alone.
    CHECK(elm_gpt2_kv_alloc(&m, 2, (int)no, &err) == 0, "%s", err.msg);
    float *lg2 = malloc(2 * (size_t)V * sizeof(float));
    CHECK(elm_gpt2_prefill(&m, 0, want, (int)np, lg2, &err) == 0, "%s", err.msg);
    CHECK(elm_gpt2_prefill(&m, 1, want, (int)np + 3, lg2 + V, &err) == 0, "%s", err.msg);
    int tok[2] = {want[np], want[np + 3]};
    CHECK(elm_gpt2_decode_step(&m, tok, lg2, &err) == 0, "%s", err.msg);
    CHECK(elm_gpt2_argmax(lg2, V) == want[np + 1] && elm_gpt2_argmax(lg2 + V, V) == want[np + 4],
          "blas %d: batched decode", use_blas);
    free(lg2);
    free(seq);
    free(prompt);
    free(want);
    free(logits);
    free(got);
    elm_gpt2_free(&m);
}

// The gradient of `scale * mean_loss` over targets `tg` (into out, num_parameters floats).
static void masked_grads(ElmGpt2 *m, const int *inputs, const int *tg, int B, int T, float *out,
                         float *loss) {
    ElmError err;
    CHECK(elm_gpt2_forward(m, inputs, tg, B, T, &err) == 0, "%s", err.msg);
    CHECK(elm_gpt2_zero_grad(m, &err) == 0, "%s", err.msg);
    CHECK(elm_gpt2_backward(m, 1.0f, &err) == 0, "%s", err.msg);
    memcpy(out, m->grads_memory, m->num_parameters * sizeof(float));
    *loss = m->mean_loss;
}

// Targets < 0 leave the loss: a seeded third of the positions is left out (set M, the rest K).
// The loss must be the mean over K of -log softmax(PyTorch's logits)[target] (computed here in
// double), and, as the loss is a mean of per-position terms, the gradients over K and over M
// must add up to PyTorch's over every position: |K| g_K + |M| g_M = N g_all, every element.
static void check_masked(const ElmSafetensors *ref, const ElmSafetensors *grads, int use_blas) {
    ElmGpt2 m;
    load(&m, use_blas);
    const ElmStTensor *ti = elm_safetensors_find(ref, "input_ids");
    int B = (int)ti->shape[0], T = (int)ti->shape[1], V = m.config.vocab_size, N = B * T;
    int *inputs = read_i32(ref, "input_ids", NULL), *targets = read_i32(ref, "targets", NULL);
    float *logits = read_f32(ref, "logits", NULL);
    int *tk = malloc((size_t)N * sizeof(int)), *tm = malloc((size_t)N * sizeof(int)), nk = 0;
    uint64_t x = 0x6D61736Bull; // "mask"
    double want = 0;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int left_out = (x >> 33) % 3 == 0 || i == 0; // position 0 always (as a header's first)
        tk[i] = left_out ? -1 : targets[i], tm[i] = left_out ? targets[i] : -1;
        if (left_out) continue;
        const float *l = logits + (size_t)i * V;
        double mx = l[0], z = 0;
        for (int v = 1; v < V; v++) mx = l[v] > mx ? l[v] : mx;
        for (int v = 0; v < V; v++) z += exp(l[v] - mx);
        want += -(l[targets[i]] - mx - log(z));
        nk++;
    }
    want /= nk;
    size_t P = m.num_parameters;
    float *gk = malloc(P * sizeof(float)), *gm = malloc(P * sizeof(float)), lk, lm;
    masked_grads(&m, inputs, tk, B, T, gk, &lk);
    CHECK(m.n_targets == nk, "blas %d: n_targets %d, want %d", use_blas, m.n_targets, nk);
    masked_grads(&m, inputs, tm, B, T, gm, &lm);
    double le = fabs(lk - want) / fabs(want);
    CHECK(le <= 1e-5, "blas %d: masked loss %.8f vs %.8f (rel %g)", use_blas, lk, want, le);
    int count = elm_hf_param_count(&m.config);
    double worst = 0;
    for (int k = 0; k < count; k++) {
        ElmHfParam p;
        elm_hf_param(&m.config, k, &p);
        char name[160];
        snprintf(name, sizeof name, "grad.%s", p.name);
        size_t n;
        float *ref_g = read_f32(grads, name, &n);
        float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
        elm_hf_to_hf(&p, gk, a);
        elm_hf_to_hf(&p, gm, b);
        for (size_t i = 0; i < n; i++) {
            a[i] = (float)(((double)nk * a[i] + (double)(N - nk) * b[i]) / N);
        }
        double e = rel_err(a, ref_g, n);
        CHECK(e <= 1e-4, "blas %d: masked %s: |K| g_K + |M| g_M vs N g_all rel err %g", use_blas,
              name, e);
        if (e > worst) worst = e;
        free(a), free(b), free(ref_g);
    }
    printf("matmul %s: %d of %d targets kept, masked loss rel err %.3g, worst summed gradient "
           "rel err %.3g\n",
           use_blas ? "blas" : "loops", nk, N, le, worst);
    free(gk), free(gm), free(tk), free(tm), free(inputs), free(targets), free(logits);
    elm_gpt2_free(&m);
}

int main(void) {
    const char *shared = elm_test_shared();
    if (!shared) return 1;
    snprintf(fixture, sizeof fixture, "%s/fixtures/gpt2-tiny", shared);
    char path[4200];
    ElmSafetensors ref, grads;
    ElmError err;
    snprintf(path, sizeof path, "%s/reference.safetensors", fixture);
    if (elm_safetensors_open(&ref, path, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    snprintf(path, sizeof path, "%s/grads.safetensors", fixture);
    if (elm_safetensors_open(&grads, path, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    for (int blas = 0; blas <= elm_matmul_have_blas(); blas++) {
        double t0 = elm_now();
        check_forward_backward(&ref, &grads, blas);
        check_adamw(&ref, blas);
        check_clip_fused(&ref, blas);
        check_greedy(&ref, blas);
        check_masked(&ref, &grads, blas);
        printf("matmul %s: %.2f s\n", blas ? "blas" : "loops", elm_now() - t0);
    }
    elm_safetensors_close(&ref);
    elm_safetensors_close(&grads);
    ELM_TEST_DONE();
}
