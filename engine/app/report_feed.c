// report_feed.c — the report's feed (see report_feed.h).
#include "engine/app/report_feed.h"
#include "engine/app/svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- your daily dose (feed/feed.json, feed/feed.jsonl) ----
// The mix asked for against the one delivered (accounts, and topics when asked for), then the
// feed day by day: each text with its account, its topic and why it was chosen.
// One table of the shares asked for and delivered (sum's "asked" and "delivered"), its first
// column headed `what`; copied into m.
static void mix_table(ElmReportPage *r, cJSON *m, const cJSON *sum, const char *what) {
    const cJSON *asked = cJSON_GetObjectItemCaseSensitive(sum, "asked");
    const cJSON *got = cJSON_GetObjectItemCaseSensitive(sum, "delivered"), *a;
    cJSON_AddItemToObject(m, "asked", cJSON_Duplicate(asked, 1));
    cJSON_AddItemToObject(m, "delivered", cJSON_Duplicate(got, 1));
    if (!cJSON_GetArraySize(asked)) return;
    elm_buf_printf(&r->body,
                   "<table class=\"mix\"><tr><th>%s</th><th>mix asked "
                   "for</th><th>mix delivered</th></tr>\n",
                   what);
    cJSON_ArrayForEach(a, asked) {
        elm_buf_printf(&r->body, "<tr><td>");
        elm_buf_html(&r->body, a->string);
        elm_buf_printf(&r->body, "</td><td>%.1f%%</td><td>%.1f%%</td></tr>\n", 100 * a->valuedouble,
                       100 * elm_report_page_num(got, a->string));
    }
    elm_buf_printf(&r->body, "</table>\n");
}

static void feed_mix(ElmReportPage *r, cJSON *m, const cJSON *sum) {
    elm_buf_printf(&r->body,
                   "<p>%.0f texts over %.0f days, from %.0f viable generated tweets.</p>\n",
                   elm_report_page_num(sum, "texts"), elm_report_page_num(sum, "days"),
                   elm_report_page_num(sum, "viable"));
    mix_table(r, m, sum, "account");
    const cJSON *topics = cJSON_GetObjectItemCaseSensitive(sum, "topics");
    if (topics) mix_table(r, cJSON_AddObjectToObject(m, "topics"), topics, "topic");
}

// One text of the feed: its account, its topic when it has one, the text and why it was chosen.
static void feed_item(ElmReportPage *r, const cJSON *o) {
    const char *t = elm_json_str(o, "text"), *acc = elm_json_str(o, "account");
    const char *why = elm_json_str(o, "why"), *topic = elm_json_str(o, "topic");
    elm_buf_printf(&r->body, "<li><span class=\"account\">@");
    elm_buf_html(&r->body, acc ? acc : "(unconditioned)");
    elm_buf_printf(&r->body, "</span> ");
    if (topic) {
        elm_buf_printf(&r->body, "<span class=\"topic\">[");
        elm_buf_html(&r->body, topic);
        elm_buf_printf(&r->body, "]</span> ");
    }
    elm_buf_printf(&r->body, "<span class=\"tweet\">");
    elm_buf_html(&r->body, t ? t : "");
    elm_buf_printf(&r->body, "</span><span class=\"score\">");
    elm_buf_html(&r->body, why ? why : "");
    elm_buf_printf(&r->body, "</span></li>\n");
}

int elm_report_feed_section(ElmReportPage *r) {
    cJSON *sum;
    int open = elm_report_page_json(r, "feed", "Your daily dose", "feed/feed.json", NULL,
                                    "The feed stage has not run.", &sum);
    if (open <= 0) return open;
    cJSON *m = cJSON_AddObjectToObject(r->metrics, "feed");
    feed_mix(r, m, sum);
    char path[4200];
    elm_run_path(r->run, "feed/feed.jsonl", path, sizeof path);
    ElmJsonl jl;
    cJSON *items = cJSON_AddArrayToObject(m, "items"), *o;
    int day = 0;
    if (elm_jsonl_open(&jl, path, r->err) == 0) {
        while ((o = elm_jsonl_next(&jl, r->err))) {
            if ((int)elm_report_page_num(o, "day") != day) {
                elm_buf_printf(&r->body, "%s<h3>Day %d</h3><ol class=\"tweets feed\">\n",
                               day ? "</ol>\n" : "", (int)elm_report_page_num(o, "day"));
                day = (int)elm_report_page_num(o, "day");
            }
            cJSON_AddItemToArray(items, cJSON_Duplicate(o, 1));
            feed_item(r, o);
            cJSON_Delete(o);
        }
        if (day) elm_buf_printf(&r->body, "</ol>\n");
        elm_jsonl_close(&jl);
    }
    elm_report_page_end(r);
    cJSON_Delete(sum);
    return r->err->msg[0] ? -1 : 0;
}
