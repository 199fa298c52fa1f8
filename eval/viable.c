#include "eval/viable.h"
#include "engine/base/fsutil.h"
#include "engine/base/jsonl.h"
#include "eval/novelty.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The classifier's probability that a candidate is real, under whichever name validate used.
static double p_real(const cJSON *o) {
    static const char *keys[] = {"p_real", "prob_real", "probability", "prob", "score"};
    for (int i = 0; i < 5; i++) {
        double v = elm_json_num(o, keys[i], -1);
        if (v >= 0) return v;
    }
    return -1;
}

static int index_training(const char *path, ElmNovelty *nv, long *n_docs, ElmError *err) {
    ElmJsonl r;
    if (elm_jsonl_open(&r, path, err)) return -1;
    cJSON *o;
    while ((o = elm_jsonl_next(&r, err))) {
        const char *t = elm_json_str(o, "text");
        int rc = t ? elm_novelty_add(nv, t, err) : 0;
        cJSON_Delete(o);
        if (rc) break;
        (*n_docs)++;
    }
    elm_jsonl_close(&r);
    return err->msg[0] ? -1 : 0;
}

int elm_viable_run(ElmRun *run, ElmError *err) {
    const ElmConfig *c = &run->cfg;
    int max_run = (int)elm_cfg_int(c, "viable.max_common_run");
    int dedupe_run = (int)elm_cfg_int(c, "viable.dedupe_run");
    int min_words = (int)elm_cfg_int(c, "viable.min_words");
    double max_overlap = elm_cfg_float(c, "viable.max_ngram_overlap");
    int ngram = (int)elm_cfg_int(c, "viable.ngram");

    char cand_path[4200], train_path[4200], out_path[4200], sum_path[4200];
    elm_run_path(run, "validate/viable.jsonl", cand_path, sizeof cand_path);
    elm_run_path(run, "clean.jsonl", train_path, sizeof train_path);
    elm_run_path(run, "viable.jsonl", out_path, sizeof out_path);
    elm_run_path(run, "viable.json", sum_path, sizeof sum_path);

    ElmNovelty *train = elm_novelty_new(ngram, err), *seen = elm_novelty_new(ngram, err);
    long n_train = 0, n_in = 0, kept = 0, copies = 0, overlaps = 0, dups = 0, short_ = 0;
    ElmJsonl r = {0};
    ElmAtomicFile af = {0};
    int status = -1;
    if (!train || !seen) goto done;
    if (index_training(train_path, train, &n_train, err)) goto done;
    if (elm_jsonl_open(&r, cand_path, err) || elm_atomic_open(&af, out_path, err)) goto done;
    cJSON *o;
    while ((o = elm_jsonl_next(&r, err))) {
        const char *text = elm_json_str(o, "text");
        if (!text) {
            cJSON_Delete(o);
            elm_err(err, "%s:%d: no \"text\" field", cand_path, r.line);
            goto done;
        }
        n_in++;
        ElmNoveltyScore s = elm_novelty_score(train, text);
        ElmNoveltyScore d = elm_novelty_score(seen, text);
        const char *why = NULL;
        if (s.words < min_words)
            why = "short", short_++;
        else if (s.longest_run >= max_run || s.longest_run == s.words)
            why = "copy", copies++;
        else if (s.ngram_overlap > max_overlap)
            why = "overlap", overlaps++;
        else if (d.longest_run >= dedupe_run || (d.words > 0 && d.longest_run == d.words))
            why = "duplicate", dups++;
        if (!why) {
            if (elm_novelty_add(seen, text, err)) {
                cJSON_Delete(o);
                goto done;
            }
            cJSON *out = cJSON_CreateObject();
            cJSON_AddNumberToObject(out, "rank", (double)++kept);
            cJSON_AddStringToObject(out, "text", text);
            cJSON_AddNumberToObject(out, "p_real", p_real(o));
            cJSON_AddNumberToObject(out, "words", s.words);
            cJSON_AddNumberToObject(out, "longest_common_run", s.longest_run);
            cJSON_AddNumberToObject(out, "ngram_overlap", s.ngram_overlap);
            char *line = cJSON_PrintUnformatted(out);
            cJSON_Delete(out);
            if (!line) {
                cJSON_Delete(o);
                elm_err(err, "out of memory writing %s", out_path);
                goto done;
            }
            fprintf(af.f, "%s\n", line);
            free(line);
        }
        cJSON_Delete(o);
    }
    if (err->msg[0]) goto done;
    if (elm_atomic_commit(&af, err)) goto done;
    cJSON *sum = cJSON_CreateObject();
    cJSON_AddNumberToObject(sum, "training_tweets", (double)n_train);
    cJSON_AddNumberToObject(sum, "candidates", (double)n_in);
    cJSON_AddNumberToObject(sum, "kept", (double)kept);
    cJSON *drop = cJSON_AddObjectToObject(sum, "dropped");
    cJSON_AddNumberToObject(drop, "near_copy", (double)copies);
    cJSON_AddNumberToObject(drop, "ngram_overlap", (double)overlaps);
    cJSON_AddNumberToObject(drop, "duplicate", (double)dups);
    cJSON_AddNumberToObject(drop, "too_short", (double)short_);
    char *text = cJSON_Print(sum);
    cJSON_Delete(sum);
    status = text ? elm_write_file_atomic(sum_path, text, strlen(text), err)
                  : elm_err(err, "out of memory writing %s", sum_path);
    free(text);
done:
    elm_atomic_abort(&af);
    elm_jsonl_close(&r);
    elm_novelty_free(train);
    elm_novelty_free(seen);
    return status;
}
