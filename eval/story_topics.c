// story_topics.c — the generated stories' topics (see story_topics.h).
#include "eval/story_topics.h"
#include "engine/base/fsutil.h"
#include "engine/base/jsonl.h"

#include <stdlib.h>
#include <string.h>

// Three texts a story, in this order: the whole story, its prompt, its continuation.
enum { WHOLE, PROMPT, CONT, PARTS };

typedef struct Stories {
    char **text; // (n * PARTS)
    int *index;  // (n) each story's "index"
    int n, cap;
} Stories;

static void stories_free(Stories *s) {
    for (int i = 0; i < s->n * PARTS; i++) free(s->text[i]);
    free(s->text), free(s->index);
    memset(s, 0, sizeof *s);
}

static int stories_add(Stories *s, const char *text, const char *prompt, int index, ElmError *err) {
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        char **t = elm_realloc(s->text, sizeof *t * (size_t)cap * PARTS, err);
        if (!t) return -1;
        s->text = t;
        int *ix = elm_realloc(s->index, sizeof *ix * (size_t)cap, err);
        if (!ix) return -1;
        s->index = ix, s->cap = cap;
    }
    size_t np = strlen(prompt);
    const char *cont = strncmp(text, prompt, np) == 0 ? text + np : text;
    char **p = s->text + (size_t)s->n * PARTS;
    p[WHOLE] = strdup(text), p[PROMPT] = strdup(prompt), p[CONT] = strdup(cont);
    s->index[s->n++] = index;
    if (!p[WHOLE] || !p[PROMPT] || !p[CONT]) return elm_err(err, "out of memory");
    return 0;
}

static int read_stories(const char *path, Stories *s, ElmError *err) {
    ElmJsonl jl;
    if (elm_jsonl_open(&jl, path, err)) return -1;
    int rc = 0;
    for (cJSON *o; rc == 0 && (o = elm_jsonl_next(&jl, err));) {
        const char *text = elm_json_str(o, "text"), *prompt = elm_json_str(o, "prompt");
        if (!text)
            rc = elm_err(err, "%s:%d: no \"text\" string", path, jl.line);
        else
            rc = stories_add(s, text, prompt ? prompt : "", (int)elm_json_num(o, "index", s->n),
                             err);
        cJSON_Delete(o);
    }
    elm_jsonl_close(&jl);
    return rc || err->msg[0] ? -1 : 0;
}

// The dominant topic of each text (-1 for one without a vocabulary word).
static int dominant(const ElmTextFeat *tf, const ElmLda *lda, uint64_t seed, int threads,
                    char *const *texts, int n, int *out, ElmError *err) {
    ElmCsr X;
    if (elm_textfeat_transform(tf, (const char *const *)texts, n, &X, err)) return -1;
    int rc = elm_lda_dominant(lda, &X, seed, threads, out, err);
    elm_csr_free(&X);
    return rc;
}

// The "stories" object from the stories and their parts' dominant topics (dom: n * PARTS).
static cJSON *stories_json(const Stories *s, const int *dom, int k) {
    cJSON *o = cJSON_CreateObject(), *list = cJSON_CreateArray(), *topics = cJSON_CreateArray();
    int *count = calloc((size_t)k * 4 + 1, sizeof *count); // per topic: whole, prompt, cont, stays
    int scored = 0, stays = 0;
    int *scored_p = calloc((size_t)k + 1, sizeof *scored_p),
        *scored_c = calloc((size_t)k + 1, sizeof *scored_c);
    if (!count || !scored_p || !scored_c) {
        free(count), free(scored_p), free(scored_c);
        cJSON_Delete(o), cJSON_Delete(list), cJSON_Delete(topics);
        return NULL;
    }
    for (int i = 0; i < s->n; i++) {
        const int *d = dom + (size_t)i * PARTS;
        int both = d[PROMPT] >= 0 && d[CONT] >= 0, stay = both && d[PROMPT] == d[CONT];
        for (int p = 0; p < PARTS; p++)
            if (d[p] >= 0) count[d[p] * 4 + p]++;
        if (both) scored++, scored_p[d[PROMPT]]++, scored_c[d[CONT]]++;
        if (stay) stays++, count[d[PROMPT] * 4 + 3]++;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "index", s->index[i]);
        cJSON_AddNumberToObject(e, "topic", d[WHOLE]);
        cJSON_AddNumberToObject(e, "prompt_topic", d[PROMPT]);
        cJSON_AddNumberToObject(e, "continuation_topic", d[CONT]);
        if (both) cJSON_AddBoolToObject(e, "stays", stay);
        cJSON_AddItemToArray(list, e);
    }
    double chance = 0;
    for (int t = 0; t < k; t++) {
        if (scored) chance += (double)scored_p[t] / scored * scored_c[t] / scored;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "topic", t);
        cJSON_AddNumberToObject(e, "stories", count[t * 4 + WHOLE]);
        cJSON_AddNumberToObject(e, "prompts", count[t * 4 + PROMPT]);
        cJSON_AddNumberToObject(e, "continuations", count[t * 4 + CONT]);
        cJSON_AddNumberToObject(e, "stays", count[t * 4 + 3]);
        cJSON_AddItemToArray(topics, e);
    }
    cJSON_AddNumberToObject(o, "n", s->n);
    cJSON_AddNumberToObject(o, "scored", scored);
    cJSON_AddNumberToObject(o, "stays", stays);
    if (scored) {
        cJSON_AddNumberToObject(o, "stay_rate", (double)stays / scored);
        cJSON_AddNumberToObject(o, "chance_rate", chance);
    }
    cJSON_AddItemToObject(o, "topics", topics);
    cJSON_AddItemToObject(o, "list", list);
    free(count), free(scored_p), free(scored_c);
    return o;
}

int elm_story_topics_json(const ElmRun *run, const ElmTextFeat *tf, const ElmLda *lda,
                          uint64_t seed, cJSON *out, ElmError *err) {
    char path[4200];
    elm_run_path(run, "generated/stories.jsonl", path, sizeof path);
    if (!elm_file_exists(path)) return 0;
    Stories s = {0};
    int *dom = NULL, rc = read_stories(path, &s, err);
    if (rc == 0 && s.n > 0) {
        rc = (dom = elm_malloc(sizeof *dom * (size_t)s.n * PARTS, err)) ? 0 : -1;
        if (rc == 0) rc = dominant(tf, lda, seed, run->threads, s.text, s.n * PARTS, dom, err);
        cJSON *j = rc == 0 ? stories_json(&s, dom, lda->k) : NULL;
        if (rc == 0 && !j) rc = elm_err(err, "out of memory");
        if (j) cJSON_AddItemToObject(out, "stories", j);
    }
    free(dom);
    stories_free(&s);
    return rc;
}
