// caught.c — caught vs passed generated tweets: lengths (mean, median) and top words per group.
#include "eval/caught.h"
#include "eval/topwords.h"
#include "engine/base/utf8.h"

#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t word_count(const char *s) {
    size_t n = 0;
    for (int in = 0; *s; s++) {
        int space = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v';
        if (!space && !in) n++;
        in = !space;
    }
    return n;
}

// {"mean": …, "median": …} of v[0..n) (sorted in place); zeros when n = 0.
static cJSON *mean_median(double *v, int n) {
    cJSON *o = cJSON_CreateObject();
    double sum = 0;
    for (int i = 0; i < n; i++) sum += v[i];
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double med = n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    cJSON_AddNumberToObject(o, "mean", n ? sum / n : 0);
    cJSON_AddNumberToObject(o, "median", med);
    return o;
}

static cJSON *words_json(const ElmTopWord *w, int n, int side) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "word", w[i].word);
        cJSON_AddNumberToObject(o, "count", (double)w[i].count[side]);
        cJSON_AddNumberToObject(o, "share", w[i].freq[side]);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

// One group's count and lengths into g.
static int lengths_json(const char *const *texts, const int *passed, int n, int side, cJSON *g,
                        ElmError *err) {
    double *chars = elm_malloc(sizeof *chars * (size_t)(n + 1), err);
    double *words = elm_malloc(sizeof *words * (size_t)(n + 1), err);
    if (!chars || !words) {
        free(chars), free(words);
        return -1;
    }
    int m = 0;
    for (int i = 0; i < n; i++) {
        if ((passed[i] != 0) != side) continue;
        chars[m] = (double)elm_utf8_length(texts[i], strlen(texts[i]));
        words[m++] = (double)word_count(texts[i]);
    }
    cJSON_AddNumberToObject(g, "count", m);
    cJSON_AddItemToObject(g, "chars", mean_median(chars, m));
    cJSON_AddItemToObject(g, "words", mean_median(words, m));
    free(chars), free(words);
    return 0;
}

cJSON *elm_caught_json(const char *const *texts, const int *passed, int n, int top, ElmError *err) {
    int *side = elm_malloc(sizeof *side * (size_t)(n + 1), err);
    if (!side) return NULL;
    for (int i = 0; i < n; i++) side[i] = passed[i] != 0; // topwords: 1 = "real" side
    ElmTopWords tw;
    int rc = elm_topwords(&tw, texts, side, n, 1, top, err);
    free(side);
    if (rc) return NULL;
    cJSON *out = cJSON_CreateObject();
    const char *names[2] = {"caught", "passed"};
    for (int s = 0; s < 2 && out; s++) {
        cJSON *g = cJSON_AddObjectToObject(out, names[s]);
        if (lengths_json(texts, passed, n, s, g, err)) {
            cJSON_Delete(out);
            out = NULL;
            break;
        }
        cJSON_AddItemToObject(g, "top_words", words_json(tw.top[s], tw.n_top[s], s));
        cJSON_AddItemToObject(g, "only", words_json(tw.only[s], tw.n_only[s], s));
    }
    elm_topwords_free(&tw);
    return out;
}
