// cmd_bench.c — `elm bench`: elm's own side of the benchmarks under bench/, timed in-process
// (median of repeats after warm-up) so a script can set a peer's time beside it in one run:
// the validators (eval/bench_validators.c) and the model's training step and decode
// (bench_model.c).
#include "engine/app/cli.h"
#include "engine/base/fsutil.h"
#include "engine/app/bench_model.h"
#include "eval/bench_validators.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int int_opt(const ElmCli *cli, const char *name, int def, int min, int *out, ElmError *err) {
    const char *v = elm_cli_opt(cli, name);
    *out = def;
    if (!v) return 0;
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < min || x > 100000)
        return elm_err(err, "%s%s: want an integer from %d to 100000", name, v, min);
    *out = (int)x;
    return 0;
}

static void print_table(const cJSON *out) {
    const cJSON *d = cJSON_GetObjectItem(out, "data");
    printf("validators: %d rows (%d train, %d test), %d terms, %d threads, median of %d runs\n",
           (int)cJSON_GetNumberValue(cJSON_GetObjectItem(d, "rows")),
           (int)cJSON_GetNumberValue(cJSON_GetObjectItem(d, "train")),
           (int)cJSON_GetNumberValue(cJSON_GetObjectItem(d, "test")),
           (int)cJSON_GetNumberValue(cJSON_GetObjectItem(d, "terms")),
           (int)cJSON_GetNumberValue(cJSON_GetObjectItem(out, "threads")),
           (int)cJSON_GetNumberValue(cJSON_GetObjectItem(out, "repeat")));
    static const char *const parts[] = {"features", "mnb", "gnb", "rf"};
    for (int i = 0; i < 4; i++) {
        const cJSON *o = cJSON_GetObjectItem(out, parts[i]);
        if (!o) continue;
        printf("  %-9s %12.6f s  (fit %.6f, predict %.6f, min %.6f)", parts[i],
               cJSON_GetNumberValue(cJSON_GetObjectItem(o, "seconds")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(o, "fit_seconds")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(o, "predict_seconds")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(o, "min_seconds")));
        const cJSON *a = cJSON_GetObjectItem(o, "accuracy");
        if (a) printf("  accuracy %.4f", cJSON_GetNumberValue(a));
        printf("\n");
    }
}

#define MODEL_PARTS "train,decode"
#define ALL_PARTS ELM_BENCH_VALIDATOR_PARTS "," MODEL_PARTS

static int in_list(const char *list, const char *name, size_t n) {
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == n && strncmp(p, name, n) == 0) return 1;
        p += k + (e != NULL);
    }
    return 0;
}

// Splits --only into the validators' parts and the model's, checking every name.
static int split_parts(const char *only, char *val, char *model, size_t cap, ElmError *err) {
    val[0] = model[0] = 0;
    for (const char *p = only; *p;) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        char *dst = in_list(ELM_BENCH_VALIDATOR_PARTS, p, k) ? val
                    : in_list(MODEL_PARTS, p, k)             ? model
                                                             : NULL;
        if (!dst) return elm_err(err, "--only: \"%.*s\" is not one of %s", (int)k, p, ALL_PARTS);
        size_t used = strlen(dst);
        if (k > 0 && used + k + 2 < cap)
            snprintf(dst + used, cap - used, "%s%.*s", used ? "," : "", (int)k, p);
        p += k + (e != NULL);
    }
    return 0;
}

static void print_model(const cJSON *out) {
    const cJSON *t = cJSON_GetObjectItem(out, "train"), *d = cJSON_GetObjectItem(out, "decode");
    if (t)
        printf("train: %s, %.0f params, B %d x T %d x accum %d: %.4f s/step median (min %.4f), "
               "%.0f tok/s, peak RSS %.0f MiB\n",
               cJSON_GetStringValue(cJSON_GetObjectItem(t, "device")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(t, "params")),
               (int)cJSON_GetNumberValue(cJSON_GetObjectItem(t, "batch_size")),
               (int)cJSON_GetNumberValue(cJSON_GetObjectItem(t, "seq_len")),
               (int)cJSON_GetNumberValue(cJSON_GetObjectItem(t, "grad_accum")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(t, "seconds")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(t, "min_seconds")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(t, "tok_per_s")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(t, "peak_rss_mb")));
    if (d)
        printf("decode: cpu, batch %d, %d new tokens: %.1f tok/s median (%s prefill); prefill "
               "of %d-token prompts: serial %.1f tok/s, batched %.1f tok/s, batched/serial "
               "%.2fx\n",
               (int)cJSON_GetNumberValue(cJSON_GetObjectItem(d, "batch_size")),
               (int)cJSON_GetNumberValue(cJSON_GetObjectItem(d, "new_tokens")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(d, "tok_per_s")),
               cJSON_GetStringValue(cJSON_GetObjectItem(d, "prefill")),
               (int)cJSON_GetNumberValue(cJSON_GetObjectItem(d, "prompt_tokens")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(d, "prefill_serial_tok_per_s")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(d, "prefill_batched_tok_per_s")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(d, "prefill_batched_over_serial")));
}

static int run_bench(const ElmCli *cli, ElmError *err) {
    int repeat, warmup;
    if (int_opt(cli, "--repeat", 7, 1, &repeat, err) ||
        int_opt(cli, "--warmup", 1, 0, &warmup, err))
        return -1;
    const char *only = elm_cli_opt(cli, "--only");
    if (!only || !*only) only = ALL_PARTS;
    char val[256], model[256];
    if (split_parts(only, val, model, sizeof val, err)) return -1;
    ElmRun run;
    if (elm_cli_open_run_writer(cli, &run, err)) return -1;
    cJSON *out = cJSON_CreateObject();
    int rc = -1;
    char path[4096];
    const char *json = elm_cli_opt(cli, "--json");
    if (!json || !*json) {
        elm_run_path(&run, "bench/bench.json", path, sizeof path);
        json = path;
    }
    if (!out) {
        elm_err(err, "out of memory");
        goto done;
    }
    cJSON *v = NULL;
    if (val[0]) {
        v = cJSON_AddObjectToObject(out, "validators");
        if (elm_bench_validators(&run, val, repeat, warmup, v, err)) goto done;
    }
    if (in_list(model, "train", 5) &&
        elm_bench_train(&run, repeat, warmup, cJSON_AddObjectToObject(out, "train"), err)) {
        elm_err_prefix(err, "train");
        goto done;
    }
    if (in_list(model, "decode", 6) &&
        elm_bench_decode(&run, repeat, warmup, cJSON_AddObjectToObject(out, "decode"), err)) {
        elm_err_prefix(err, "decode");
        goto done;
    }
    char *text = cJSON_Print(out);
    if (!text) {
        elm_err(err, "out of memory writing %s", json);
        goto done;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", json);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    rc =
        (slash && elm_mkdirs(dir, err)) ? -1 : elm_write_file_atomic(json, text, strlen(text), err);
    free(text);
    if (rc == 0 && !run.quiet) {
        if (v) print_table(v);
        print_model(out);
        printf("wrote %s\n", json);
    }
done:
    cJSON_Delete(out);
    elm_run_close(&run);
    return rc;
}

const ElmCommand elm_cmd_bench = {
    .name = "bench",
    .summary = "time the validators, a training step and decoding in-process (medians)",
    .usage = "usage: elm bench CONFIG.ini [--only=LIST] [--repeat=N] [--warmup=N] [--json=FILE]\n\n"
             "Times elm's parts in-process for the config: `--warmup` untimed runs (1), then\n"
             "`--repeat` timed ones (7); prints medians and writes every figure to\n"
             "<run>/bench/bench.json (or --json). The bench/ scripts set the peers' times\n"
             "beside them in the same run. See docs/eval.md and docs/train.md.\n\n"
             "  --only=LIST    parts, comma-separated (all by default):\n"
             "                 features, mnb, gnb, rf  the validators of `elm validate` on the\n"
             "                   same texts, TF-IDF features and 80/20 split (fit + predict)\n"
             "                 train   optimizer steps of [model] with [train]'s batch, on the\n"
             "                   device [train] names, on the run's token shards (random ids\n"
             "                   without); nothing is written\n"
             "                 decode  [generate] batch_size sequences, max_new_tokens greedy\n"
             "                   tokens through the KV cache, on the CPU\n"
             "  --repeat=N     timed runs of each part (median reported)\n"
             "  --warmup=N     untimed runs before them\n"
             "  --json=FILE    where to write the figures\n",
    .options = {"--only=", "--repeat=", "--warmup=", "--json=", NULL},
    .fn = run_bench,
};
