// commands.c — the list of `elm` commands, in the order `elm --help` shows them.
// Each command lives in its own cmd_<name>.c.
#include "engine/app/cli.h"

extern const ElmCommand elm_cmd_run, elm_cmd_fetch, elm_cmd_ingest, elm_cmd_clean, elm_cmd_topicfit,
    elm_cmd_tokenize, elm_cmd_train, elm_cmd_generate, elm_cmd_validate, elm_cmd_topics,
    elm_cmd_feed, elm_cmd_report, elm_cmd_import, elm_cmd_export, elm_cmd_bench, elm_cmd_config,
    elm_cmd_info;

const ElmCommand *const elm_commands[] = {
    &elm_cmd_run,    &elm_cmd_fetch,    &elm_cmd_ingest,
    &elm_cmd_clean,  &elm_cmd_topicfit, &elm_cmd_tokenize,
    &elm_cmd_train,  &elm_cmd_generate, &elm_cmd_validate,
    &elm_cmd_topics, &elm_cmd_feed,     &elm_cmd_report,
    &elm_cmd_import, &elm_cmd_export,   &elm_cmd_bench,
    &elm_cmd_config, &elm_cmd_info,     NULL,
};
