// cli.h — the command table and parsed command line of the `elm` binary.
// main.c parses argv against a command's option list; each cmd_*.c defines one ElmCommand.
#ifndef ELM_CLI_H
#define ELM_CLI_H

#include "engine/base/dist.h"
#include "engine/base/error.h"
#include "engine/config/run.h"
#include "engine/base/version.h"

#include <signal.h>

#define ELM_CLI_MAX 64

typedef struct ElmCli {
    const char *command;
    const char *pos[ELM_CLI_MAX]; // positional arguments, in order
    int n_pos;
    const char *opt_name[ELM_CLI_MAX]; // command options given ("--resume", "--vocab")
    const char *opt_val[ELM_CLI_MAX];  // their values ("" for flags)
    int n_opt;
    char *sets[ELM_CLI_MAX]; // --set section.key=value, in order
    int n_sets;
    int quiet;
} ElmCli;

typedef struct ElmCommand {
    const char *name;
    const char *summary; // one line for `elm --help`
    const char *usage;   // full text for `elm <command> --help`
    // Options the command accepts besides --set/--quiet/--help: "--name" is a flag,
    // "--name=" takes a value. NULL-terminated.
    const char *options[16];
    int (*fn)(const ElmCli *cli, ElmError *err);
} ElmCommand;

// All commands, NULL-terminated (commands.c).
extern const ElmCommand *const elm_commands[];

// The value of option `name` ("" for a flag that was given), or NULL when absent.
const char *elm_cli_opt(const ElmCli *cli, const char *name);
// Opens the run from the first positional argument (the config; NULL-safe: defaults only when
// `required` is 0 and none was given).
int elm_cli_open_run(const ElmCli *cli, ElmRun *run, int required, ElmError *err);
// The same for a command that writes into the run folder (config required): also takes the
// folder's lock (elm_run_lock), so two writers never mix their outputs.
int elm_cli_open_run_writer(const ElmCli *cli, ElmRun *run, ElmError *err);
// The same on every rank of dist (alone: elm_cli_open_run_writer): every rank opens the run and
// their effective configs must agree (rank 0 names the first key that differs); rank 0 alone
// takes the lock and reports progress (the others get run->quiet). Every rank fails together.
int elm_cli_open_run_writer_dist(const ElmCli *cli, ElmRun *run, ElmDist *dist, ElmError *err);
// The same, with check(cfg, ranks) run on every rank once the configs agree and before anything
// is written (a setting the number of ranks rules out fails there: one line from rank 0).
int elm_cli_open_run_writer_dist_check(const ElmCli *cli, ElmRun *run, ElmDist *dist,
                                       int (*check)(const ElmConfig *cfg, int ranks, ElmError *err),
                                       ElmError *err);

// Ends a command run on every rank of dist and closes dist; returns its exit status. A failure
// every rank knows of (elm_dist_failed_together) is printed by rank 0 alone, as main would print
// it ("elm <command>: <message>"), and only then do the ranks part (a barrier): mpirun ends the
// whole job as soon as one rank exits non-zero, so a rank leaving first could cut rank 0 off
// before its line is out. Every rank then returns 1 with err empty (main prints nothing more).
int elm_cli_dist_end(const ElmCli *cli, ElmDist *dist, int rc, ElmError *err);

// Ctrl-C / SIGTERM as a stop request for a long loop (training polls the flag between steps
// and saves a checkpoint): elm_cli_stop_begin clears and returns the flag, a second signal stops
// the process at once (checkpoints are atomic); elm_cli_stop_end restores the old handlers.
typedef struct ElmCliStop {
    struct sigaction old_int, old_term;
} ElmCliStop;
volatile sig_atomic_t *elm_cli_stop_begin(ElmCliStop *s);
void elm_cli_stop_end(ElmCliStop *s);

#endif
