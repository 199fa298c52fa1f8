#include "engine/app/cli.h"
#include "engine/base/buf.h"

#include <stdio.h>
#include <stdlib.h>
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

// The effective config as "section.key = value" lines, without the origins (a value from --set
// on one rank and from the file on another is the same value). NULL when out of memory.
static char *config_lines(const ElmConfig *cfg) {
    char *raw = NULL, section[128] = "";
    size_t n = 0;
    FILE *f = open_memstream(&raw, &n);
    if (!f) return NULL;
    elm_config_print(cfg, f);
    fclose(f);
    ElmBuf b = {0};
    for (char *save = NULL, *l = strtok_r(raw, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (l[0] == ';') continue;
        if (l[0] == '[') {
            snprintf(section, sizeof section, "%.*s", (int)strcspn(l + 1, "]"), l + 1);
            continue;
        }
        char *origin = strstr(l, "   ; ");
        for (char *o = origin; o; o = strstr(o + 1, "   ; ")) origin = o;
        size_t len = origin ? (size_t)(origin - l) : strlen(l);
        elm_buf_printf(&b, "%s.%.*s\n", section, (int)len, l);
    }
    free(raw);
    if (b.oom) elm_buf_free(&b);
    return b.oom ? NULL : b.data ? b.data : calloc(1, 1);
}

// Rank 0: the first line where rank r's config (theirs) differs from its own (ours), in err.
static int config_differs(const char *ours, const char *theirs, int r, ElmError *err) {
    while (*ours || *theirs) {
        size_t a = strcspn(ours, "\n"), b = strcspn(theirs, "\n");
        if (a != b || strncmp(ours, theirs, a) != 0)
            return elm_err(err,
                           "the ranks run different configs: rank %d has %.*s, rank 0 %.*s (every "
                           "rank must get the same CONFIG.ini and --set)",
                           r, b ? (int)b : 6, b ? theirs : "(none)", a ? (int)a : 6,
                           a ? ours : "(none)");
        ours += a + (ours[a] != 0), theirs += b + (theirs[b] != 0);
    }
    return 0;
}

// Every rank's effective config to rank 0, which compares them with its own.
static int same_config(const ElmRun *run, ElmDist *dist, ElmError *err) {
    char *mine = config_lines(&run->cfg), *all = NULL;
    int size = elm_dist_size(dist), rc = mine ? 0 : elm_err(err, "out of memory for the config");
    size_t *counts = calloc((size_t)size, sizeof *counts);
    if (!counts) rc = elm_err(err, "out of memory for the config");
    if (elm_dist_agree(dist, rc, err) ||
        elm_dist_gather(dist, mine, strlen(mine) + 1, 0, &all, counts, err)) {
        free(mine), free(counts);
        return -1;
    }
    const char *at = all;
    for (int r = 0; rc == 0 && all && r < size; at += counts[r], r++)
        if (r > 0) rc = config_differs(mine, at, r, err);
    free(mine), free(counts), free(all);
    return elm_dist_agree(dist, rc, err);
}

int elm_cli_dist_end(const ElmCli *cli, ElmDist *dist, int rc, ElmError *err) {
    if (rc && elm_dist_size(dist) > 1 && elm_dist_failed_together(dist)) {
        if (elm_dist_rank(dist) == 0) {
            fprintf(stderr, "elm %s: %s\n", cli->command, err->msg[0] ? err->msg : "failed");
            fflush(stderr);
        }
        ElmError ignored = {{0}};
        elm_dist_barrier(dist, &ignored); // the job already failed: its own outcome adds nothing
        err->msg[0] = '\0';
        rc = 1;
    }
    elm_dist_close(dist);
    return rc;
}

int elm_cli_open_run_writer_dist(const ElmCli *cli, ElmRun *run, ElmDist *dist, ElmError *err) {
    return elm_cli_open_run_writer_dist_check(cli, run, dist, NULL, err);
}

int elm_cli_open_run_writer_dist_check(const ElmCli *cli, ElmRun *run, ElmDist *dist,
                                       int (*check)(const ElmConfig *cfg, int ranks, ElmError *err),
                                       ElmError *err) {
    if (elm_dist_size(dist) == 1) return elm_cli_open_run_writer(cli, run, err);
    int rc = elm_cli_open_run(cli, run, 1, err);
    if (elm_dist_agree(dist, rc, err)) {
        if (rc == 0) elm_run_close(run);
        return -1;
    }
    rc = same_config(run, dist, err);
    if (rc == 0 && check) rc = check(&run->cfg, elm_dist_size(dist), err);
    if (rc == 0 && elm_dist_rank(dist) == 0) rc = elm_run_lock(run, cli->command, err);
    if (elm_dist_agree(dist, rc, err)) {
        elm_run_close(run);
        return -1;
    }
    if (elm_dist_rank(dist) > 0) run->quiet = 1; // rank 0 reports progress for the job
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
