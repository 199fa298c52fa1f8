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

// CLI-layer state: set by the signal handler, read by the loop through the returned pointer.
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

volatile sig_atomic_t *elm_cli_stop_begin(ElmCliStop *s) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESETHAND; // a second signal stops at once
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &s->old_int);
    sigaction(SIGTERM, &sa, &s->old_term);
    stop_requested = 0;
    return &stop_requested;
}

void elm_cli_stop_end(ElmCliStop *s) {
    sigaction(SIGINT, &s->old_int, NULL);
    sigaction(SIGTERM, &s->old_term, NULL);
}
