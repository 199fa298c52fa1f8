// report_page.h — the report page being built (its HTML body, navigation and metrics tree) and
// the helpers every section of it uses; used by report.c, report_topics.c and report_feed.c.
#ifndef ELM_REPORT_PAGE_H
#define ELM_REPORT_PAGE_H

#include "engine/base/buf.h"
#include "engine/base/error.h"
#include "engine/base/jsonl.h"
#include "engine/config/run.h"

#include <cjson/cJSON.h>

// The page: each section appends to body (and a link to nav) and puts its numbers in metrics,
// so the page never shows a number metrics.json lacks.
typedef struct ElmReportPage {
    ElmRun *run;
    cJSON *metrics;
    ElmBuf body, nav;
    ElmError *err;
} ElmReportPage;

// Loads <run>/<rel> as JSON: NULL with *missing = 1 when absent, NULL + error when malformed.
cJSON *elm_report_page_load(ElmReportPage *r, const char *rel, int *missing);
// Opens section `id` (its <h2> title and a link to it in the navigation); _end closes it.
void elm_report_page_section(ElmReportPage *r, const char *id, const char *title);
void elm_report_page_end(ElmReportPage *r);
// A muted paragraph: what a section shows when its stage has not run.
void elm_report_page_note(ElmReportPage *r, const char *what);
// o's number `key`, NaN when it has none.
double elm_report_page_num(const cJSON *o, const char *key);

// Loads the JSON file <run>/<rel> and opens section `id`: 1 = *json holds it, with member `key`
// when key is not NULL (the caller writes the section, ends it and deletes *json); 0 = the file
// or the member is absent (the section says `missing` and is ended); -1 = not readable JSON.
int elm_report_page_json(ElmReportPage *r, const char *id, const char *title, const char *rel,
                         const char *key, const char *missing, cJSON **json);

// Opens section `id` and the JSONL file <run>/<rel>: 1 = open (the caller reads jl, closes it
// and ends the section), 0 = the file is absent (the section says `missing` and is ended),
// -1 = the file cannot be read.
int elm_report_page_jsonl(ElmReportPage *r, const char *id, const char *title, const char *rel,
                          const char *missing, ElmJsonl *jl);

// Opens section `id` for member `key` of an already loaded json (NULL = the file is absent):
// the member, or NULL when there is none (the section says `missing` and is ended).
const cJSON *elm_report_page_member(ElmReportPage *r, const char *id, const char *title,
                                    const cJSON *json, const char *key, const char *missing);

#endif
