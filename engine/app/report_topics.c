// report_topics.c — the report's top words and topics (see report_topics.h).
#include "engine/app/report_topics.h"
#include "engine/app/svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- top words and LDA topics (topics/topics.json) ----
// One bar chart per side: that side's 20 most frequent words, with both sides' frequencies.
static void top_words_charts(ElmReportPage *r, cJSON *m, const cJSON *tw) {
    static const char *sides[] = {"real", "generated"};
    elm_buf_printf(&r->body, "<p>Normalised frequency of each side's most frequent words "
                             "(stop words removed).</p><div class=\"charts\">");
    for (int s = 0; s < 2; s++) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(tw, sides[s]);
        int n = cJSON_GetArraySize(list);
        if (n > 20) n = 20;
        const char **wl = calloc((size_t)n + 1, sizeof(char *));
        double *fr = calloc((size_t)n + 1, sizeof(double)),
               *fg = calloc((size_t)n + 1, sizeof(double));
        cJSON *arr = cJSON_AddArrayToObject(m, sides[s]);
        for (int i = 0; i < n; i++) {
            const cJSON *w = cJSON_GetArrayItem(list, i);
            const char *word = elm_json_str(w, "word");
            wl[i] = word ? word : "?";
            fr[i] = elm_report_page_num(w, "freq_real"),
            fg[i] = elm_report_page_num(w, "freq_generated");
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "word", wl[i]);
            cJSON_AddNumberToObject(e, "freq_real", fr[i]);
            cJSON_AddNumberToObject(e, "freq_generated", fg[i]);
            cJSON_AddItemToArray(arr, e);
        }
        const double *vals[] = {fr, fg};
        const char *names[] = {"real", "generated"};
        char title[64];
        snprintf(title, sizeof title, "Top words of the %s tweets", sides[s]);
        elm_svg_bar_chart(&r->body, title, wl, n, vals, names, 2, "%.4f", 520);
        free(wl), free(fr), free(fg);
    }
    elm_buf_printf(&r->body, "</div>\n");
}

// The words in one side's top list and not the other's, as chips.
static void top_words_only(ElmReportPage *r, cJSON *m, const cJSON *tw) {
    static const char *only[] = {"only_real", "only_generated"};
    static const char *only_label[] = {"Only in the real top words",
                                       "Only in the generated top words"};
    for (int s = 0; s < 2; s++) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(tw, only[s]);
        cJSON_AddItemToObject(m, only[s], cJSON_Duplicate(list, 1));
        elm_buf_printf(&r->body, "<p><b>%s:</b> <span class=\"chips\">", only_label[s]);
        const cJSON *w;
        cJSON_ArrayForEach(w, list) {
            if (!cJSON_IsString(w)) continue;
            elm_buf_printf(&r->body, "<span>");
            elm_buf_html(&r->body, w->valuestring);
            elm_buf_printf(&r->body, "</span>");
        }
        elm_buf_printf(&r->body, "</span></p>\n");
    }
}

static void top_words(ElmReportPage *r, const cJSON *t) {
    const cJSON *tw = elm_report_page_member(r, "words", "Top words, real vs generated", t,
                                             "top_words", "The topics stage has not run.");
    if (!tw) return;
    cJSON *m = cJSON_AddObjectToObject(r->metrics, "top_words");
    top_words_charts(r, m, tw);
    top_words_only(r, m, tw);
    elm_report_page_end(r);
}

// The fitted LDA's hyperparameters, perplexity and coherences.
static void lda_summary(ElmReportPage *r, cJSON *m, const cJSON *lda) {
    static const char *lf[] = {"k",
                               "alpha",
                               "beta",
                               "heldout_perplexity",
                               "coherence_umass",
                               "coherence_npmi",
                               "coherence_c_v"};
    for (int i = 0; i < 7; i++) cJSON_AddNumberToObject(m, lf[i], elm_report_page_num(lda, lf[i]));
    elm_buf_printf(&r->body,
                   "<p>%.0f topics fit on real and generated tweets together (alpha %.3g, beta "
                   "%.3g); held-out perplexity %.1f; coherence UMass %.3f, NPMI %.3f, "
                   "c<sub>v</sub> %.3f. The shares show how much of each side's text each topic "
                   "explains: a model that imitates well says as much about each topic.</p>\n",
                   elm_report_page_num(lda, "k"), elm_report_page_num(lda, "alpha"),
                   elm_report_page_num(lda, "beta"), elm_report_page_num(lda, "heldout_perplexity"),
                   elm_report_page_num(lda, "coherence_umass"),
                   elm_report_page_num(lda, "coherence_npmi"),
                   elm_report_page_num(lda, "coherence_c_v"));
}

// One table row per topic (its words, both sides' shares, NPMI) and the shares' bar chart.
static void topic_table(ElmReportPage *r, cJSON *m, const cJSON *topics) {
    int n = cJSON_GetArraySize(topics);
    const char **tl = calloc((size_t)n + 1, sizeof(char *));
    char(*names)[24] = calloc((size_t)n + 1, 24);
    double *sr = calloc((size_t)n + 1, sizeof(double)), *sg = calloc((size_t)n + 1, sizeof(double));
    cJSON *arr = cJSON_AddArrayToObject(m, "list");
    elm_buf_printf(&r->body, "<table><tr><th>topic</th><th>top words</th><th class=\"n\">share "
                             "real</th><th class=\"n\">share generated</th><th class=\"n\">NPMI"
                             "</th></tr>\n");
    for (int i = 0; i < n; i++) {
        const cJSON *tp = cJSON_GetArrayItem(topics, i);
        snprintf(names[i], 24, "topic %d", i + 1);
        tl[i] = names[i];
        sr[i] = elm_report_page_num(tp, "share_real"),
        sg[i] = elm_report_page_num(tp, "share_generated");
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToObject(e, "words",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(tp, "words"), 1));
        cJSON_AddNumberToObject(e, "share_real", sr[i]);
        cJSON_AddNumberToObject(e, "share_generated", sg[i]);
        cJSON_AddNumberToObject(e, "npmi", elm_report_page_num(tp, "npmi"));
        cJSON_AddItemToArray(arr, e);
        elm_buf_printf(&r->body, "<tr><td>%d</td><td>", i + 1);
        const cJSON *w;
        int first = 1;
        cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(tp, "words")) {
            if (!cJSON_IsString(w)) continue;
            if (!first) elm_buf_printf(&r->body, ", ");
            elm_buf_html(&r->body, w->valuestring);
            first = 0;
        }
        elm_buf_printf(&r->body,
                       "</td><td class=\"n\">%.1f%%</td><td class=\"n\">%.1f%%</td>"
                       "<td class=\"n\">%.3f</td></tr>\n",
                       100 * sr[i], 100 * sg[i], elm_report_page_num(tp, "npmi"));
    }
    elm_buf_printf(&r->body, "</table>\n");
    const double *vals[] = {sr, sg};
    const char *sn[] = {"real", "generated"};
    elm_svg_bar_chart(&r->body, "Topic shares: real vs generated", tl, n, vals, sn, 2, "%.3f", 720);
    free(tl), free(names), free(sr), free(sg);
}

// The sweep over the number of topics: a table and the coherence and perplexity curves.
static void topic_sweep(ElmReportPage *r, cJSON *m, const cJSON *sweep) {
    int ns = cJSON_GetArraySize(sweep);
    if (ns <= 0) return;
    cJSON *sw = cJSON_AddArrayToObject(m, "sweep");
    double *k = calloc((size_t)ns, sizeof(double)), *cv = calloc((size_t)ns, sizeof(double)),
           *np = calloc((size_t)ns, sizeof(double)), *pp = calloc((size_t)ns, sizeof(double));
    elm_buf_printf(&r->body, "<h3>Sweep</h3><table><tr><th class=\"n\">k</th><th class=\"n\">"
                             "alpha</th><th class=\"n\">beta</th><th class=\"n\">held-out "
                             "perplexity</th><th class=\"n\">UMass</th><th class=\"n\">NPMI</th>"
                             "<th class=\"n\">c_v</th></tr>\n");
    for (int i = 0; i < ns; i++) {
        const cJSON *e = cJSON_GetArrayItem(sweep, i);
        cJSON *o = cJSON_CreateObject();
        static const char *sf[] = {"k",
                                   "alpha",
                                   "beta",
                                   "heldout_perplexity",
                                   "coherence_umass",
                                   "coherence_npmi",
                                   "coherence_c_v"};
        for (int j = 0; j < 7; j++)
            cJSON_AddNumberToObject(o, sf[j], elm_report_page_num(e, sf[j]));
        cJSON_AddItemToArray(sw, o);
        k[i] = elm_report_page_num(e, "k"), cv[i] = elm_report_page_num(e, "coherence_c_v"),
        np[i] = elm_report_page_num(e, "coherence_npmi");
        pp[i] = elm_report_page_num(e, "heldout_perplexity");
        elm_buf_printf(&r->body,
                       "<tr><td class=\"n\">%.0f</td><td class=\"n\">%.3g</td>"
                       "<td class=\"n\">%.3g</td><td class=\"n\">%.1f</td>"
                       "<td class=\"n\">%.3f</td><td class=\"n\">%.3f</td>"
                       "<td class=\"n\">%.3f</td></tr>\n",
                       k[i], elm_report_page_num(e, "alpha"), elm_report_page_num(e, "beta"), pp[i],
                       elm_report_page_num(e, "coherence_umass"), np[i], cv[i]);
    }
    elm_buf_printf(&r->body, "</table><div class=\"charts\">\n");
    ElmSeries coh[2] = {{"c_v", k, cv, ns}, {"NPMI", k, np, ns}};
    elm_svg_line_chart(&r->body, "Coherence by number of topics", "topics (k)", "coherence", coh, 2,
                       520, 280);
    ElmSeries per[1] = {{"held-out perplexity", k, pp, ns}};
    elm_svg_line_chart(&r->body, "Held-out perplexity by number of topics", "topics (k)",
                       "perplexity", per, 1, 520, 280);
    elm_buf_printf(&r->body, "</div>\n");
    free(k), free(cv), free(np), free(pp);
}

static void lda_topics(ElmReportPage *r, const cJSON *t) {
    const cJSON *lda = elm_report_page_member(r, "topics", "Topics (LDA)", t, "lda",
                                              "The topics stage has not run.");
    const cJSON *topics = lda ? cJSON_GetObjectItemCaseSensitive(t, "topics") : NULL;
    if (lda && !topics) {
        elm_report_page_note(r, "topics.json has no \"topics\".");
        elm_report_page_end(r);
    }
    if (!topics) return;
    cJSON *m = cJSON_AddObjectToObject(r->metrics, "topics");
    lda_summary(r, m, lda);
    topic_table(r, m, topics);
    topic_sweep(r, m, cJSON_GetObjectItemCaseSensitive(t, "sweep"));
    elm_report_page_end(r);
}

// The confusion matrix of topic conditioning: rows the topic asked for, columns the dominant one.
static void confusion_table(ElmReportPage *r, const cJSON *c) {
    const cJSON *topics = cJSON_GetObjectItemCaseSensitive(c, "topics"), *t;
    const cJSON *conf = cJSON_GetObjectItemCaseSensitive(c, "confusion"), *row;
    elm_buf_printf(&r->body, "<h3>Asked for (rows) against dominant topic (columns)</h3><table "
                             "class=\"confusion\"><tr><th></th>");
    cJSON_ArrayForEach(t, topics) {
        elm_buf_printf(&r->body, "<th class=\"n\">");
        elm_buf_html(&r->body, elm_json_str(t, "name") ? elm_json_str(t, "name") : "");
        elm_buf_printf(&r->body, "</th>");
    }
    elm_buf_printf(&r->body, "</tr>\n");
    int i = 0;
    cJSON_ArrayForEach(row, conf) {
        const char *name = elm_json_str(cJSON_GetArrayItem(topics, i++), "name");
        elm_buf_printf(&r->body, "<tr><th>");
        elm_buf_html(&r->body, name ? name : "");
        elm_buf_printf(&r->body, "</th>");
        const cJSON *v;
        cJSON_ArrayForEach(v, row)
            elm_buf_printf(&r->body, "<td class=\"n\">%.0f</td>", v->valuedouble);
        elm_buf_printf(&r->body, "</tr>\n");
    }
    elm_buf_printf(&r->body, "</table>\n");
}

// Topic conditioning (topics.json "conditioning", eval/topic_hits.h): per topic asked for, the
// share of its texts whose dominant topic under topicfit's LDA is that topic, against the base
// rate, and the confusion matrix.
static void conditioning(ElmReportPage *r, const cJSON *t) {
    const cJSON *c = elm_report_page_member(
        r, "topic-conditioning", "Topic conditioning", t, "conditioning",
        "No topic-conditioned texts were scored (train with [train] condition = account+topic, "
        "ask for [generate] topics, run topics).");
    if (!c) return;
    cJSON_AddItemToObject(r->metrics, "topic_conditioning", cJSON_Duplicate(c, 1));
    double asked = elm_report_page_num(c, "conditioned");
    const char *src = elm_json_str(c, "base_source");
    int real = src && strcmp(src, "real") == 0;
    elm_buf_printf(&r->body,
                   "<p>%.0f generated texts were asked for a topic; <b>%.1f%%</b> of them have it "
                   "as their dominant topic under the LDA model fitted on the real tweets before "
                   "training (topicfit), against a base rate of %.1f%% (%s).</p>\n",
                   asked, 100 * elm_report_page_num(c, "hit_rate"),
                   100 * elm_report_page_num(c, "base_rate"),
                   real ? "the real tweets' topic shares: no unconditioned texts were generated"
                        : "the topic shares of the unconditioned generated texts");
    elm_buf_printf(&r->body, "<table><tr><th>topic</th><th class=\"n\">texts asked for "
                             "it</th><th class=\"n\">share of the asked</th><th class=\"n\">hit "
                             "rate</th><th class=\"n\">base rate</th></tr>\n");
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "topics")) {
        double n = elm_report_page_num(e, "asked"), hit = elm_report_page_num(e, "hit_rate");
        elm_buf_printf(&r->body, "<tr><td>");
        elm_buf_html(&r->body, elm_json_str(e, "name") ? elm_json_str(e, "name") : "");
        elm_buf_printf(&r->body, "</td><td class=\"n\">%.0f</td><td class=\"n\">%.1f%%</td>", n,
                       asked > 0 ? 100 * n / asked : 0.0);
        if (isnan(hit))
            elm_buf_printf(&r->body, "<td class=\"n\">—</td>");
        else
            elm_buf_printf(&r->body, "<td class=\"n\">%.1f%%</td>", 100 * hit);
        elm_buf_printf(&r->body, "<td class=\"n\">%.1f%%</td></tr>\n",
                       100 * elm_report_page_num(e, "base_rate"));
    }
    elm_buf_printf(&r->body, "</table>\n");
    confusion_table(r, c);
    elm_report_page_end(r);
}

// A topic id of the stories' list as the page numbers topics (1-based), "—" for none.
static void topic_cell(ElmReportPage *r, double t) {
    if (t >= 0)
        elm_buf_printf(&r->body, "<td class=\"n\">%.0f</td>", t + 1);
    else
        elm_buf_printf(&r->body, "<td class=\"n\">—</td>");
}

// The generated stories' topics (topics.json "stories", eval/story_topics.h): the stay rate
// against chance, the counts per topic (with its top words) and every story's row.
static void story_topics(ElmReportPage *r, const cJSON *t) {
    const cJSON *st = elm_report_page_member(
        r, "story-topics", "Topics of the stories", t, "stories",
        "No stories were scored (set [generate] stories = N, then run topics).");
    if (!st) return;
    cJSON_AddItemToObject(r->metrics, "story_topics", cJSON_Duplicate(st, 1));
    elm_buf_printf(&r->body,
                   "<p>%.0f stories, each scored by the LDA model above: the whole story, its "
                   "prompt and what the model wrote after it. %.0f of the %.0f whose prompt and "
                   "continuation both have a topic stay on the prompt's topic: <b>%.1f%%</b>, "
                   "against %.1f%% by chance (prompt and continuation topics drawn "
                   "independently).</p>\n",
                   elm_report_page_num(st, "n"), elm_report_page_num(st, "stays"),
                   elm_report_page_num(st, "scored"), 100 * elm_report_page_num(st, "stay_rate"),
                   100 * elm_report_page_num(st, "chance_rate"));
    const cJSON *words = cJSON_GetObjectItemCaseSensitive(t, "topics"), *e;
    elm_buf_printf(&r->body, "<table><tr><th>topic</th><th>top words</th><th class=\"n\">stories"
                             "</th><th class=\"n\">prompts</th><th class=\"n\">continuations"
                             "</th><th class=\"n\">stay on it</th></tr>\n");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(st, "topics")) {
        int id = (int)elm_report_page_num(e, "topic");
        elm_buf_printf(&r->body, "<tr><td>%d</td><td>", id + 1);
        const cJSON *w;
        int n = 0;
        cJSON_ArrayForEach(
            w, cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(words, id), "words")) {
            if (!cJSON_IsString(w) || n == 5) continue;
            if (n++) elm_buf_printf(&r->body, ", ");
            elm_buf_html(&r->body, w->valuestring);
        }
        elm_buf_printf(&r->body,
                       "</td><td class=\"n\">%.0f</td><td class=\"n\">%.0f</td><td "
                       "class=\"n\">%.0f</td><td class=\"n\">%.0f</td></tr>\n",
                       elm_report_page_num(e, "stories"), elm_report_page_num(e, "prompts"),
                       elm_report_page_num(e, "continuations"), elm_report_page_num(e, "stays"));
    }
    elm_buf_printf(&r->body, "</table>\n<table><tr><th class=\"n\">story</th><th "
                             "class=\"n\">topic</th><th class=\"n\">prompt's topic</th><th "
                             "class=\"n\">continuation's topic</th><th>stays on it</th></tr>\n");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(st, "list")) {
        const cJSON *stays = cJSON_GetObjectItemCaseSensitive(e, "stays");
        elm_buf_printf(&r->body, "<tr><td class=\"n\">%.0f</td>",
                       elm_report_page_num(e, "index") + 1);
        topic_cell(r, elm_report_page_num(e, "topic"));
        topic_cell(r, elm_report_page_num(e, "prompt_topic"));
        topic_cell(r, elm_report_page_num(e, "continuation_topic"));
        elm_buf_printf(&r->body, "<td>%s</td></tr>\n",
                       !stays ? "—" : (cJSON_IsTrue(stays) ? "yes" : "no"));
    }
    elm_buf_printf(&r->body, "</table>\n");
    elm_report_page_end(r);
}

int elm_report_topics_section(ElmReportPage *r) {
    int missing;
    cJSON *t = elm_report_page_load(r, "topics/topics.json", &missing);
    if (!t && !missing) return -1;
    top_words(r, t);
    lda_topics(r, t);
    conditioning(r, t);
    story_topics(r, t);
    cJSON_Delete(t);
    return 0;
}
