// cmd_topics.c — `elm topics`: LDA topics and top words, real vs generated. The stage lives in
// eval/topics.c.
#include "engine/app/cli.h"
#include "eval/topics.h"

#include <stdio.h>

static int run_topics(const ElmCli *cli, ElmError *err) {
    ElmRun run;
    if (elm_cli_open_run_writer(cli, &run, err)) return -1;
    int rc = elm_topics_run_export(&run, elm_cli_opt(cli, "--export"), err);
    if (rc == 0 && !run.quiet) {
        char path[4096];
        elm_run_path(&run, "topics/topics.json", path, sizeof path);
        printf("wrote %s\n", path);
    }
    elm_run_close(&run);
    return rc;
}

const ElmCommand elm_cmd_topics = {
    .name = "topics",
    .summary = "LDA topics, coherence and top words, real vs generated",
    .usage =
        "usage: elm topics CONFIG.ini [--export=DIR] [--set topics.KEY=VALUE ...]\n\n"
        "Fits LDA (batch variational Bayes) on word counts of the real tweets (<run>/clean.jsonl\n"
        "or topics.real) and generated ones (<run>/generated/tweets.jsonl or topics.generated,\n"
        "optional), or a labelled CSV (topics.data). Writes <run>/topics/topics.json: each topic's "
        "top words\n"
        "and weights, held-out perplexity, coherence (u_mass, c_npmi, c_v as gensim defines\n"
        "them), mean topic share of real vs generated texts, a sweep over topics.sweep.k /\n"
        "alpha / beta, the top words of each side with the words exclusive to each, topic\n"
        "conditioning's hit rate against the base rate (with a topicfit model), and each\n"
        "generated story's topic and whether it stays on its prompt's (generated/stories.jsonl).\n"
        "See docs/eval.md.\n\n"
        "  --export=DIR   also write the counts, vocabulary, held-out flags and topic-word\n"
        "                 matrix as .npy\n",
    .options = {"--export=", NULL},
    .fn = run_topics,
};
