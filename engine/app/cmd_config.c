// cmd_config.c — `elm config CONFIG`: prints the effective config, defaults and overrides marked.
// Also the quickest way to check a config for typos.
#include "engine/app/cli.h"

#include <stdio.h>

static int run_config(const ElmCli *cli, ElmError *err) {
    ElmRun run;
    if (elm_cli_open_run(cli, &run, 0, err)) return -1;
    elm_config_print(&run.cfg, stdout);
    printf("\n; run folder: %s, threads: %d\n", run.dir, run.threads);
    elm_run_close(&run);
    return 0;
}

const ElmCommand elm_cmd_config = {
    .name = "config",
    .summary = "print the effective config (defaults and overrides marked)",
    .usage = "usage: elm config [CONFIG.ini] [--set section.key=value]...\n\n"
             "Prints every key of every section with its value and where it came from\n"
             "(default, file:line, or --set). Unknown keys and bad values are errors.\n",
    .fn = run_config,
};
