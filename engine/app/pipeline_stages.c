// pipeline_stages.c — the study's stages for `elm run`, in order, with what shapes each result:
// config sections and keys (settings) and the files it reads (inputs) and must write (outputs).
#include "engine/app/pipeline.h"
#include "engine/app/cli.h"
#include "engine/base/fsutil.h"
#include "engine/model/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engine/data/clean.h"
#include "engine/generate/gen_device.h"
#include "engine/data/fetch.h"
#include "engine/data/ingest.h"
#include "engine/app/report.h"
#include "engine/train/train.h"
#include "engine/app/feed.h"
#include "eval/viable.h"
#include "eval/topicfit.h"
#include "eval/topics.h"
#include "eval/validate.h"
#include "tokenizer/tokenize.h"

// 1 when the last training of this folder stopped before its end with the same fingerprint
// (<run>/train.running holds it): what it left in checkpoints/ is this training's own.
static int train_interrupted(const ElmRun *run, const char *mark) {
    char *text;
    size_t n;
    ElmError ignore;
    if (!run->stage_fp[0] || elm_read_file(mark, &text, &n, &ignore)) return 0;
    int same = n == 16 && memcmp(text, run->stage_fp, 16) == 0;
    free(text);
    return same;
}

// Before the train stage: a rerun after a training that did not finish (Ctrl-C, kill -9, a full
// disk) with the same settings and data continues from its newest checkpoint (*resume = 1); any
// other rerun starts afresh, keeping the previous run's checkpoints in checkpoints.old/ (the one
// before is removed). The mark train.running says which training this is.
static int train_prepare(ElmRun *run, int *resume, ElmError *err) {
    char cur[4200], old[4200], mark[4200];
    elm_run_path(run, "checkpoints", cur, sizeof cur);
    elm_run_path(run, "checkpoints.old", old, sizeof old);
    elm_run_path(run, "train.running", mark, sizeof mark);
    int same = train_interrupted(run, mark);
    *resume = same && elm_checkpoint_latest(cur, NULL, 0) >= 0;
    // Killed before its first checkpoint: what is there is a torn save of this very training.
    if (same && !*resume && elm_rmtree(cur, err)) return -1;
    if (!*resume && elm_is_dir(cur)) {
        if (elm_is_dir(old) && elm_rmtree(old, err)) return -1;
        if (rename(cur, old) != 0)
            return elm_err(err, "%s: cannot move aside: %s", cur, strerror(errno));
    }
    if (run->stage_fp[0] && elm_write_file_atomic(mark, run->stage_fp, 16, err)) return -1;
    return 0;
}

// The train stage, alone or on every rank of dist (rank 0 prepares the folder and says whether
// it resumes). SIGINT/SIGTERM stop the training at the end of its step, with a checkpoint, as in
// elm train.
static int train_stage_dist(ElmRun *run, ElmDist *dist, ElmError *err) {
    int resume = 0;
    int rc = elm_dist_rank(dist) == 0 ? train_prepare(run, &resume, err) : 0;
    if (elm_dist_agree(dist, rc, err) || elm_dist_bcast(dist, &resume, sizeof resume, 0, err))
        return -1;
    ElmCliStop stop;
    ElmTrainOptions o = {.resume = resume, .stop = elm_cli_stop_begin(&stop), .dist = dist};
    ElmTrainResult r;
    rc = elm_train_run_with(run, &o, &r, err);
    elm_cli_stop_end(&stop);
    if (rc) return -1;
    if (r.stopped)
        return elm_err(err, "stopped at step %lld of %lld, saved %s", r.step, r.total,
                       r.checkpoint);
    return 0; // train.running goes once the manifest has the result (pipeline.c)
}

static int train_stage(ElmRun *run, ElmError *err) {
    return train_stage_dist(run, NULL, err);
}

static int validate_stage_dist(ElmRun *run, ElmDist *dist, ElmError *err) {
    return elm_validate_run_dist(run, NULL, dist, err);
}

const ElmStage elm_pipeline_stages[] = {
    {"fetch", elm_fetch_run, {"fetch"}, {0}, {0}, {"fetch/state.json", "fetch"}, NULL},
    {"ingest",
     elm_ingest_run,
     {"data"},
     {0},
     {"@data.source", "fetch/*/*.jsonl"},
     {"corpus.jsonl", "ingest.json"},
     NULL},
    {"clean",
     elm_clean_run,
     {"clean"},
     {"data.invalid_utf8"},
     {"corpus.jsonl"},
     {"clean.jsonl", "clean.json"},
     NULL},
    {"topicfit",
     elm_topicfit_run,
     {"topicfit"},
     {"run.seed", "train.condition"},
     {"clean.jsonl"},
     {"topicfit/topicfit.json", "?topicfit/lda.json", "?topicfit/doc_topics.txt"},
     NULL},
    {"tokenize",
     elm_tokenize_run,
     {"tokenizer"},
     {"run.seed", "train.condition"},
     {"clean.jsonl", "@tokenizer.vocab", "topicfit/*"},
     {"tokens/train.bin", "tokens/val.bin", "tokens.json", "?tokenizer", "?tokens/train.mask",
      "?tokens/val.mask"},
     NULL},
    {"train",
     train_stage,
     {"model", "train"},
     {"run.seed", "run.threads"},
     {"tokens/train.bin", "tokens/val.bin", "tokens/*.mask", "tokenizer", "@model.init",
      "@train.data"},
     {"train_log.jsonl", "checkpoints"},
     train_stage_dist},
    {"generate",
     elm_gen_device_stage,
     {"generate"},
     {"run.seed", "model.matmul"},
     {"checkpoints", "tokenizer", "tokens.json", "@generate.checkpoint", "@generate.prompts_file"},
     {"generated/tweets.jsonl", "generated"}, // the folder: stories.jsonl when there are any
     elm_gen_device_stage_dist},
    {"validate",
     elm_validate_run,
     {"validate"},
     {"run.seed", "run.threads"},
     {"clean.jsonl", "generated/tweets.jsonl", "@validate.data", "@validate.real",
      "@validate.generated"},
     {"validate/metrics.json", "validate/viable.jsonl", "validate/attribution.jsonl"},
     validate_stage_dist},
    {"topics",
     elm_topics_run,
     {"topics"},
     {"run.seed"},
     {"clean.jsonl", "generated/tweets.jsonl", "generated/stories.jsonl", "topicfit/*",
      "@topics.data", "@topics.real", "@topics.generated"},
     {"topics/topics.json"},
     NULL},
    {"viable",
     elm_viable_run,
     {"viable"},
     {0},
     {"validate/viable.jsonl", "clean.jsonl"},
     {"viable.jsonl", "viable.json"},
     NULL},
    {"feed",
     elm_feed_run,
     {"feed"},
     {"run.seed", "generate.accounts", "generate.topics"},
     {"viable.jsonl", "generated/tweets.jsonl", "tokens.json"},
     {"feed/feed.jsonl", "feed/feed.json"},
     NULL},
    {"report",
     elm_report_run,
     {"report", "feed"},
     {"run.seed", "generate.accounts"},
     {"ingest.json", "clean.json", "train_log.jsonl", "validate", "topics", "viable.jsonl",
      "viable.json", "generated", "feed"},
     {"report/index.html", "metrics.json"},
     NULL},
    {0},
};
