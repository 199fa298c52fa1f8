// cmd_run.c — `elm run CONFIG`: the whole study, each stage re-run only when its inputs or
// settings changed. The stages and their caching rules are in pipeline_stages.c.
#include "engine/app/cli.h"
#include "engine/app/pipeline.h"
#include "engine/generate/gen_device.h"
#include "engine/train/train.h"

// What the number of ranks rules out, before anything is written: a batch they do not divide,
// GPU generation on several ranks.
static int check_ranks(const ElmConfig *cfg, int ranks, ElmError *err) {
    return elm_train_check_ranks(cfg, ranks, err) || elm_gen_device_check_ranks(cfg, ranks, err)
               ? -1
               : 0;
}

static int run_run(const ElmCli *cli, ElmError *err) {
    ElmDist *dist = elm_dist_open(err);
    if (!dist) return -1;
    ElmRun run;
    if (elm_cli_open_run_writer_dist_check(cli, &run, dist, check_ranks, err))
        return elm_cli_dist_end(cli, dist, -1, err);
    int sig = 0;
    ElmPipelineOptions opt = {
        .force = elm_cli_opt(cli, "--force") != NULL,
        .from = elm_cli_opt(cli, "--from"),
        .only = elm_cli_opt(cli, "--only"),
        .signal = &sig,
        .dist = dist,
    };
    int rc = elm_pipeline_run(&run, elm_pipeline_stages, &opt, err);
    elm_run_close(&run);
    rc = elm_cli_dist_end(cli, dist, rc, err);
    return rc && sig ? 128 + sig : rc; // 130 after Ctrl-C, 143 after SIGTERM
}

const ElmCommand elm_cmd_run = {
    .name = "run",
    .summary = "the whole study: fetch, ingest, clean, topicfit, tokenize, train, generate, "
               "validate, topics, viable, feed, report",
    .usage = "usage: elm run CONFIG.ini [--force] [--from STAGE] [--only STAGE]\n\n"
             "Runs fetch -> ingest -> clean -> topicfit -> tokenize -> train -> generate ->\n"
             "validate -> topics -> viable -> feed -> report (fetch does nothing without [fetch]\n"
             "source, topicfit fits only under [train] condition = account+topic).\n"
             "A stage re-runs only when its settings, or the content of its inputs (files in\n"
             "the run folder and those config keys name), changed since the last run, or its\n"
             "outputs are missing or changed (see <run>/manifest.json). --force re-runs all,\n"
             "--from STAGE re-runs that stage and the ones after it, --only STAGE runs just\n"
             "that one. Each stage runs in its own process; the manifest records the elm\n"
             "version and commit, the effective config, seeds, input hashes, and each stage's\n"
             "wall time and peak memory.\n\n"
             "Ctrl-C or SIGTERM stops the stage under way at a safe point (training: a checkpoint\n"
             "at the current step) and exits 130 / 143; a second one stops at once. Rerunning the\n"
             "same command continues: a training that did not finish resumes from its newest\n"
             "checkpoint, a failed or interrupted stage runs again.\n\n"
             "Under `mpirun -np N` or `srun -n N`, train, generate and validate run on every\n"
             "rank (data parallel, sharded, spread; results as one process's), the other stages\n"
             "on rank 0 while the others wait; rank 0 alone writes (docs/distributed.md).\n",
    .options = {"--force", "--from=", "--only=", NULL},
    .fn = run_run,
};
