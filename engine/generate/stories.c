// stories.c — chooses story prompts and runs generate in story mode with them.
#include "engine/generate/stories.h"
#include "engine/generate/generate.h"
#include "engine/base/jsonl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Cand {
    char *text;
    double score;
    long index;
} Cand;

static int by_score(const void *a, const void *b) {
    const Cand *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

// The first `words` words of text, as a new string.
static char *opening(const char *text, int words) {
    const char *p = text;
    int w = 0;
    while (*p && isspace((unsigned char)*p)) p++;
    const char *start = p;
    while (*p && w < words) {
        while (*p && !isspace((unsigned char)*p)) p++;
        w++;
        if (w < words)
            while (*p && isspace((unsigned char)*p)) p++;
    }
    size_t n = (size_t)(p - start);
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, start, n);
        out[n] = '\0';
    }
    return out;
}

// xorshift64* for the seeded choice of real tweets.
static uint64_t next_rand(uint64_t *s) {
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static int read_candidates(const char *path, int use_logprob, Cand **out, long *n, ElmError *err) {
    ElmJsonl r;
    *out = NULL, *n = 0;
    if (elm_jsonl_open(&r, path, err)) return -1;
    long cap = 0;
    cJSON *o;
    while ((o = elm_jsonl_next(&r, err))) {
        const char *t = elm_json_str(o, "text");
        if (t && t[0]) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 256;
                Cand *c = elm_realloc(*out, sizeof(Cand) * (size_t)cap, err);
                if (!c) {
                    cJSON_Delete(o);
                    elm_jsonl_close(&r);
                    return -1;
                }
                *out = c;
            }
            (*out)[*n] =
                (Cand){strdup(t), use_logprob ? elm_json_num(o, "mean_logprob", -1e9) : 0, *n};
            (*n)++;
        }
        cJSON_Delete(o);
    }
    elm_jsonl_close(&r);
    return err->msg[0] ? -1 : 0;
}

// Orders the candidates: generated tweets by mean log-probability, real ones by a seeded shuffle.
static void order_candidates(const ElmRun *run, int generated, Cand *c, long n) {
    if (generated) {
        qsort(c, (size_t)n, sizeof *c, by_score);
        return;
    }
    uint64_t s = run->seed * 0x9E3779B97F4A7C15ULL + 0x5107;
    for (long i = n - 1; i > 0; i--) {
        long j = (long)(next_rand(&s) % (uint64_t)(i + 1));
        Cand t = c[i];
        c[i] = c[j], c[j] = t;
    }
}

int elm_stories_prompts(ElmRun *run, long long *count, ElmGenPrompts *out, ElmError *err) {
    memset(out, 0, sizeof *out);
    *count = elm_cfg_int(&run->cfg, "generate.stories");
    if (*count <= 0) return 0;
    int source = elm_cfg_enum(&run->cfg, "generate.story_prompts"); // generated|real|config
    if (source == 2) return elm_generate_load_prompts(run, out, err);
    int words = (int)elm_cfg_int(&run->cfg, "generate.story_prompt_words");
    char path[4200], where[4300];
    elm_run_path(run, source == 0 ? "generated/tweets.jsonl" : "clean.jsonl", path, sizeof path);
    Cand *c;
    long n;
    if (read_candidates(path, source == 0, &c, &n, err)) return -1;
    if (n == 0) {
        free(c);
        return elm_err(err, "%s: no tweets to prompt the stories with", path);
    }
    order_candidates(run, source == 0, c, n);
    int rc = 0;
    for (long i = 0; i < *count && i < n && rc == 0; i++) {
        char *open = opening(c[i].text, words);
        snprintf(where, sizeof where, "the opening of text %ld of %s", c[i].index + 1, path);
        rc = open ? elm_generate_prompts_add(out, open, where, err) : elm_err(err, "out of memory");
        free(open);
    }
    for (long i = 0; i < n; i++) free(c[i].text);
    free(c);
    if (rc) elm_generate_prompts_free(out);
    return rc;
}
