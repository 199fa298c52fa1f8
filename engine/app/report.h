// report.h — `elm report`: <run>/report/index.html (self-contained: inline SVG and CSS, no
// network) and <run>/metrics.json with every number the page shows. Last stage of `elm run`.
#ifndef ELM_REPORT_H
#define ELM_REPORT_H

#include "engine/base/error.h"
#include "engine/config/run.h"

// Reads whatever the earlier stages left in the run folder (a stage that did not run gets a
// "not run" note, never an error) and writes the page and metrics.json atomically.
int elm_report_run(ElmRun *run, ElmError *err);

#endif
