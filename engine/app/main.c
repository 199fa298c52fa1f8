// main.c — the `elm` command line: finds the command, parses its options, runs it, and is the
// only place that prints an error and chooses the exit status.
#include "engine/app/cli.h"

#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_main_help(FILE *f) {
    fprintf(f,
            "elm %s — turn the posts of people you admire into a personal language model\n\n"
            "usage: elm <command> [CONFIG.ini] [--set section.key=value]... [--quiet]\n"
            "       elm <command> --help | elm --help | elm --version\n\ncommands:\n",
            elm_version);
    for (int i = 0; elm_commands[i]; i++)
        fprintf(f, "  %-10s %s\n", elm_commands[i]->name, elm_commands[i]->summary);
    fprintf(f, "\ncommon options:\n"
               "  --set section.key=value  override one config value (repeatable)\n"
               "  --quiet                  no progress lines\n"
               "  --help                   help for the command\n");
}

static void print_command_help(const ElmCommand *c) {
    printf("elm %s — %s\n\n%s", c->name, c->summary, c->usage);
    printf("\ncommon options: --set section.key=value (repeatable), --quiet, --help\n");
}

static const ElmCommand *find_command(const char *name) {
    for (int i = 0; elm_commands[i]; i++)
        if (strcmp(elm_commands[i]->name, name) == 0) return elm_commands[i];
    return NULL;
}

// Matches argv[i] against the command's declared options; returns 1 if it took a value.
static int parse_args(const ElmCommand *c, int argc, char **argv, ElmCli *cli, int *want_help,
                      ElmError *err) {
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *want_help = 1;
            continue;
        }
        if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            cli->quiet = 1;
            continue;
        }
        if (strcmp(a, "--set") == 0 || strncmp(a, "--set=", 6) == 0) {
            const char *v = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) return elm_err(err, "--set needs section.key=value");
            if (cli->n_sets >= ELM_CLI_MAX) return elm_err(err, "too many --set options");
            cli->sets[cli->n_sets++] = (char *)v;
            continue;
        }
        if (strncmp(a, "--", 2) == 0 && a[2]) {
            const char *eq = strchr(a, '=');
            size_t len = eq ? (size_t)(eq - a) : strlen(a);
            int found = 0;
            for (int k = 0; c->options[k]; k++) {
                const char *o = c->options[k];
                size_t ol = strlen(o), base = o[ol - 1] == '=' ? ol - 1 : ol;
                if (base != len || strncmp(o, a, len) != 0) continue;
                found = 1;
                if (cli->n_opt >= ELM_CLI_MAX) return elm_err(err, "too many options");
                cli->opt_name[cli->n_opt] = o[ol - 1] == '=' ? NULL : o;
                if (o[ol - 1] == '=') {
                    const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
                    if (!v) return elm_err(err, "%.*s needs a value", (int)len, a);
                    static char names[ELM_CLI_MAX][64]; // CLI-only state
                    snprintf(names[cli->n_opt], 64, "%.*s", (int)base, o);
                    cli->opt_name[cli->n_opt] = names[cli->n_opt];
                    cli->opt_val[cli->n_opt] = v;
                } else {
                    if (eq) return elm_err(err, "%.*s takes no value", (int)len, a);
                    cli->opt_val[cli->n_opt] = "";
                }
                cli->n_opt++;
                break;
            }
            if (!found)
                return elm_err(err, "unknown option '%s' (see `elm %s --help`)", a, c->name);
            continue;
        }
        if (cli->n_pos >= ELM_CLI_MAX) return elm_err(err, "too many arguments");
        cli->pos[cli->n_pos++] = a;
    }
    return 0;
}

// OpenMP threads that wait for work spin briefly, then sleep, unless the user chose otherwise.
// libgomp's default spins 300,000 times before sleeping, and on a machine shared with other jobs
// spinning threads take the cores from those with work: beside two busy processes the demo's
// training took 43 s with the default, 14.3 s with GOMP_SPINCOUNT=10000 and 10.9 s never
// spinning, against 6.0 / 6.15 / 7.4 s on an idle machine (docs/model.md). libgomp reads both
// variables when it loads, before main, so elm sets GOMP_SPINCOUNT and runs itself again (same
// pid, same arguments); if that exec fails, it goes on as it is.
static void openmp_wait_briefly(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    if (setenv("GOMP_SPINCOUNT", "10000", 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("GOMP_SPINCOUNT"); // not this process's setting after all
}

int main(int argc, char **argv) {
    openmp_wait_briefly(argv);
    // Config files are plain key = value lines; continuation lines would hide typos.
    ini_allow_multiline = 0;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (argc >= 3 && strcmp(argv[1], "help") == 0 && find_command(argv[2])) {
            print_command_help(find_command(argv[2]));
            return 0;
        }
        print_main_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("elm %s (commit %s)\n", elm_version, elm_git_commit);
        return 0;
    }
    const ElmCommand *c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "elm: unknown command '%s' (see `elm --help`)\n", argv[1]);
        return 2;
    }
    ElmCli cli = {.command = c->name};
    ElmError err = {{0}};
    int want_help = 0;
    if (parse_args(c, argc, argv, &cli, &want_help, &err)) {
        fprintf(stderr, "elm %s: %s\n", c->name, err.msg);
        return 2;
    }
    if (want_help) {
        print_command_help(c);
        return 0;
    }
    int rc = c->fn(&cli, &err);
    if (rc) {
        // A status without a message was reported already (under mpirun, by rank 0).
        if (err.msg[0] || rc < 0)
            fprintf(stderr, "elm %s: %s\n", c->name, err.msg[0] ? err.msg : "failed");
        return rc > 0 ? rc : 1; // a command may choose its status (elm run: 130 after Ctrl-C)
    }
    return 0;
}
