// report_feed.h — the report's sections of "your daily dose": the mix asked for against the one
// delivered and the feed day by day (feed/feed.json, feed/feed.jsonl); called by report.c's
// elm_report_run.
#ifndef ELM_REPORT_FEED_H
#define ELM_REPORT_FEED_H

#include "engine/app/report_page.h"

int elm_report_feed_section(ElmReportPage *r);

#endif
