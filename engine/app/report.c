// report.c — collects each stage's numbers into one cJSON tree (written as metrics.json) and
// renders the same tree as HTML with inline SVG charts, so the page never shows a number that
// metrics.json lacks. Timings live under "timings" so runs can be compared without them.
#include "engine/app/report.h"
#include "engine/app/report_feed.h"
#include "engine/app/report_page.h"
#include "engine/app/report_topics.h"
#include "engine/base/fsutil.h"
#include "engine/base/jsonl.h"
#include "engine/base/buf.h"
#include "engine/app/svg.h"
#include "engine/app/cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- run summary and stage timings (manifest.json) ----
static int summary(ElmReportPage *r) {
    int missing;
    cJSON *man = elm_report_page_load(r, "manifest.json", &missing);
    if (!man && !missing) return -1;
    cJSON *run = cJSON_AddObjectToObject(r->metrics, "run");
    const ElmConfig *c = &r->run->cfg;
    cJSON_AddStringToObject(run, "name", elm_cfg_str(c, "run.name"));
    cJSON_AddNumberToObject(run, "seed", (double)r->run->seed);
    cJSON_AddStringToObject(run, "elm_version", elm_version);
    elm_report_page_section(r, "summary", "Run summary");
    elm_buf_printf(&r->body, "<table class=\"kv\"><tr><th>run</th><td>");
    elm_buf_html(&r->body, elm_cfg_str(c, "run.name"));
    elm_buf_printf(&r->body, "</td></tr><tr><th>config</th><td>");
    elm_buf_html(&r->body, c->path[0] ? c->path : "(defaults)");
    elm_buf_printf(&r->body, "</td></tr><tr><th>elm</th><td>%s (commit ", elm_version);
    const cJSON *ev = man ? cJSON_GetObjectItemCaseSensitive(man, "elm") : NULL;
    const char *commit = ev ? elm_json_str(ev, "commit") : NULL;
    elm_buf_html(&r->body, commit ? commit : elm_git_commit);
    elm_buf_printf(&r->body, ")</td></tr><tr><th>seed</th><td>%llu</td></tr>",
                   (unsigned long long)r->run->seed);
    const cJSON *dev = man ? cJSON_GetObjectItemCaseSensitive(man, "device") : NULL;
    const char *gpu = dev ? elm_json_str(dev, "gpu") : NULL;
    elm_buf_printf(&r->body, "<tr><th>device</th><td>");
    elm_buf_html(&r->body, gpu ? gpu : "CPU");
    elm_buf_printf(&r->body, "</td></tr></table>\n");
    cJSON_AddStringToObject(run, "device", gpu ? gpu : "cpu");

    cJSON *stages = man ? cJSON_GetObjectItemCaseSensitive(man, "stages") : NULL;
    int n = cJSON_GetArraySize(stages);
    if (n > 0) {
        cJSON *tim = cJSON_AddObjectToObject(r->metrics, "timings");
        const char *labels[32];
        double wall[32], mem[32];
        int k = 0;
        elm_buf_printf(&r->body, "<table><tr><th>stage</th><th>status</th><th>wall time (s)</th>"
                                 "<th>peak memory (MiB)</th></tr>\n");
        const cJSON *st;
        cJSON_ArrayForEach(st, stages) {
            const char *name = elm_json_str(st, "name"), *status = elm_json_str(st, "status");
            if (!name || k >= 32) continue;
            labels[k] = name, wall[k] = elm_report_page_num(st, "wall_s"),
            mem[k] = elm_report_page_num(st, "peak_rss_mb");
            cJSON *t = cJSON_AddObjectToObject(tim, name);
            cJSON_AddNumberToObject(t, "wall_s", wall[k]);
            cJSON_AddNumberToObject(t, "peak_rss_mb", mem[k]);
            double ran = elm_report_page_num(st, "ran_wall_s");
            if (status && strcmp(status, "cached") == 0 && !isnan(ran)) {
                cJSON_AddNumberToObject(t, "ran_wall_s", ran);
                elm_buf_printf(&r->body, "<tr><td>%s</td><td>cached (ran in %.2f s)</td>", name,
                               ran);
            } else {
                elm_buf_printf(&r->body, "<tr><td>%s</td><td>%s</td>", name, status ? status : "");
            }
            elm_buf_printf(&r->body, "<td>%.2f</td><td>%.0f</td></tr>\n", wall[k], mem[k]);
            k++;
        }
        elm_buf_printf(&r->body, "</table>\n");
        const double *v[] = {wall};
        const char *names[] = {"seconds"};
        if (k)
            elm_svg_bar_chart(&r->body, "Wall time per stage (s)", labels, k, v, names, 1, "%.1f",
                              640);
    }
    elm_report_page_end(r);
    cJSON_Delete(man);
    return 0;
}

// ---- per-account tweet counts (ingest.json, clean.json) ----
static int accounts(ElmReportPage *r) {
    int miss_i, miss_c;
    cJSON *ing = elm_report_page_load(r, "ingest.json", &miss_i);
    if (!ing && !miss_i) return -1;
    cJSON *cln = elm_report_page_load(r, "clean.json", &miss_c);
    if (!cln && !miss_c) {
        cJSON_Delete(ing);
        return -1;
    }
    elm_report_page_section(r, "accounts", "Tweets per account");
    const cJSON *ia = ing ? cJSON_GetObjectItemCaseSensitive(ing, "accounts") : NULL;
    const cJSON *ca = cln ? cJSON_GetObjectItemCaseSensitive(cln, "accounts") : NULL;
    int n = cJSON_GetArraySize(ia);
    if (n == 0) {
        elm_report_page_note(r, "The ingest stage has not run.");
    } else {
        cJSON *arr = cJSON_AddArrayToObject(r->metrics, "accounts");
        const char **labels = calloc((size_t)n, sizeof(char *));
        double *read = calloc((size_t)n, sizeof(double)), *kept = calloc((size_t)n, sizeof(double)),
               *clean = calloc((size_t)n, sizeof(double));
        elm_buf_printf(&r->body, "<table><tr><th>account</th><th class=\"n\">read</th>"
                                 "<th class=\"n\">ingested</th><th class=\"n\">after cleaning</th>"
                                 "</tr>\n");
        int k = 0;
        const cJSON *a;
        cJSON_ArrayForEach(a, ia) {
            const cJSON *c = ca ? cJSON_GetObjectItemCaseSensitive(ca, a->string) : NULL;
            labels[k] = a->string;
            read[k] = elm_report_page_num(a, "read"), kept[k] = elm_report_page_num(a, "kept");
            clean[k] = c ? elm_report_page_num(c, "kept") : NAN;
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "account", a->string);
            cJSON_AddNumberToObject(e, "read", read[k]);
            cJSON_AddNumberToObject(e, "ingested", kept[k]);
            if (c) cJSON_AddNumberToObject(e, "cleaned", clean[k]);
            cJSON_AddItemToArray(arr, e);
            char cleaned[32] = "—";
            if (c) snprintf(cleaned, sizeof cleaned, "%.0f", clean[k]);
            elm_buf_printf(&r->body, "<tr><td>");
            elm_buf_html(&r->body, a->string);
            elm_buf_printf(&r->body,
                           "</td><td class=\"n\">%.0f</td><td class=\"n\">%.0f</td>"
                           "<td class=\"n\">%s</td></tr>\n",
                           read[k], kept[k], cleaned);
            k++;
        }
        elm_buf_printf(&r->body, "</table>\n");
        const double *v[] = {kept, clean};
        const char *names[] = {"ingested", "after cleaning"};
        elm_svg_bar_chart(&r->body, "Tweets per account", labels, k, v, names, ca ? 2 : 1, "%.0f",
                          720);
        free(labels), free(read), free(kept), free(clean);
    }
    elm_report_page_end(r);
    cJSON_Delete(ing);
    cJSON_Delete(cln);
    return 0;
}

// ---- training and validation loss (train_log.jsonl) ----
typedef struct Curve {
    double *x, *y;
    int n, cap;
} Curve;

static void curve_push(Curve *c, double x, double y) {
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->x = realloc(c->x, sizeof(double) * (size_t)c->cap);
        c->y = realloc(c->y, sizeof(double) * (size_t)c->cap);
    }
    c->x[c->n] = x, c->y[c->n] = y, c->n++;
}

static cJSON *curve_json(const Curve *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "step", cJSON_CreateDoubleArray(c->x, c->n));
    cJSON_AddItemToObject(o, "loss", cJSON_CreateDoubleArray(c->y, c->n));
    return o;
}

static int training(ElmReportPage *r) {
    ElmJsonl jl;
    int open = elm_report_page_jsonl(r, "training", "Training", "train_log.jsonl",
                                     "The train stage has not run.", &jl);
    if (open <= 0) return open;
    Curve tr = {0}, va = {0};
    double tokens = 0;
    cJSON *o;
    // A resumed run may log a step twice: keep the last value for each step.
    while ((o = elm_jsonl_next(&jl, r->err))) {
        double step = elm_report_page_num(o, "step"), loss = elm_report_page_num(o, "loss"),
               vl = elm_report_page_num(o, "val_loss");
        Curve *c = !isnan(loss) ? &tr : !isnan(vl) ? &va : NULL;
        if (c && !isnan(step)) {
            while (c->n > 0 && c->x[c->n - 1] >= step) c->n--;
            curve_push(c, step, c == &tr ? loss : vl);
        }
        if (!isnan(elm_report_page_num(o, "tokens"))) tokens = elm_report_page_num(o, "tokens");
        cJSON_Delete(o);
    }
    elm_jsonl_close(&jl);
    if (r->err->msg[0]) {
        free(tr.x), free(tr.y), free(va.x), free(va.y);
        return -1;
    }
    cJSON *m = cJSON_AddObjectToObject(r->metrics, "training");
    cJSON_AddNumberToObject(m, "steps", tr.n ? tr.x[tr.n - 1] : 0);
    cJSON_AddNumberToObject(m, "tokens", tokens);
    double best = INFINITY;
    for (int i = 0; i < va.n; i++) best = fmin(best, va.y[i]);
    if (tr.n) cJSON_AddNumberToObject(m, "final_train_loss", tr.y[tr.n - 1]);
    if (va.n) cJSON_AddNumberToObject(m, "final_val_loss", va.y[va.n - 1]);
    if (va.n) cJSON_AddNumberToObject(m, "best_val_loss", best);
    cJSON_AddItemToObject(m, "train_curve", curve_json(&tr));
    cJSON_AddItemToObject(m, "val_curve", curve_json(&va));
    elm_buf_printf(&r->body,
                   "<table class=\"kv\"><tr><th>steps</th><td>%.0f</td></tr>"
                   "<tr><th>tokens seen</th><td>%.0f</td></tr>",
                   tr.n ? tr.x[tr.n - 1] : 0, tokens);
    if (tr.n)
        elm_buf_printf(&r->body, "<tr><th>final training loss</th><td>%.4f</td></tr>",
                       tr.y[tr.n - 1]);
    if (va.n)
        elm_buf_printf(&r->body,
                       "<tr><th>final validation loss</th><td>%.4f</td></tr>"
                       "<tr><th>best validation loss</th><td>%.4f</td></tr>",
                       va.y[va.n - 1], best);
    elm_buf_printf(&r->body, "</table>\n");
    ElmSeries s[2] = {{"training loss", tr.x, tr.y, tr.n}, {"validation loss", va.x, va.y, va.n}};
    elm_svg_line_chart(&r->body, "Loss by step", "step", "cross-entropy (nats/token)", s,
                       va.n ? 2 : 1, 760, 320);
    elm_report_page_end(r);
    free(tr.x), free(tr.y), free(va.x), free(va.y);
    return 0;
}

// ---- classifiers: can a model tell real from generated? (validate/metrics.json) ----
static const struct {
    const char *key, *label;
} MODELS[] = {{"multinomial_nb", "Multinomial Naive Bayes"},
              {"gaussian_nb", "Gaussian Naive Bayes"},
              {"random_forest_untuned", "Random forest (defaults)"},
              {"random_forest", "Random forest"}};

// The majority-class baseline: the accuracy of always guessing the larger side.
static void classifier_baseline(ElmReportPage *r, cJSON *m, const cJSON *data) {
    double n_real = elm_report_page_num(data, "real"),
           n_gen = elm_report_page_num(data, "generated");
    double majority = fmax(n_real, n_gen) / (n_real + n_gen);
    cJSON_AddNumberToObject(m, "real", n_real);
    cJSON_AddNumberToObject(m, "generated", n_gen);
    cJSON_AddNumberToObject(m, "majority_baseline", majority);
    elm_buf_printf(&r->body,
                   "<p>Each classifier learns from %.0f real and %.0f generated tweets (TF-IDF "
                   "features) and is scored on a held-out split. <b>Accuracy near 50%% means it "
                   "cannot tell them apart</b>: the imitation is good. (Always guessing the larger "
                   "class would score %.1f%%.)</p>\n",
                   n_real, n_gen, 100 * majority);
}

// One table row per model that ran; fills labels, acc (percent) and cm (row-major 2x2
// confusion) for the charts and returns how many models it found.
static int classifier_table(ElmReportPage *r, cJSON *m, const cJSON *test, const cJSON *grid,
                            const char *labels[4], double acc[4], double cm[4][4]) {
    elm_buf_printf(&r->body, "<table><tr><th>model</th><th class=\"n\">accuracy</th>"
                             "<th class=\"n\">vs 50%%</th><th class=\"n\">precision</th>"
                             "<th class=\"n\">recall</th><th class=\"n\">F1</th>"
                             "<th class=\"n\">ROC AUC</th></tr>\n");
    int k = 0;
    for (size_t i = 0; i < sizeof MODELS / sizeof *MODELS; i++) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(test, MODELS[i].key);
        if (!t) continue;
        int tuned = strcmp(MODELS[i].key, "random_forest") == 0 && grid;
        char label[96];
        snprintf(label, sizeof label, "%s%s", MODELS[i].label,
                 tuned ? " (tuned by grid search)" : "");
        cJSON *e = cJSON_AddObjectToObject(m, MODELS[i].key);
        static const char *fields[] = {"accuracy", "precision", "recall", "f1", "roc_auc"};
        double f[5];
        for (int j = 0; j < 5; j++) {
            f[j] = elm_report_page_num(t, fields[j]);
            cJSON_AddNumberToObject(e, fields[j], f[j]);
        }
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(t, "confusion");
        // rows: actual real, actual generated; columns: predicted real, predicted generated.
        double conf[4] = {
            elm_report_page_num(c, "true_real"), elm_report_page_num(c, "false_generated"),
            elm_report_page_num(c, "false_real"), elm_report_page_num(c, "true_generated")};
        cJSON_AddItemToObject(e, "confusion", cJSON_CreateDoubleArray(conf, 4));
        elm_buf_printf(&r->body,
                       "<tr><td>%s</td><td class=\"n\">%.2f%%</td><td class=\"n\">%+.2f</td>"
                       "<td class=\"n\">%.3f</td><td class=\"n\">%.3f</td><td class=\"n\">%.3f</td>"
                       "<td class=\"n\">%.3f</td></tr>\n",
                       label, 100 * f[0], 100 * (f[0] - 0.5), f[1], f[2], f[3], f[4]);
        labels[k] = MODELS[i].label, acc[k] = 100 * f[0];
        memcpy(cm[k], conf, sizeof conf);
        k++;
    }
    if (elm_cfg_bool(&r->run->cfg, "report.compare_study")) {
        cJSON_AddNumberToObject(m, "study_tuned_rf_accuracy", 0.6252);
        elm_buf_printf(&r->body, "<tr class=\"muted\"><td>The Elm study's tuned random forest "
                                 "(scikit-learn, its grid search)</td><td class=\"n\">62.52%%"
                                 "</td><td class=\"n\">+12.52</td><td></td><td></td><td></td>"
                                 "<td></td></tr>\n");
    }
    elm_buf_printf(&r->body, "</table>\n");
    return k;
}

// The accuracy bar chart and one confusion heatmap per model.
static void classifier_charts(ElmReportPage *r, const char *labels[4], const double acc[4],
                              double cm[4][4], int k) {
    const double *vals[] = {acc};
    const char *names[] = {"accuracy %"};
    elm_svg_bar_chart(&r->body, "Held-out accuracy (50% = indistinguishable)", labels, k, vals,
                      names, 1, "%.1f", 720);
    elm_buf_printf(&r->body, "<div class=\"charts\">");
    static const char *rows[] = {"real", "generated"}, *cols[] = {"said real", "said generated"};
    for (int i = 0; i < k; i++) {
        char title[128];
        snprintf(title, sizeof title, "%s: confusion matrix", labels[i]);
        elm_svg_heatmap(&r->body, title, rows, cols, cm[i], 2, 2, "%.0f", 70);
    }
    elm_buf_printf(&r->body, "</div>\n");
}

// The forest's grid search: combinations, folds and the best parameters.
static void grid_search(ElmReportPage *r, cJSON *m, const cJSON *grid) {
    cJSON *g = cJSON_AddObjectToObject(m, "grid");
    double combos = elm_report_page_num(grid, "combinations"),
           best = elm_report_page_num(grid, "best_cv_accuracy");
    cJSON_AddNumberToObject(g, "combinations", combos);
    cJSON_AddNumberToObject(g, "folds", elm_report_page_num(grid, "folds"));
    cJSON_AddNumberToObject(g, "best_cv_accuracy", best);
    cJSON_AddItemToObject(g, "best",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(grid, "best"), 1));
    char *best_text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(grid, "best"));
    elm_buf_printf(&r->body,
                   "<h3>Grid search</h3><p>%.0f combinations, %.0f-fold stratified "
                   "cross-validation; best mean accuracy %.2f%% with <code>",
                   combos, elm_report_page_num(grid, "folds"), 100 * best);
    elm_buf_html(&r->body, best_text ? best_text : "");
    elm_buf_printf(&r->body, "</code>.</p>\n");
    free(best_text);
}

// The forest's 20 most important features, as a bar chart.
static void feature_importances(ElmReportPage *r, cJSON *m, const cJSON *test) {
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(test, "random_forest");
    const cJSON *feats = rf ? cJSON_GetObjectItemCaseSensitive(rf, "top_features") : NULL;
    int nf = cJSON_GetArraySize(feats);
    if (nf <= 0) return;
    if (nf > 20) nf = 20;
    const char **fl = calloc((size_t)nf, sizeof(char *));
    double *fv = calloc((size_t)nf, sizeof(double));
    cJSON *arr = cJSON_AddArrayToObject(m, "feature_importances");
    for (int i = 0; i < nf; i++) {
        const cJSON *f = cJSON_GetArrayItem(feats, i);
        const char *term = elm_json_str(f, "term");
        fl[i] = term ? term : "?", fv[i] = elm_report_page_num(f, "importance");
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "term", fl[i]);
        cJSON_AddNumberToObject(e, "importance", fv[i]);
        cJSON_AddItemToArray(arr, e);
    }
    const double *fvs[] = {fv};
    const char *fn[] = {"importance"};
    elm_svg_bar_chart(&r->body, "Random forest: the features that give generated tweets away", fl,
                      nf, fvs, fn, 1, "%.4f", 720);
    free(fl), free(fv);
}

static int classifiers(ElmReportPage *r) {
    cJSON *v;
    int open = elm_report_page_json(r, "classifiers", "Real or generated? The classifiers",
                                    "validate/metrics.json", "test",
                                    "The validate stage has not run.", &v);
    if (open <= 0) return open;
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(v, "test");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(v, "data");
    const cJSON *grid = cJSON_GetObjectItemCaseSensitive(v, "grid");
    cJSON *m = cJSON_AddObjectToObject(r->metrics, "classifiers");
    classifier_baseline(r, m, data);
    const char *labels[4];
    double acc[4], cm[4][4];
    int k = classifier_table(r, m, test, grid, labels, acc, cm);
    classifier_charts(r, labels, acc, cm, k);
    if (grid) grid_search(r, m, grid);
    feature_importances(r, m, test);
    elm_report_page_end(r);
    cJSON_Delete(v);
    return 0;
}

// ---- who wrote it (validate/metrics.json "attribution") ----
// The account classifier's ceiling on held-out real tweets, then per account asked for, the share
// of generated tweets attributed to it and its lift over the unconditioned ones.
static void attribution_tables(ElmReportPage *r, cJSON *m, const cJSON *a) {
    const cJSON *real = cJSON_GetObjectItemCaseSensitive(a, "real");
    const cJSON *recall = cJSON_GetObjectItemCaseSensitive(real, "recall");
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(a, "generated");
    double ceiling = elm_report_page_num(real, "accuracy");
    cJSON_AddNumberToObject(m, "ceiling", ceiling);
    elm_buf_printf(&r->body,
                   "<p>An account classifier (TF-IDF + Naive Bayes) trained on real tweets names "
                   "the author of <b>%.1f%%</b> of held-out real tweets: the ceiling for "
                   "generated ones.</p>\n<table><tr><th>account</th><th>held-out real "
                   "recall</th><th>generated asked for it</th><th>attributed to it</th><th>lift "
                   "over unconditioned</th></tr>\n",
                   100 * ceiling);
    cJSON *rows = cJSON_AddArrayToObject(m, "accounts");
    const cJSON *acc;
    cJSON_ArrayForEach(acc, cJSON_GetObjectItemCaseSensitive(a, "accounts")) {
        if (!cJSON_IsString(acc)) continue;
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(gen, acc->valuestring);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "account", acc->valuestring);
        double rec = elm_report_page_num(recall, acc->valuestring);
        cJSON_AddNumberToObject(e, "recall", rec);
        elm_buf_printf(&r->body, "<tr><td>");
        elm_buf_html(&r->body, acc->valuestring);
        elm_buf_printf(&r->body, "</td><td>%.1f%%</td>", 100 * rec);
        if (g) {
            cJSON_AddNumberToObject(e, "count", elm_report_page_num(g, "count"));
            cJSON_AddNumberToObject(e, "share_asked", elm_report_page_num(g, "share_asked"));
            elm_buf_printf(&r->body, "<td>%.0f</td><td>%.1f%%</td>",
                           elm_report_page_num(g, "count"),
                           100 * elm_report_page_num(g, "share_asked"));
            if (!isnan(elm_report_page_num(g, "lift"))) {
                cJSON_AddNumberToObject(e, "lift", elm_report_page_num(g, "lift"));
                elm_buf_printf(&r->body, "<td>%.2f×</td></tr>\n", elm_report_page_num(g, "lift"));
            } else {
                elm_buf_printf(&r->body, "<td>—</td></tr>\n");
            }
        } else {
            elm_buf_printf(&r->body, "<td>0</td><td>—</td><td>—</td></tr>\n");
        }
        cJSON_AddItemToArray(rows, e);
    }
    elm_buf_printf(&r->body, "</table>\n");
    const cJSON *none = cJSON_GetObjectItemCaseSensitive(gen, "none");
    if (none) cJSON_AddItemToObject(m, "unconditioned", cJSON_Duplicate(none, 1));
}

// Keyword steering (validate's "keywords"): per keyword list, the hit rate of the steered tweets
// against the unsteered ones' and the mean log-probability each costs.
static void keyword_table(ElmReportPage *r, const cJSON *kw) {
    if (!cJSON_GetArraySize(kw)) return;
    cJSON_AddItemToObject(r->metrics, "keywords", cJSON_Duplicate(kw, 1));
    elm_buf_printf(&r->body, "<h3>Keyword steering</h3>\n<table><tr><th>keywords</th><th>steered "
                             "tweets</th><th>hit rate</th><th>unsteered hit rate</th><th>mean "
                             "log-prob</th><th>unsteered mean log-prob</th></tr>\n");
    const cJSON *e;
    cJSON_ArrayForEach(e, kw) {
        elm_buf_printf(&r->body, "<tr><td>");
        elm_buf_html(&r->body, e->string ? e->string : "");
        elm_buf_printf(&r->body,
                       "</td><td>%.0f</td><td>%.1f%%</td><td>%.1f%%</td><td>%.3f</td><td>%.3f</td>"
                       "</tr>\n",
                       elm_report_page_num(e, "count"), 100 * elm_report_page_num(e, "hit_rate"),
                       100 * elm_report_page_num(e, "base_hit_rate"),
                       elm_report_page_num(e, "mean_logprob"),
                       elm_report_page_num(e, "base_mean_logprob"));
    }
    elm_buf_printf(&r->body, "</table>\n");
}

static int attribution(ElmReportPage *r) {
    cJSON *v;
    int open = elm_report_page_json(r, "attribution", "Who wrote it? Account attribution",
                                    "validate/metrics.json", "attribution",
                                    "The validate stage has not run.", &v);
    if (open <= 0) return open;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(v, "attribution");
    const char *skipped = elm_json_str(a, "skipped");
    if (skipped) {
        elm_buf_printf(&r->body, "<p class=\"muted\">No account attribution: ");
        elm_buf_html(&r->body, skipped);
        elm_buf_printf(&r->body, ".</p>\n");
    } else {
        attribution_tables(r, cJSON_AddObjectToObject(r->metrics, "attribution"), a);
    }
    keyword_table(r, cJSON_GetObjectItemCaseSensitive(v, "keywords"));
    elm_report_page_end(r);
    cJSON_Delete(v);
    return 0;
}

// ---- caught vs passed (validate/metrics.json "caught_vs_passed") ----
static void word_chips(ElmReportPage *r, const cJSON *list) {
    elm_buf_printf(&r->body, "<span class=\"chips\">");
    const cJSON *w;
    cJSON_ArrayForEach(w, list) {
        const char *word = elm_json_str(w, "word");
        if (!word) continue;
        elm_buf_printf(&r->body, "<span>");
        elm_buf_html(&r->body, word);
        elm_buf_printf(&r->body, " %.0f</span>", elm_report_page_num(w, "count"));
    }
    elm_buf_printf(&r->body, "</span>");
}

static int caught_passed(ElmReportPage *r) {
    cJSON *v;
    int open = elm_report_page_json(
        r, "caught", "Caught or passed: the generated tweets side by side", "validate/metrics.json",
        "caught_vs_passed", "The validate stage has not run.", &v);
    if (open <= 0) return open;
    const cJSON *cp = cJSON_GetObjectItemCaseSensitive(v, "caught_vs_passed");
    cJSON_AddItemToObject(r->metrics, "caught_vs_passed", cJSON_Duplicate(cp, 1));
    static const char *groups[] = {"caught", "passed"};
    static const char *label[] = {"caught (called generated)", "passed (taken for real)"};
    elm_buf_printf(&r->body, "<table><tr><th>generated test tweets</th><th>count</th><th>median "
                             "characters</th><th>median words</th><th>top words</th><th>only "
                             "in this list</th></tr>\n");
    for (int g = 0; g < 2; g++) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(cp, groups[g]);
        elm_buf_printf(&r->body, "<tr><td>%s</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>",
                       label[g], elm_report_page_num(e, "count"),
                       elm_report_page_num(cJSON_GetObjectItemCaseSensitive(e, "chars"), "median"),
                       elm_report_page_num(cJSON_GetObjectItemCaseSensitive(e, "words"), "median"));
        word_chips(r, cJSON_GetObjectItemCaseSensitive(e, "top_words"));
        elm_buf_printf(&r->body, "</td><td>");
        word_chips(r, cJSON_GetObjectItemCaseSensitive(e, "only"));
        elm_buf_printf(&r->body, "</td></tr>\n");
    }
    elm_buf_printf(&r->body, "</table>\n");
    elm_report_page_end(r);
    cJSON_Delete(v);
    return 0;
}

// ---- viable tweets and stories ----
static int viable(ElmReportPage *r) {
    cJSON *sum;
    int open = elm_report_page_json(r, "viable", "Viable tweets", "viable.json", NULL,
                                    "The viable stage has not run.", &sum);
    if (open <= 0) return open;
    cJSON *m = cJSON_AddObjectToObject(r->metrics, "viable");
    double cand = elm_report_page_num(sum, "candidates"), kept = elm_report_page_num(sum, "kept");
    cJSON_AddNumberToObject(m, "candidates", cand);
    cJSON_AddNumberToObject(m, "kept", kept);
    const cJSON *drop = cJSON_GetObjectItemCaseSensitive(sum, "dropped");
    cJSON_AddItemToObject(m, "dropped", cJSON_Duplicate(drop, 1));
    elm_buf_printf(&r->body,
                   "<p>%.0f generated tweets fooled the tuned classifier; %.0f remain after "
                   "removing near-copies of training tweets and duplicates.</p>\n",
                   cand, kept);
    char path[4200];
    elm_run_path(r->run, "viable.jsonl", path, sizeof path);
    ElmJsonl jl;
    int shown = (int)elm_cfg_int(&r->run->cfg, "report.viable_shown");
    cJSON *top = cJSON_AddArrayToObject(m, "top");
    if (elm_jsonl_open(&jl, path, r->err) == 0) {
        elm_buf_printf(&r->body, "<ol class=\"tweets\">\n");
        cJSON *o;
        for (int i = 0; i < shown && (o = elm_jsonl_next(&jl, r->err)); i++) {
            const char *t = elm_json_str(o, "text");
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "text", t ? t : "");
            cJSON_AddNumberToObject(e, "p_real", elm_report_page_num(o, "p_real"));
            cJSON_AddNumberToObject(e, "longest_common_run",
                                    elm_report_page_num(o, "longest_common_run"));
            cJSON_AddItemToArray(top, e);
            elm_buf_printf(&r->body, "<li><span class=\"tweet\">");
            elm_buf_html(&r->body, t ? t : "");
            elm_buf_printf(&r->body,
                           "</span><span class=\"score\">p(real) %.3f · longest copied run %.0f "
                           "words</span></li>\n",
                           elm_report_page_num(o, "p_real"),
                           elm_report_page_num(o, "longest_common_run"));
            cJSON_Delete(o);
        }
        elm_buf_printf(&r->body, "</ol>\n");
        elm_jsonl_close(&jl);
    }
    elm_report_page_end(r);
    cJSON_Delete(sum);
    return r->err->msg[0] ? -1 : 0;
}

static int stories(ElmReportPage *r) {
    ElmJsonl jl;
    int open =
        elm_report_page_jsonl(r, "stories", "Short stories", "generated/stories.jsonl",
                              "No stories were generated (set [generate] stories = N).", &jl);
    if (open <= 0) return open;
    cJSON *arr = cJSON_AddArrayToObject(r->metrics, "stories");
    int shown = (int)elm_cfg_int(&r->run->cfg, "report.stories_shown");
    cJSON *o;
    for (int i = 0; i < shown && (o = elm_jsonl_next(&jl, r->err)); i++) {
        const char *p = elm_json_str(o, "prompt"), *t = elm_json_str(o, "text");
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "prompt", p ? p : "");
        cJSON_AddStringToObject(e, "text", t ? t : "");
        cJSON_AddNumberToObject(e, "mean_logprob", elm_report_page_num(o, "mean_logprob"));
        cJSON_AddItemToArray(arr, e);
        elm_buf_printf(&r->body, "<article class=\"story\"><p class=\"prompt\">");
        elm_buf_html(&r->body, p ? p : "");
        elm_buf_printf(&r->body, "</p><p>");
        elm_buf_html(&r->body, t ? t : "");
        elm_buf_printf(&r->body, "</p></article>\n");
        cJSON_Delete(o);
    }
    elm_jsonl_close(&jl);
    elm_report_page_end(r);
    return r->err->msg[0] ? -1 : 0;
}

// ---- links to every output that exists ----
static void outputs(ElmReportPage *r) {
    static const char *files[] = {"manifest.json",
                                  "metrics.json",
                                  "corpus.jsonl",
                                  "ingest.json",
                                  "clean.jsonl",
                                  "clean.json",
                                  "tokens.json",
                                  "train_log.jsonl",
                                  "generated/tweets.jsonl",
                                  "generated/stories.jsonl",
                                  "validate/metrics.json",
                                  "validate/viable.jsonl",
                                  "topics/topics.json",
                                  "viable.jsonl",
                                  "viable.json"};
    elm_report_page_section(r, "outputs", "Outputs");
    elm_buf_printf(&r->body, "<ul class=\"files\">\n");
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[4200];
        elm_run_path(r->run, files[i], path, sizeof path);
        if (strcmp(files[i], "metrics.json") != 0 && !elm_file_exists(path)) continue;
        elm_buf_printf(&r->body, "<li><a href=\"../%s\">%s</a></li>\n", files[i], files[i]);
    }
    elm_buf_printf(&r->body, "</ul>\n");
    elm_report_page_end(r);
}

static const char *CSS =
    "body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1a202c;"
    "background:#f7fafc}header{background:#1a365d;color:#fff;padding:18px 32px}"
    "header h1{margin:0;font-size:24px}header p{margin:4px 0 0;opacity:.8}"
    "nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #e2e8f0;padding:8px 32px;"
    "z-index:1}nav a{margin-right:16px;color:#2b6cb0;text-decoration:none;font-size:14px}"
    "main{max-width:1100px;margin:0 auto;padding:8px 32px 40px}"
    "section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:8px 20px 16px;"
    "margin:18px 0}h2{font-size:19px;border-bottom:1px solid #edf2f7;padding-bottom:6px}"
    "table{border-collapse:collapse;margin:8px 0 14px;font-size:14px}"
    "th,td{border-bottom:1px solid #edf2f7;padding:4px 10px;text-align:left}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".kv th{color:#4a5568;font-weight:600}.muted{color:#718096}"
    ".tweets li{margin:6px "
    "0}.tweet{display:block}.score{font-size:12px;color:#718096}.topic{font-size:12px;color:#"
    "2b6cb0}"
    ".story{border-left:3px solid #2b6cb0;padding-left:12px;margin:12px 0}"
    ".prompt{font-style:italic;color:#4a5568}.grid{stroke:#edf2f7}.axis{stroke:#a0aec0}"
    ".tick{font-size:11px;fill:#4a5568}.lab{font-size:12px;fill:#2d3748}"
    ".ct{font-size:13px;font-weight:600;fill:#1a202c}.val{font-size:11px;fill:#1a202c}"
    ".valw{font-size:12px;fill:#fff;font-weight:600}svg.chart{display:block;margin:8px 0;"
    "max-width:100%;height:auto}.charts{display:flex;flex-wrap:wrap;gap:16px}"
    ".chips span{display:inline-block;background:#edf2f7;border-radius:10px;padding:1px 8px;"
    "margin:2px;font-size:13px}";

int elm_report_run(ElmRun *run, ElmError *err) {
    ElmReportPage r = {.run = run, .metrics = cJSON_CreateObject(), .err = err};
    err->msg[0] = '\0';
    int rc = summary(&r);
    if (!rc) rc = accounts(&r);
    if (!rc) rc = training(&r);
    if (!rc) rc = elm_report_topics_section(&r);
    if (!rc) rc = classifiers(&r);
    if (!rc) rc = caught_passed(&r);
    if (!rc) rc = attribution(&r);
    if (!rc) rc = viable(&r);
    if (!rc) rc = elm_report_feed_section(&r);
    if (!rc) rc = stories(&r);
    if (!rc) outputs(&r);
    char dir[4200], path[4200];
    if (!rc) {
        elm_run_path(run, "report", dir, sizeof dir);
        rc = elm_mkdirs(dir, err);
    }
    if (!rc) {
        char *text = cJSON_Print(r.metrics);
        elm_run_path(run, "metrics.json", path, sizeof path);
        rc = text ? elm_write_file_atomic(path, text, strlen(text), err)
                  : elm_err(err, "out of memory");
        free(text);
    }
    if (!rc) {
        ElmBuf page = {0};
        const char *title = elm_cfg_str(&run->cfg, "report.title");
        if (!title[0]) title = elm_cfg_str(&run->cfg, "run.name");
        elm_buf_printf(&page, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                              "<meta name=\"viewport\" content=\"width=device-width\"><title>");
        elm_buf_html(&page, title);
        elm_buf_printf(&page, " — elm report</title><style>%s</style></head><body><header><h1>",
                       CSS);
        elm_buf_html(&page, title);
        elm_buf_printf(&page, "</h1><p>a personal language model, and how well it imitates "
                              "the real posts</p></header><nav>");
        elm_buf_append(&page, r.nav.data ? r.nav.data : "", r.nav.len);
        elm_buf_printf(&page, "</nav><main>\n");
        elm_buf_append(&page, r.body.data ? r.body.data : "", r.body.len);
        elm_buf_printf(&page, "</main></body></html>\n");
        elm_run_path(run, "report/index.html", path, sizeof path);
        rc = page.oom || r.body.oom ? elm_err(err, "out of memory building the report")
                                    : elm_write_file_atomic(path, page.data, page.len, err);
        elm_buf_free(&page);
    }
    elm_buf_free(&r.body);
    elm_buf_free(&r.nav);
    cJSON_Delete(r.metrics);
    return rc;
}
