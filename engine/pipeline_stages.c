// pipeline_stages.c — the study's stages for `elm run`, in order, with what shapes each result:
// config sections and keys (settings) and the files it reads (inputs) and must write (outputs).
#include "pipeline.h"
#include "clean.h"
#include "generate.h"
#include "ingest.h"
#include "report.h"
#include "train.h"
#include "viable.h"
#include "../eval/topics.h"
#include "../eval/validate.h"
#include "../tokenizer/tokenize.h"

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
     elm_train_run,
     {"model", "train"},
     {"run.seed", "run.threads"},
     {"tokens/train.bin", "tokens/val.bin", "tokenizer", "@model.init"},
     {"train_log.jsonl"}},
    {"generate",
     elm_generate_run,
     {"generate"},
     {"run.seed", "model.matmul"},
     {"checkpoints", "tokenizer"},
     {"generated/tweets.jsonl"}},
    {"validate",
     elm_validate_run,
     {"validate"},
     {"run.seed", "run.threads"},
     {"clean.jsonl", "generated"},
     {"validate/metrics.json", "validate/viable.jsonl"}},
    {"topics",
     elm_topics_run,
     {"topics"},
     {"run.seed"},
     {"clean.jsonl", "generated"},
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
     {"ingest.json", "clean.json", "train_log.jsonl", "validate", "topics",
      "viable.jsonl", "generated"},
     {"report/index.html", "metrics.json"}},
    {0},
};
