// cmd_topicfit.c — `elm topicfit`: the LDA on the real tweets whose topics tag the training
// documents under [train] condition = account+topic. The stage lives in eval/topicfit.c.
#include "engine/app/cli.h"
#include "eval/topicfit.h"

#include <stdio.h>

static int run_topicfit(const ElmCli *cli, ElmError *err) {
    ElmRun run;
    if (elm_cli_open_run_writer(cli, &run, err)) return -1;
    int rc = elm_topicfit_run(&run, err);
    if (rc == 0 && !run.quiet) {
        char path[4096];
        elm_run_path(&run, "topicfit/topicfit.json", path, sizeof path);
        printf("wrote %s\n", path);
    }
    elm_run_close(&run);
    return rc;
}

const ElmCommand elm_cmd_topicfit = {
    .name = "topicfit",
    .summary = "LDA topics of the real tweets, to tag training documents",
    .usage = "usage: elm topicfit CONFIG.ini [--set topicfit.KEY=VALUE ...]\n\n"
             "With [train] condition = account+topic: fits LDA ([topicfit] k, alpha, beta,\n"
             "iterations, vocabulary limits) on the word counts of <run>/clean.jsonl, names each\n"
             "topic by its heaviest word not naming an earlier one, and writes\n"
             "<run>/topicfit/topicfit.json (topics: id, name, top words, documents),\n"
             "topicfit/lda.json (the model, to score generated texts) and\n"
             "topicfit/doc_topics.txt (each line's dominant topic, which `elm tokenize` puts in\n"
             "the document's header \"@<account> [<topic>]: \"). Otherwise it writes\n"
             "topicfit.json alone. See docs/feed.md.\n",
    .options = {NULL},
    .fn = run_topicfit,
};
