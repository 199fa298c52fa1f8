// steering.c — keyword hit rates of steered vs unsteered generated tweets, and their log-prob cost.
#include "eval/steering.h"
#include "eval/attribution.h"
#include "eval/textfeat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// 1 when the word tokens of one keyword (kt[0..nk)) appear in a row among tt[0..nt).
static int has_run(char *const *tt, int nt, char *const *kt, int nk) {
    for (int i = 0; nk > 0 && i + nk <= nt; i++) {
        int j = 0;
        while (j < nk && strcmp(tt[i + j], kt[j]) == 0) j++;
        if (j == nk) return 1;
    }
    return 0;
}

// 1 when text holds any keyword of the comma-separated list; -1 on error.
static int hits(const char *text, const char *list, ElmTokens *tt, ElmTokens *kt, void *loc,
                ElmError *err) {
    int nt = elm_tokenize(tt, text, 0, loc, err);
    if (nt < 0) return -1;
    char *copy = strdup(list);
    if (!copy) return elm_err(err, "out of memory");
    int hit = 0;
    for (char *save = NULL, *k = strtok_r(copy, ",", &save); k && !hit && hit >= 0;
         k = strtok_r(NULL, ",", &save)) {
        int nk = elm_tokenize(kt, k, 0, loc, err);
        hit = nk < 0 ? -1 : has_run(tt->tok, nt, kt->tok, nk);
    }
    free(copy);
    return hit;
}

// Count, hit rate and mean log-probability of the texts with (steered = 1) or without keywords,
// tested against `list`.
static int group(const ElmAttrTexts *g, const char *list, int steered, cJSON *e, const char *pfx,
                 void *loc, ElmError *err) {
    ElmTokens tt, kt;
    if (elm_tokens_init(&tt, err)) return -1;
    if (elm_tokens_init(&kt, err)) {
        elm_tokens_free(&tt);
        return -1;
    }
    int n = 0, hit = 0, n_lp = 0, rc = 0;
    double lp = 0;
    for (int i = 0; i < g->n && rc == 0; i++) {
        if (steered ? !g->keywords[i] || strcmp(g->keywords[i], list) != 0 : !!g->keywords[i])
            continue;
        int h = hits(g->text[i], list, &tt, &kt, loc, err);
        if (h < 0) rc = -1;
        n++, hit += h > 0;
        if (!isnan(g->mean_logprob[i])) lp += g->mean_logprob[i], n_lp++;
    }
    elm_tokens_free(&tt), elm_tokens_free(&kt);
    if (rc) return -1;
    char key[64];
    snprintf(key, sizeof key, "%scount", pfx);
    cJSON_AddNumberToObject(e, key, n);
    snprintf(key, sizeof key, "%shit_rate", pfx);
    cJSON_AddNumberToObject(e, key, n ? (double)hit / n : 0);
    snprintf(key, sizeof key, "%smean_logprob", pfx);
    if (n_lp)
        cJSON_AddNumberToObject(e, key, lp / n_lp);
    else
        cJSON_AddNullToObject(e, key);
    return 0;
}

int elm_steering_run(const ElmRun *run, cJSON *out, ElmError *err) {
    ElmAttrTexts g = {0};
    if (elm_attribution_load_generated(run, &g, err)) {
        elm_attribution_texts_free(&g);
        return -1;
    }
    void *loc = elm_textfeat_locale();
    cJSON *jk = NULL;
    int rc = 0;
    for (int i = 0; i < g.n && rc == 0; i++) {
        const char *list = g.keywords[i];
        if (!list || (jk && cJSON_GetObjectItemCaseSensitive(jk, list))) continue;
        if (!jk) jk = cJSON_AddObjectToObject(out, "keywords");
        cJSON *e = cJSON_AddObjectToObject(jk, list);
        rc = group(&g, list, 1, e, "", loc, err) || group(&g, list, 0, e, "base_", loc, err);
    }
    elm_textfeat_locale_free(loc);
    elm_attribution_texts_free(&g);
    if (rc) elm_err_prefix(err, "[validate] keywords");
    return rc ? -1 : 0;
}
