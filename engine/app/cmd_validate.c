// cmd_validate.c — `elm validate`: real-vs-generated classifiers (Naive Bayes, random forest
// with grid search) on TF-IDF features, on every rank under mpirun or srun. The stage lives in
// eval/validate.c.
#include "engine/app/cli.h"
#include "engine/base/fsutil.h"
#include "eval/validate.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

static void print_summary(const ElmRun *run) {
    char path[4096];
    elm_run_path(run, "validate/metrics.json", path, sizeof path);
    char *text;
    size_t n;
    ElmError e;
    if (elm_read_file(path, &text, &n, &e)) return;
    cJSON *m = cJSON_Parse(text);
    free(text);
    const cJSON *test = cJSON_GetObjectItem(m, "test");
    const char *names[] = {"multinomial_nb", "gaussian_nb", "random_forest"};
    for (int i = 0; i < 3; i++) {
        const cJSON *o = cJSON_GetObjectItem(test, names[i]);
        if (o)
            printf("%-15s test accuracy %.4f  roc_auc %.4f\n", names[i],
                   cJSON_GetNumberValue(cJSON_GetObjectItem(o, "accuracy")),
                   cJSON_GetNumberValue(cJSON_GetObjectItem(o, "roc_auc")));
    }
    const cJSON *v = cJSON_GetObjectItem(m, "viable");
    if (v)
        printf("viable generated tweets: %d of %d in the test split\n",
               (int)cJSON_GetNumberValue(cJSON_GetObjectItem(v, "count")),
               (int)cJSON_GetNumberValue(cJSON_GetObjectItem(v, "generated_in_test")));
    printf("wrote %s\n", path);
    cJSON_Delete(m);
}

static int run_validate(const ElmCli *cli, ElmError *err) {
    ElmDist *dist = elm_dist_open(err);
    if (!dist) return -1;
    ElmRun run;
    int rc = elm_cli_open_run_writer_dist(cli, &run, dist, err);
    if (rc == 0) {
        rc = elm_validate_run_dist(&run, elm_cli_opt(cli, "--export"), dist, err);
        if (rc == 0 && !run.quiet) print_summary(&run);
        elm_run_close(&run);
    }
    return elm_cli_dist_end(cli, dist, rc, err);
}

const ElmCommand elm_cmd_validate = {
    .name = "validate",
    .summary = "real-vs-generated classifiers (Naive Bayes, random forest, grid search)",
    .usage =
        "usage: elm validate CONFIG.ini [--export=DIR] [--set validate.KEY=VALUE ...]\n\n"
        "Reads real tweets (<run>/clean.jsonl or validate.real) and generated ones\n"
        "(<run>/generated/tweets.jsonl or validate.generated), or one labelled CSV\n"
        "(validate.data, label 1 = real, 0 = generated); builds TF-IDF features; trains\n"
        "Multinomial NB, Gaussian NB and a\n"
        "random forest (tuned by a stratified-CV grid search when validate.grid.* is set) on a\n"
        "stratified split; writes <run>/validate/metrics.json (every number) and\n"
        "<run>/validate/viable.jsonl (generated test tweets the tuned forest calls real,\n"
        "most convincing first). See docs/eval.md.\n\n"
        "  --export=DIR   also write the features, vocabulary, labels, folds and split as .npy\n\n"
        "Under `mpirun -np N` (or srun) the forests' trees and the grid's fits spread over the\n"
        "N ranks, the numbers are the same as one process's, and rank 0 alone writes (see\n"
        "docs/distributed.md).\n",
    .options = {"--export=", NULL},
    .fn = run_validate,
};
