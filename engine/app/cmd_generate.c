// cmd_generate.c — `elm generate`: sample tweets (or stories) from a checkpoint, in one process
// or spread over the ranks of mpirun or srun. Registered in commands.c; the work is in generate.c.
#include "engine/app/cli.h"
#include "engine/generate/gen_device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// --mode and --count (-1: the config's).
static int parse_request(const ElmCli *cli, int *mode, long long *count, ElmError *err) {
    *mode = -1, *count = -1;
    const char *m = elm_cli_opt(cli, "--mode");
    if (m) {
        if (strcmp(m, "tweet") == 0)
            *mode = ELM_GEN_TWEET;
        else if (strcmp(m, "story") == 0)
            *mode = ELM_GEN_STORY;
        else
            return elm_err(err, "--mode must be tweet or story, got '%s'", m);
    }
    const char *c = elm_cli_opt(cli, "--count");
    if (c) {
        char *end;
        *count = strtoll(c, &end, 10);
        if (!c[0] || *end || *count < 0)
            return elm_err(err, "--count expects a non-negative integer, got '%s'", c);
    }
    return 0;
}

static int run_generate(const ElmCli *cli, ElmError *err) {
    ElmDist *dist = elm_dist_open(err);
    if (!dist) return -1;
    ElmRun run;
    if (elm_cli_open_run_writer_dist_check(cli, &run, dist, elm_gen_device_check_ranks, err))
        return elm_cli_dist_end(cli, dist, -1, err);
    int mode;
    long long count;
    int rc = elm_dist_agree(dist, parse_request(cli, &mode, &count, err), err);
    if (rc == 0) rc = elm_gen_device_run(&run, mode, count, dist, err);
    elm_run_close(&run);
    return elm_cli_dist_end(cli, dist, rc, err);
}

const ElmCommand elm_cmd_generate = {
    .name = "generate",
    .summary = "sample tweets and stories from a checkpoint",
    .usage =
        "usage: elm generate CONFIG.ini [--mode tweet|story] [--count N]\n\n"
        "Samples [generate] count texts from the latest checkpoint under <run>/checkpoints\n"
        "(or [generate] checkpoint) with the KV cache, temperature, top-k, top-p,\n"
        "repetition penalty and no-repeat n-grams, and writes one JSON object per line to\n"
        "<run>/generated/tweets.jsonl (stories.jsonl in story mode):\n"
        "{\"index\", \"seed\", \"prompt\", \"text\", \"tokens\", \"mean_logprob\", \"stop\"}.\n\n"
        "  --mode M    tweet (<= max_chars, cut at a word) or story (ends at a sentence)\n"
        "  --count N   number of texts (overrides [generate] count)\n\n"
        "A rerun after a kill keeps the finished texts of the .part when the model and\n"
        "settings are the same, and generates only the rest.\n\n"
        "Under `mpirun -np N` (or srun) the batches spread over the N ranks' CPUs, the files are\n"
        "byte for byte one process's, and rank 0 alone writes (see docs/distributed.md).\n\n"
        "Semantics of every setting: docs/train.md.\n",
    .options = {"--mode=", "--count=", NULL},
    .fn = run_generate,
};
