// bench_quality.c — what bf16 and int8 decode weights cost in quality, for a trained model and
// its validation shard: perplexity over windows of the shard scored through the KV cache
// (elm_gpt2_prefill_logits) with each format, its change against fp32, and greedy agreement
// (prompts from the shard, n_new greedy tokens each: the share of tokens equal to fp32's at the
// same position and the share of whole texts equal). Run by bench/generate_cpu/quality.sh.
#include "engine/model/gpt2.h"
#include "engine/model/hf.h"
#include "tokenizer/shard.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_VAR 6
static const struct {
    const char *name;
    int fmt, int8_mode, kv_bf16;
} VARS[N_VAR] = {
    {"fp32", ELM_QMM_FP32, 0, 0},
    {"bf16", ELM_QMM_BF16, 0, 0},
    {"fp32-kvbf16", ELM_QMM_FP32, 0, 1},
    {"int8-kvbf16", ELM_QMM_INT8, ELM_QMM_INT8_ACT8, 1},
    {"int8", ELM_QMM_INT8, ELM_QMM_INT8_ACT8, 0},
    {"int8-deq", ELM_QMM_INT8, ELM_QMM_INT8_DEQ, 0},
};

// Mean negative log-likelihood of the next token over n_win windows of T tokens.
static int mean_nll(ElmGpt2 *m, const int32_t *ids, size_t n_ids, int T, int n_win, double *nll,
                    ElmError *err) {
    int V = m->config.vocab_size;
    float *lg = malloc(sizeof(float) * (size_t)T * V);
    double sum = 0;
    long count = 0;
    if (elm_gpt2_kv_alloc(m, 1, T, err)) return -1;
    for (int w = 0; w < n_win && (size_t)(w + 1) * T + 1 <= n_ids; w++) {
        const int32_t *x = ids + (size_t)w * T;
        elm_gpt2_kv_reset(m);
        if (elm_gpt2_prefill_logits(m, 0, x, T, lg, err)) return -1;
        for (int t = 0; t < T; t++) {
            const float *row = lg + (size_t)t * V;
            double mx = row[0], s = 0;
            for (int i = 1; i < V; i++) mx = row[i] > mx ? row[i] : mx;
            for (int i = 0; i < V; i++) s += exp(row[i] - mx);
            sum -= row[x[t + 1]] - mx - log(s);
            count++;
        }
    }
    free(lg);
    *nll = sum / (double)count;
    return 0;
}

// Greedy continuations of n_prompt prompts (plen tokens each, from the shard): out (n_prompt,
// n_new).
static int greedy(ElmGpt2 *m, const int32_t *ids, size_t n_ids, int n_prompt, int plen, int n_new,
                  int *out, ElmError *err) {
    size_t step = (n_ids - (size_t)plen) / (size_t)n_prompt; // prompts spread over the shard
    int V = m->config.vocab_size;
    float *lg = malloc(sizeof(float) * (size_t)n_prompt * V);
    if (elm_gpt2_kv_alloc(m, n_prompt, plen + n_new, err)) return -1;
    for (int b = 0; b < n_prompt; b++)
        if (elm_gpt2_prefill(m, b, ids + (size_t)b * step, plen, lg + (size_t)b * V, err))
            return -1;
    for (int t = 0; t < n_new; t++) {
        for (int b = 0; b < n_prompt; b++)
            out[(size_t)b * n_new + t] = elm_gpt2_argmax(lg + (size_t)b * V, V);
        if (t + 1 < n_new) {
            int tok[256];
            for (int b = 0; b < n_prompt; b++) tok[b] = out[(size_t)b * n_new + t];
            if (elm_gpt2_decode_step(m, tok, lg, err)) return -1;
        }
    }
    free(lg);
    return 0;
}

int main(int argc, char **argv) {
    const char *model = NULL, *tokens = NULL;
    int T = 64, n_win = 200, n_prompt = 32, plen = 8, n_new = 32, threads = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--model"))
            model = v;
        else if (!strcmp(k, "--tokens"))
            tokens = v;
        else if (!strcmp(k, "--T"))
            T = atoi(v);
        else if (!strcmp(k, "--windows"))
            n_win = atoi(v);
        else if (!strcmp(k, "--prompts"))
            n_prompt = atoi(v);
        else if (!strcmp(k, "--new"))
            n_new = atoi(v);
        else if (!strcmp(k, "--threads"))
            threads = atoi(v);
        else
            model = NULL, i = argc;
    }
    if (!model || !tokens || n_prompt > 256) {
        fprintf(stderr, "usage: bench_quality --model HF_DIR --tokens val.bin [--T 64] "
                        "[--windows 200] [--prompts 32 (<= 256)] [--new 32] [--threads 2]\n");
        return 2;
    }
    ElmError err;
    ElmGpt2 m;
    ElmShardHeader h;
    int32_t *ids = NULL;
    if (elm_hf_load(model, &m, &err) || elm_shard_read(tokens, &h, &ids, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (T > m.config.n_ctx - 1) T = m.config.n_ctx - 1;
    if (h.n_tokens < (uint64_t)n_prompt + plen + (uint64_t)T + 1) {
        fprintf(stderr, "%s: %llu tokens, too few for %d prompts\n", tokens,
                (unsigned long long)h.n_tokens, n_prompt);
        return 1;
    }
    m.threads = threads;
    double nll[N_VAR];
    int *text[N_VAR];
    for (int v = 0; v < N_VAR; v++) {
        text[v] = malloc(sizeof(int) * (size_t)n_prompt * n_new);
        m.weights_int8 = VARS[v].int8_mode, m.kv_bf16 = VARS[v].kv_bf16;
        if (elm_gpt2_set_weights(&m, VARS[v].fmt, &err) ||
            mean_nll(&m, ids, (size_t)h.n_tokens, T, n_win, &nll[v], &err) ||
            greedy(&m, ids, (size_t)h.n_tokens, n_prompt, plen, n_new, text[v], &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        int tok_same = 0, text_same = 0;
        for (int b = 0; b < n_prompt; b++) {
            int all = 1;
            for (int t = 0; t < n_new; t++) {
                int eq = text[v][(size_t)b * n_new + t] == text[0][(size_t)b * n_new + t];
                tok_same += eq, all &= eq;
            }
            text_same += all;
        }
        double ppl = exp(nll[v]), ppl0 = exp(nll[0]);
        printf("{\"model\": \"%s\", \"weights\": \"%s\", \"kernel\": \"%s\", \"val_ppl\": %.4f, "
               "\"ppl_change_pct\": %.3f, \"mean_logprob_diff\": %.5f, \"greedy_token_agree\": "
               "%.4f, \"greedy_text_agree\": %.4f, \"windows_T\": %d, \"prompts\": %d, \"new\": "
               "%d}\n",
               model, VARS[v].name,
               VARS[v].fmt == ELM_QMM_FP32
                   ? "fp32"
                   : elm_qmatmul_isa_name(VARS[v].fmt, VARS[v].int8_mode, ELM_QMM_BEST),
               ppl, 100.0 * (ppl / ppl0 - 1.0), nll[0] - nll[v],
               (double)tok_same / ((double)n_prompt * n_new), (double)text_same / n_prompt, T,
               n_prompt, n_new);
        fflush(stdout);
    }
    for (int v = 0; v < N_VAR; v++) free(text[v]);
    free(ids);
    elm_gpt2_free(&m);
    return 0;
}
