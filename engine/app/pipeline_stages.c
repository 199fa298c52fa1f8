// pipeline_stages.c — the study's stages for `elm run`, in order, with what shapes each result:
// config sections and keys (settings) and the files it reads (inputs) and must write (outputs).
#include "engine/app/pipeline.h"
#include "engine/base/fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/data/clean.h"
#include "engine/generate/gen_device.h"
#include "engine/data/ingest.h"
#include "engine/app/report.h"
#include "engine/train/train.h"
#include "eval/viable.h"
#include "eval/topics.h"
#include "eval/validate.h"
#include "tokenizer/tokenize.h"

// A re-run of the train stage means its settings or data changed: it starts afresh, keeping the
// previous run's checkpoints in checkpoints.old/ (the one before that is removed).
static int train_stage(ElmRun *run, ElmError *err) {
    char cur[4200], old[4200];
    elm_run_path(run, "checkpoints", cur, sizeof cur);
    elm_run_path(run, "checkpoints.old", old, sizeof old);
    if (elm_is_dir(cur)) {
        if (elm_is_dir(old) && elm_rmtree(old, err)) return -1;
        if (rename(cur, old) != 0)
            return elm_err(err, "%s: cannot move aside: %s", cur, strerror(errno));
    }
    return elm_train_run(run, err);
}

const ElmStage elm_pipeline_stages[] = {
    {"ingest", elm_ingest_run, {"data"}, {0}, {"@data.source"}, {"corpus.jsonl", "ingest.json"}},
    {"clean",
     elm_clean_run,
     {"clean"},
     {"data.invalid_utf8"},
     {"corpus.jsonl"},
     {"clean.jsonl", "clean.json"}},
    {"tokenize",
     elm_tokenize_run,
     {"tokenizer"},
     {"run.seed"},
     {"clean.jsonl", "@tokenizer.vocab"},
     {"tokens/train.bin", "tokens/val.bin", "tokens.json"}},
    {"train",
     train_stage,
     {"model", "train"},
     {"run.seed", "run.threads"},
     {"tokens/train.bin", "tokens/val.bin", "tokenizer", "@model.init"},
     {"train_log.jsonl"}},
    {"generate",
     elm_gen_device_stage,
     {"generate"},
     {"run.seed", "model.matmul"},
     {"checkpoints", "tokenizer"},
     {"generated/tweets.jsonl"}},
    {"validate",
     elm_validate_run,
     {"validate"},
     {"run.seed", "run.threads"},
     {"clean.jsonl", "generated/tweets.jsonl"},
     {"validate/metrics.json", "validate/viable.jsonl"}},
    {"topics",
     elm_topics_run,
     {"topics"},
     {"run.seed"},
     {"clean.jsonl", "generated/tweets.jsonl"},
     {"topics/topics.json"}},
    {"viable",
     elm_viable_run,
     {"viable"},
     {0},
     {"validate/viable.jsonl", "clean.jsonl"},
     {"viable.jsonl", "viable.json"}},
    {"report",
     elm_report_run,
     {"report"},
     {0},
     {"ingest.json", "clean.json", "train_log.jsonl", "validate", "topics", "viable.jsonl",
      "generated"},
     {"report/index.html", "metrics.json"}},
    {0},
};
