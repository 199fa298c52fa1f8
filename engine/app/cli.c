#include "engine/app/cli.h"

#include <string.h>

const char *elm_cli_opt(const ElmCli *cli, const char *name) {
    for (int i = 0; i < cli->n_opt; i++)
        if (strcmp(cli->opt_name[i], name) == 0) return cli->opt_val[i];
    return NULL;
}

int elm_cli_open_run(const ElmCli *cli, ElmRun *run, int required, ElmError *err) {
    const char *path = cli->n_pos > 0 ? cli->pos[0] : NULL;
    if (!path && required)
        return elm_err(err, "missing CONFIG.ini (see `elm %s --help`)", cli->command);
    return elm_run_open(run, path, (char **)cli->sets, cli->n_sets, cli->quiet, err);
}

int elm_cli_open_run_writer(const ElmCli *cli, ElmRun *run, ElmError *err) {
    if (elm_cli_open_run(cli, run, 1, err)) return -1;
    if (elm_run_lock(run, cli->command, err)) {
        elm_run_close(run);
        return -1;
    }
    return 0;
}
