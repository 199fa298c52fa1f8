// bench_model.c — the model parts of `elm bench` (see bench_model.h): the same model, data and
// device choice as `elm train`, timed step by step, nothing written.
#include "engine/app/bench_model.h"
#include "engine/base/fsutil.h"
#include "engine/model/gpt2.h"
#include "engine/train/train.h"
#include "engine/base/stats.h"
#include "engine/train/train_device.h"
#include "tokenizer/shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static double peak_rss_mb(void) {
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss / 1024.0 : 0;
}

// The run's training tokens (<run>/tokens/train.bin or train.data), or NULL when absent.
static int32_t *load_tokens(const ElmRun *run, size_t *n, uint32_t *vocab, char *from, size_t cap,
                            ElmError *err) {
    char dir[4096];
    elm_train_data_dir(run, dir, sizeof dir);
    snprintf(from, cap, "%s/train.bin", dir);
    if (!elm_file_exists(from)) return NULL;
    ElmShardHeader h;
    int32_t *ids = NULL;
    if (elm_shard_read(from, &h, &ids, err)) return NULL;
    *n = (size_t)h.n_tokens, *vocab = h.vocab_size;
    return ids;
}

int elm_bench_train(ElmRun *run, int repeat, int warmup, cJSON *out, ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    int use_cuda;
    if (elm_train_device_choose(cfg, &use_cuda, err)) return -1;
    int B = (int)elm_cfg_int(cfg, "train.batch_size"), T = (int)elm_cfg_int(cfg, "train.seq_len");
    int accum = (int)elm_cfg_int(cfg, "train.grad_accum");
    size_t n_tok = 0;
    uint32_t vocab = 0;
    char from[4200];
    ElmError e2 = {{0}};
    int32_t *tok = load_tokens(run, &n_tok, &vocab, from, sizeof from, &e2);
    if (!tok && e2.msg[0]) return elm_err(err, "%s", e2.msg);
    ElmGpt2 m;
    memset(&m, 0, sizeof m);
    int mv = (int)elm_cfg_int(cfg, "model.vocab_size");
    if (elm_gpt2_open_from_cfg(&m, cfg,
                               tok      ? (int)vocab
                               : mv > 0 ? mv
                                        : 50257,
                               run->seed, run->threads, run->quiet, err)) {
        free(tok);
        return -1;
    }
    int rc = -1, V = m.config.vocab_size;
    size_t bt = (size_t)B * T;
    int *in = elm_malloc(bt * sizeof *in, err), *tg = elm_malloc(bt * sizeof *tg, err);
    double *secs = elm_malloc((size_t)repeat * sizeof *secs, err);
    ElmTrainDevice dev = {0};
    if (T > m.config.n_ctx) {
        elm_err(err, "train.seq_len = %d is longer than the model's n_ctx = %d", T, m.config.n_ctx);
        goto done;
    }
    if (tok && n_tok < bt + 1) {
        elm_err(err, "%s: %zu tokens, fewer than one batch of %zu", from, n_tok, bt + 1);
        goto done;
    }
    if (!in || !tg || !secs) goto done; // err says "out of memory"
    if (elm_train_device_open(&dev, &m, cfg, use_cuda, B, T, err)) goto done;
    ElmAdamW opt;
    float clip, loss = 0, norm = 0;
    elm_train_adamw_from_cfg(cfg, &opt, &clip);
    uint64_t s = run->seed * 0x9e3779b97f4a7c15ull + 1, pos = 0;
    for (int step = 0; step < warmup + repeat; step++) {
        double t0 = elm_now();
        if (elm_train_device_zero_grad(&dev, err)) goto done;
        for (int a = 0; a < accum; a++) {
            for (size_t i = 0; i < bt; i++) { // the shard in order, else random ids
                if (tok) {
                    if (pos + bt + 1 > n_tok) pos = 0;
                    in[i] = tok[pos + i], tg[i] = tok[pos + i + 1];
                } else {
                    s = s * 6364136223846793005ull + 1442695040888963407ull;
                    in[i] = (int)((s >> 33) % (uint64_t)V);
                    tg[i] = (int)((s >> 13) % (uint64_t)V);
                }
            }
            pos += bt;
            if (elm_train_device_forward_backward(&dev, in, tg, B, T, 1.0f / (float)accum, &loss,
                                                  err))
                goto done;
        }
        if (elm_train_device_clip(&dev, clip, &norm, err) ||
            elm_train_device_update(&dev, &opt, err) || elm_train_device_sync(&dev, err))
            goto done;
        if (step >= warmup) secs[step - warmup] = elm_now() - t0;
    }
    double med = elm_median(secs, repeat), mn = elm_min(secs, repeat);
    cJSON_AddStringToObject(out, "device", dev.gpu ? "cuda" : "cpu");
    cJSON_AddStringToObject(out, "precision", elm_cfg_str(cfg, "train.precision"));
    cJSON_AddStringToObject(out, "tokens", tok ? from : "random ids (no token shards)");
    cJSON_AddNumberToObject(out, "params", (double)m.num_parameters);
    cJSON_AddNumberToObject(out, "n_layer", m.config.n_layer);
    cJSON_AddNumberToObject(out, "n_embd", m.config.n_embd);
    cJSON_AddNumberToObject(out, "vocab_size", V);
    cJSON_AddNumberToObject(out, "batch_size", B);
    cJSON_AddNumberToObject(out, "seq_len", T);
    cJSON_AddNumberToObject(out, "grad_accum", accum);
    cJSON_AddNumberToObject(out, "threads", run->threads);
    cJSON_AddNumberToObject(out, "seconds", med);
    cJSON_AddNumberToObject(out, "min_seconds", mn);
    cJSON_AddNumberToObject(out, "runs", repeat);
    cJSON_AddNumberToObject(out, "tok_per_s", (double)bt * accum / med);
    cJSON_AddNumberToObject(out, "last_loss", loss);
    cJSON_AddNumberToObject(out, "peak_rss_mb", peak_rss_mb());
    if (dev.gpu)
        cJSON_AddNumberToObject(out, "gpu_peak_mem_mb",
                                (double)elm_train_device_peak_mem(&dev) / (1024.0 * 1024.0));
    rc = 0;
done:
    elm_train_device_close(&dev);
    elm_gpt2_free(&m);
    free(tok), free(in), free(tg), free(secs);
    return rc;
}

// One round of the prefill comparison: B prompts of `prompt` tokens into a B x cap cache, one
// at a time and in one batch, the order alternating with the round so that neither always
// runs second (warm caches) under the same share of a loaded machine. Prompt tok/s each.
static int prefill_round(ElmGpt2 *m, int B, int prompt, int cap, int round, uint64_t seed,
                         double *serial, double *batched, ElmError *err) {
    for (int k = 0; k < 2; k++) {
        int b = (k + round) % 2;
        if (elm_gpt2_prefill_bench(m, B, prompt, cap, b, seed, b ? batched : serial, err))
            return -1;
    }
    return 0;
}

int elm_bench_decode(ElmRun *run, int repeat, int warmup, cJSON *out, ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    int B = (int)elm_cfg_int(cfg, "generate.batch_size");
    int n_new = (int)elm_cfg_int(cfg, "generate.max_new_tokens"), prompt = 16;
    int mv = (int)elm_cfg_int(cfg, "model.vocab_size");
    ElmGpt2 m;
    memset(&m, 0, sizeof m);
    if (elm_gpt2_open_from_cfg(&m, cfg, mv > 0 ? mv : 50257, run->seed, run->threads, run->quiet,
                               err) ||
        elm_gpt2_decode_from_cfg(&m, cfg, err)) {
        elm_gpt2_free(&m);
        return -1;
    }
    if (n_new <= 0) n_new = 64; // max_new_tokens = 0 means "as the mode decides"
    if (prompt + n_new > m.config.n_ctx) n_new = m.config.n_ctx - prompt;
    int serial = elm_cfg_enum(cfg, "generate.prefill") == 1;
    // per round: decode (prompt included), then the prompts alone, serial and batched
    double *rate = elm_malloc((size_t)repeat * 4 * sizeof *rate, err);
    int rc = -1;
    if (!rate) goto done;
    double *pf_ser = rate + repeat, *pf_bat = pf_ser + repeat, *pf_ratio = pf_bat + repeat;
    for (int i = 0; i < warmup + repeat; i++) {
        double r, ps, pb;
        uint64_t seed = run->seed + (uint64_t)i;
        if (elm_gpt2_decode_bench(&m, B, prompt, n_new, serial ? 1 : 2, seed, &r, err) ||
            prefill_round(&m, B, prompt, prompt + n_new, i, seed, &ps, &pb, err))
            goto done;
        if (i < warmup) continue;
        rate[i - warmup] = r;
        pf_ser[i - warmup] = ps, pf_bat[i - warmup] = pb, pf_ratio[i - warmup] = pb / ps;
    }
    double med = elm_median(rate, repeat), mn = elm_min(rate, repeat);
    cJSON_AddStringToObject(out, "device", "cpu");
    cJSON_AddNumberToObject(out, "params", (double)m.num_parameters);
    cJSON_AddNumberToObject(out, "batch_size", B);
    cJSON_AddStringToObject(out, "weights", elm_cfg_str(cfg, "generate.weights"));
    cJSON_AddStringToObject(out, "kv_cache", elm_cfg_str(cfg, "generate.kv_cache"));
    cJSON_AddStringToObject(out, "kernel",
                            m.weights == ELM_QMM_FP32
                                ? "fp32"
                                : elm_qmatmul_isa_name(m.weights, m.weights_int8, ELM_QMM_BEST));
    cJSON_AddNumberToObject(out, "prompt_tokens", prompt);
    cJSON_AddNumberToObject(out, "new_tokens", n_new);
    cJSON_AddNumberToObject(out, "threads", run->threads);
    cJSON_AddNumberToObject(out, "tok_per_s", med);
    cJSON_AddNumberToObject(out, "min_tok_per_s", mn);
    cJSON_AddStringToObject(out, "prefill", serial ? "serial" : "batched");
    cJSON_AddNumberToObject(out, "prefill_serial_tok_per_s", elm_median(pf_ser, repeat));
    cJSON_AddNumberToObject(out, "prefill_batched_tok_per_s", elm_median(pf_bat, repeat));
    cJSON_AddNumberToObject(out, "prefill_batched_over_serial", elm_median(pf_ratio, repeat));
    cJSON_AddNumberToObject(out, "runs", repeat);
    cJSON_AddNumberToObject(out, "peak_rss_mb", peak_rss_mb());
    rc = 0;
done:
    free(rate);
    elm_gpt2_free(&m);
    return rc;
}
