// cmd_report.c — `elm report CONFIG`: the HTML report and metrics.json from whatever the
// earlier stages left in the run folder.
#include "engine/app/cli.h"
#include "engine/app/report.h"

#include <stdio.h>

static int run_report(const ElmCli *cli, ElmError *err) {
    ElmRun run;
    if (elm_cli_open_run_writer(cli, &run, err)) return -1;
    int rc = elm_report_run(&run, err);
    if (rc == 0 && !run.quiet) fprintf(stderr, "elm report: %s/report/index.html\n", run.dir);
    elm_run_close(&run);
    return rc;
}

const ElmCommand elm_cmd_report = {
    .name = "report",
    .summary = "the HTML report and metrics.json",
    .usage = "usage: elm report CONFIG.ini\n\n"
             "Writes <run>/report/index.html (self-contained: inline SVG charts and CSS, no\n"
             "network) and <run>/metrics.json, which holds every number the page shows.\n"
             "Sections whose stage has not run say so. Keys: [report] title, viable_shown,\n"
             "stories_shown.\n",
    .fn = run_report,
};
