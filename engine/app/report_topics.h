// report_topics.h — the report's sections of top words of real vs generated tweets, the LDA topics
// and sweep, topic conditioning and the stories' topics (topics/topics.json); called by report.c's
// elm_report_run.
#ifndef ELM_REPORT_TOPICS_H
#define ELM_REPORT_TOPICS_H

#include "engine/app/report_page.h"

int elm_report_topics_section(ElmReportPage *r);

#endif
