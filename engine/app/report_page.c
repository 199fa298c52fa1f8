// report_page.c — the report page's shared helpers (see report_page.h).
#include "engine/app/report_page.h"
#include "engine/base/fsutil.h"

#include <math.h>
#include <stdlib.h>

// Loads <run>/<rel> as JSON: NULL with *missing = 1 when absent, NULL + error when malformed.
cJSON *elm_report_page_load(ElmReportPage *r, const char *rel, int *missing) {
    char path[4200];
    elm_run_path(r->run, rel, path, sizeof path);
    *missing = !elm_file_exists(path);
    if (*missing) return NULL;
    char *text;
    size_t n;
    if (elm_read_file(path, &text, &n, r->err)) return NULL;
    cJSON *j = cJSON_ParseWithLength(text, n);
    free(text);
    if (!j) elm_err(r->err, "%s: not valid JSON", path);
    return j;
}

void elm_report_page_section(ElmReportPage *r, const char *id, const char *title) {
    elm_buf_printf(&r->nav, "<a href=\"#%s\">", id);
    elm_buf_html(&r->nav, title);
    elm_buf_printf(&r->nav, "</a>");
    elm_buf_printf(&r->body, "<section id=\"%s\"><h2>", id);
    elm_buf_html(&r->body, title);
    elm_buf_printf(&r->body, "</h2>\n");
}

void elm_report_page_end(ElmReportPage *r) {
    elm_buf_printf(&r->body, "</section>\n");
}

void elm_report_page_note(ElmReportPage *r, const char *what) {
    elm_buf_printf(&r->body, "<p class=\"muted\">");
    elm_buf_html(&r->body, what);
    elm_buf_printf(&r->body, "</p>\n");
}

double elm_report_page_num(const cJSON *o, const char *key) {
    return elm_json_num(o, key, NAN);
}

// Loads the JSON file <run>/<rel> and opens section `id`: 1 = *json holds it, with member `key`
// when key is not NULL (the caller writes the section, ends it and deletes *json); 0 = the file
// or the member is absent (the section says `missing` and is ended); -1 = not readable JSON.
int elm_report_page_json(ElmReportPage *r, const char *id, const char *title, const char *rel,
                         const char *key, const char *missing, cJSON **json) {
    int absent;
    *json = elm_report_page_load(r, rel, &absent);
    if (!*json && !absent) return -1;
    elm_report_page_section(r, id, title);
    if (!*json || (key && !cJSON_GetObjectItemCaseSensitive(*json, key))) {
        elm_report_page_note(r, missing);
        elm_report_page_end(r);
        cJSON_Delete(*json);
        *json = NULL;
        return 0;
    }
    return 1;
}

// Opens section `id` and the JSONL file <run>/<rel>: 1 = open (the caller reads jl, closes it
// and ends the section), 0 = the file is absent (the section says `missing` and is ended),
// -1 = the file cannot be read.
int elm_report_page_jsonl(ElmReportPage *r, const char *id, const char *title, const char *rel,
                          const char *missing, ElmJsonl *jl) {
    char path[4200];
    elm_run_path(r->run, rel, path, sizeof path);
    elm_report_page_section(r, id, title);
    if (!elm_file_exists(path)) {
        elm_report_page_note(r, missing);
        elm_report_page_end(r);
        return 0;
    }
    return elm_jsonl_open(jl, path, r->err) ? -1 : 1;
}

const cJSON *elm_report_page_member(ElmReportPage *r, const char *id, const char *title,
                                    const cJSON *json, const char *key, const char *missing) {
    elm_report_page_section(r, id, title);
    const cJSON *m = json ? cJSON_GetObjectItemCaseSensitive(json, key) : NULL;
    if (!m) {
        elm_report_page_note(r, missing);
        elm_report_page_end(r);
    }
    return m;
}
