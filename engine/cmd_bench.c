// cmd_bench.c — `elm bench`: elm's own side of the benchmarks under bench/, timed in-process
// (median of repeats after warm-up) so a script can set a peer's time beside it in one run.
#include "cli.h"
#include "fsutil.h"
#include "../eval/bench_validators.h"

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

static int run_bench(const ElmCli *cli, ElmError *err) {
    int repeat, warmup;
    if (int_opt(cli, "--repeat", 7, 1, &repeat, err) ||
        int_opt(cli, "--warmup", 1, 0, &warmup, err))
        return -1;
    const char *only = elm_cli_opt(cli, "--only");
    if (!only || !*only) only = ELM_BENCH_VALIDATOR_PARTS;
    ElmRun run;
    if (elm_cli_open_run(cli, &run, 1, err)) return -1;
    cJSON *out = cJSON_CreateObject();
    int rc = -1;
    char path[4096];
    const char *json = elm_cli_opt(cli, "--json");
    if (!json || !*json) {
        elm_run_path(&run, "bench/validators.json", path, sizeof path);
        json = path;
    }
    if (!out) {
        elm_err(err, "out of memory");
        goto done;
    }
    cJSON *v = cJSON_AddObjectToObject(out, "validators");
    if (elm_bench_validators(&run, only, repeat, warmup, v, err)) goto done;
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
        print_table(v);
        printf("wrote %s\n", json);
    }
done:
    cJSON_Delete(out);
    elm_run_close(&run);
    return rc;
}

const ElmCommand elm_cmd_bench = {
    .name = "bench",
    .summary = "time elm's stages in-process, for the peer comparisons under bench/",
    .usage = "usage: elm bench CONFIG.ini [--only=LIST] [--repeat=N] [--warmup=N] [--json=FILE]\n\n"
             "Runs the validators of `elm validate` on the same texts, TF-IDF features and\n"
             "80/20 split the config gives (validate.data, or the run's real and generated\n"
             "tweets), and times each part in-process: `--warmup` untimed runs (1), then\n"
             "`--repeat` timed ones (7); prints the median, min, fit and predict seconds and\n"
             "the test accuracy, and writes them all to <run>/bench/validators.json (or\n"
             "--json). bench/validators/bench.py sets scikit-learn's times beside them in the\n"
             "same run. See docs/eval.md.\n\n"
             "  --only=LIST    parts, comma-separated: features, mnb (Multinomial NB), gnb\n"
             "                 (Gaussian NB), rf (random forest, validate.rf.*); all by default\n"
             "  --repeat=N     timed runs of each part (median reported)\n"
             "  --warmup=N     untimed runs before them\n"
             "  --json=FILE    where to write the figures\n",
    .options = {"--only=", "--repeat=", "--warmup=", "--json=", NULL},
    .fn = run_bench,
};
