// cmd_train.c — `elm train`: train or fine-tune GPT-2 on <run>/tokens, on the CPU or the GPU, or
// data parallel on the CPUs of every rank under mpirun or srun; Ctrl-C / SIGTERM stop it at the
// end of a step with a checkpoint (elm_cli_stop_begin).
#include "engine/app/cli.h"
#include "engine/train/train.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static void print_sample(void *ctx, long long step, const char *text) {
    if (*(const int *)ctx) return;
    fprintf(stderr, "\nsample at step %lld: %s\n", step, text);
}

static int run_train(const ElmCli *cli, ElmError *err) {
    ElmDist *dist = elm_dist_open(err);
    if (!dist) return -1;
    ElmRun run;
    if (elm_cli_open_run_writer_dist_check(cli, &run, dist, elm_train_check_ranks, err))
        return elm_cli_dist_end(cli, dist, -1, err);
    ElmCliStop stop;
    volatile sig_atomic_t *stop_flag = elm_cli_stop_begin(&stop);

    ElmTrainOptions o = {0};
    o.resume = elm_cli_opt(cli, "--resume") != NULL || elm_cli_opt(cli, "--from") != NULL;
    o.resume_from = elm_cli_opt(cli, "--from");
    o.stop = stop_flag;
    o.on_sample = print_sample;
    o.ctx = &run.quiet;
    o.dist = dist;
    ElmTrainResult r;
    int rc = elm_train_run_with(&run, &o, &r, err);
    elm_cli_stop_end(&stop);
    if (rc == 0 && !run.quiet) {
        if (r.stopped)
            fprintf(stderr, "stopped at step %lld of %lld; saved %s (continue with --resume)\n",
                    r.step, r.total, r.checkpoint);
        else if (r.step == r.first_step)
            fprintf(stderr, "nothing to do: the run is at step %lld of %lld\n", r.step, r.total);
        else
            fprintf(stderr, "trained steps %lld..%lld of %lld: loss %.4f%s; saved %s\n",
                    r.first_step + 1, r.step, r.total, r.loss, "", r.checkpoint);
    }
    elm_run_close(&run);
    return elm_cli_dist_end(cli, dist, rc, err);
}

const ElmCommand elm_cmd_train = {
    .name = "train",
    .summary = "train or fine-tune GPT-2 on the token shards",
    .usage =
        "usage: elm train CONFIG.ini [--resume | --from CHECKPOINT_DIR]\n\n"
        "Trains the [model] GPT-2 on <run>/tokens/train.bin (or [train] data) with AdamW,\n"
        "warmup + cosine/linear decay, gradient clipping and accumulation, as [train] says.\n"
        "Writes <run>/train_log.jsonl (one line per step, plus eval/sample/checkpoint lines)\n"
        "and <run>/checkpoints/step_N/ (model.safetensors + config.json in Hugging Face's\n"
        "GPT-2 layout, vocab.json + merges.txt, and state.bin with the optimizer state).\n\n"
        "  --resume        continue exactly from the latest checkpoint\n"
        "  --from DIR      continue from that checkpoint folder\n\n"
        "Ctrl-C (SIGINT) or SIGTERM finishes the current step, saves a checkpoint and exits 0.\n"
        "Under `mpirun -np N` (or srun) each rank trains on batch_size / N rows of every\n"
        "micro-batch, the losses are one process's, and rank 0 alone writes (see\n"
        "docs/distributed.md). [train] zero = 1 shards the AdamW moments over the ranks\n"
        "(ZeRO-1: each rank updates its shard, checkpoints are unchanged).\n"
        "Formats and settings: docs/train.md.\n",
    .options = {"--resume", "--from=", NULL},
    .fn = run_train,
};
