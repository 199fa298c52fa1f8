// feed.c — the daily dose (see feed.h).
#include "engine/app/feed.h"
#include "engine/base/fsutil.h"
#include "engine/base/hash.h"
#include "engine/base/jsonl.h"
#include "engine/generate/mix.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Cand {
    char *text;
    const char *account; // borrowed from the generated lines (NULL = unconditioned)
    const char *topic;   // the topic it was conditioned on, borrowed likewise (NULL = none)
    double p_real;
    int rank, used;
} Cand;

// A generated line by the hash of its text, for finding a viable text's line.
typedef struct GenKey {
    uint64_t h;
    int pos; // the line's place in the file: the first line of a text wins
    const cJSON *o;
} GenKey;

typedef struct Feed {
    cJSON *gen;   // the generated lines, as an array
    GenKey *keys; // (n_gen) sorted by (h, pos)
    int n_gen;
    Cand *c;
    int n;
} Feed;

static void feed_free(Feed *f) {
    for (int i = 0; i < f->n; i++) free(f->c[i].text);
    free(f->c);
    free(f->keys);
    cJSON_Delete(f->gen);
}

// Lower-cased words of s into a malloc'd array of malloc'd strings, sorted and distinct.
static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int word_set(const char *s, char ***out) {
    int n = 0, cap = 16;
    char **w = malloc(sizeof *w * (size_t)cap);
    for (const char *p = s; w && *p;) {
        while (*p && !(isalnum((unsigned char)*p) || *p == '\'' || (unsigned char)*p >= 0x80)) p++;
        const char *b = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '\'' || (unsigned char)*p >= 0x80)) p++;
        if (p == b) continue;
        if (n == cap) {
            char **nw = realloc(w, sizeof *w * (size_t)(cap *= 2));
            if (!nw) break;
            w = nw;
        }
        char *t = malloc((size_t)(p - b) + 1);
        if (!t) break;
        for (size_t i = 0; i < (size_t)(p - b); i++) t[i] = (char)tolower((unsigned char)b[i]);
        t[p - b] = '\0';
        w[n++] = t;
    }
    if (!w) return *out = NULL, 0;
    qsort(w, (size_t)n, sizeof *w, cmp_str);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (k && strcmp(w[k - 1], w[i]) == 0)
            free(w[i]);
        else
            w[k++] = w[i];
    }
    *out = w;
    return k;
}

double elm_feed_jaccard(const char *a, const char *b) {
    char **wa, **wb;
    int na = word_set(a, &wa), nb = word_set(b, &wb), i = 0, j = 0, both = 0;
    while (i < na && j < nb) {
        int c = strcmp(wa[i], wb[j]);
        if (c == 0)
            both++, i++, j++;
        else if (c < 0)
            i++;
        else
            j++;
    }
    for (int k = 0; k < na; k++) free(wa[k]);
    for (int k = 0; k < nb; k++) free(wb[k]);
    free(wa), free(wb);
    int uni = na + nb - both;
    return uni ? (double)both / uni : 1.0;
}

static uint64_t text_hash(const char *t) {
    return elm_hash_bytes(0x6665656474657874ull, t, strlen(t)); // "feedtext"
}

static int cmp_key(const void *a, const void *b) {
    const GenKey *x = a, *y = b;
    return x->h != y->h ? (x->h < y->h ? -1 : 1) : (x->pos > y->pos) - (x->pos < y->pos);
}

// f->keys: every generated line with a text, sorted by (hash, place).
static int index_generated(Feed *f, ElmError *err) {
    f->keys = elm_malloc(sizeof *f->keys * ((size_t)cJSON_GetArraySize(f->gen) + 1), err);
    if (!f->keys) return -1;
    const cJSON *o;
    int pos = 0;
    cJSON_ArrayForEach(o, f->gen) {
        const char *t = elm_json_str(o, "text");
        if (t) f->keys[f->n_gen++] = (GenKey){text_hash(t), pos, o};
        pos++;
    }
    qsort(f->keys, (size_t)f->n_gen, sizeof *f->keys, cmp_key);
    return 0;
}

// The first generated line with this text (NULL: not found), for what it was conditioned on.
static const cJSON *generated_line(const Feed *f, const char *text) {
    uint64_t h = text_hash(text);
    int lo = 0, hi = f->n_gen;
    while (lo < hi) { // the first key of hash h
        int mid = lo + (hi - lo) / 2;
        if (f->keys[mid].h < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < f->n_gen && f->keys[lo].h == h; lo++)
        if (strcmp(elm_json_str(f->keys[lo].o, "text"), text) == 0) return f->keys[lo].o;
    return NULL;
}

// The generated lines (for their accounts) and the viable candidates, in rank order.
static int load(const ElmRun *run, Feed *f, ElmError *err) {
    char path[4200];
    ElmJsonl r;
    f->gen = cJSON_CreateArray();
    elm_run_path(run, "generated/tweets.jsonl", path, sizeof path);
    if (elm_jsonl_open(&r, path, err)) return -1;
    for (cJSON *o; (o = elm_jsonl_next(&r, err));) cJSON_AddItemToArray(f->gen, o);
    elm_jsonl_close(&r);
    if (err->msg[0] || index_generated(f, err)) return -1;
    elm_run_path(run, "viable.jsonl", path, sizeof path);
    if (elm_jsonl_open(&r, path, err)) return -1;
    int rc = 0, cap = 0;
    for (cJSON *o; rc == 0 && (o = elm_jsonl_next(&r, err));) {
        const char *t = elm_json_str(o, "text");
        if (!t) {
            rc = elm_err(err, "%s:%d: no \"text\" string", path, r.line);
        } else if (f->n == cap) {
            Cand *c = elm_realloc(f->c, sizeof *c * (size_t)(cap = cap ? 2 * cap : 64), err);
            if (!c)
                rc = -1;
            else
                f->c = c;
        }
        if (rc == 0) {
            Cand *c = &f->c[f->n];
            memset(c, 0, sizeof *c);
            if (!(c->text = strdup(t))) rc = elm_err(err, "out of memory");
            const cJSON *g = generated_line(f, t);
            c->account = g ? elm_json_str(g, "account") : NULL;
            c->topic = g ? elm_json_str(g, "topic") : NULL;
            c->p_real = elm_json_num(o, "p_real", 0);
            c->rank = (int)elm_json_num(o, "rank", f->n + 1);
            f->n += rc == 0;
        }
        cJSON_Delete(o);
    }
    elm_jsonl_close(&r);
    return rc || err->msg[0] ? -1 : 0;
}

static int same(const char *have, const char *want) {
    return !want || (have && strcmp(have, want) == 0);
}

// The best unused candidate of account `want` and topic `topic` (NULL = any) that repeats no
// text of the feed.
static int choose(const Feed *f, const char *want, const char *topic, const int *chosen,
                  int n_chosen, double near) {
    for (int i = 0; i < f->n; i++) {
        const Cand *c = &f->c[i];
        if (c->used || !same(c->account, want) || !same(c->topic, topic)) continue;
        int dup = 0;
        for (int k = 0; k < n_chosen && !dup; k++)
            dup = elm_feed_jaccard(c->text, f->c[chosen[k]].text) >= near;
        if (!dup) return i;
    }
    return -1;
}

// "ada", "ada about coffee" or "about coffee": what a slot asks for.
static void describe(char *out, size_t cap, const char *account, const char *topic) {
    snprintf(out, cap, "%s%s%s", account ? account : "", account && topic ? " " : "",
             topic ? "about " : "");
    if (topic) snprintf(out + strlen(out), cap - strlen(out), "%s", topic);
}

// One feed line for candidate c at (day, slot), asked for account `want` and topic `topic`.
static cJSON *feed_line(const Cand *c, int day, int slot, const char *want, const char *topic) {
    cJSON *o = cJSON_CreateObject();
    char why[512], asked[256], got[256];
    cJSON_AddNumberToObject(o, "day", day + 1);
    cJSON_AddNumberToObject(o, "slot", slot + 1);
    if (want) cJSON_AddStringToObject(o, "asked", want);
    if (topic) cJSON_AddStringToObject(o, "asked_topic", topic);
    if (c->account) cJSON_AddStringToObject(o, "account", c->account);
    if (c->topic) cJSON_AddStringToObject(o, "topic", c->topic);
    cJSON_AddStringToObject(o, "text", c->text);
    cJSON_AddNumberToObject(o, "p_real", c->p_real);
    cJSON_AddNumberToObject(o, "rank", c->rank);
    describe(asked, sizeof asked, want, topic);
    // What the fallback kept of the ask: "one of ada", "one about coffee" or "other one".
    int keep_a = want && same(c->account, want), keep_t = topic && same(c->topic, topic);
    snprintf(got, sizeof got, "%s%s%s%s", keep_a || keep_t ? "one" : "other one",
             keep_a ? " of " : "", keep_a ? want : "", keep_t ? " about " : "");
    if (keep_t) snprintf(got + strlen(got), sizeof got - strlen(got), "%s", topic);
    if (!want && !topic)
        snprintf(why, sizeof why, "viable rank %d (P(real) %.2f); no mix asked for", c->rank,
                 c->p_real);
    else if (same(c->account, want) && same(c->topic, topic))
        snprintf(why, sizeof why,
                 "the mix asked for %s; its best unused viable text (rank %d, "
                 "P(real) %.2f)",
                 asked, c->rank, c->p_real);
    else
        snprintf(why, sizeof why,
                 "the mix asked for %s but no viable text of it was left; "
                 "the best %s (rank %d, P(real) %.2f)",
                 asked, got, c->rank, c->p_real);
    cJSON_AddStringToObject(o, "why", why);
    return o;
}

// The shares of n names asked for (weights over total) and delivered (the chosen texts whose
// account, or topic when `topics`, is that name) into j's "asked" and "delivered".
static void shares(cJSON *j, char *const *names, const double *weight, double total, int n,
                   const Feed *f, const int *chosen, int n_chosen, int topics) {
    cJSON *asked = cJSON_AddObjectToObject(j, "asked"),
          *got = cJSON_AddObjectToObject(j, "delivered");
    for (int a = 0; a < n; a++) {
        int k = 0;
        for (int i = 0; i < n_chosen; i++) {
            const Cand *c = &f->c[chosen[i]];
            const char *have = topics ? c->topic : c->account;
            k += have && strcmp(have, names[a]) == 0;
        }
        cJSON_AddNumberToObject(asked, names[a], weight[a] / total);
        cJSON_AddNumberToObject(got, names[a], n_chosen ? (double)k / n_chosen : 0);
    }
}

// feed.json: the shares of accounts (and of topics, under "topics") asked for and delivered.
static cJSON *summary(const ElmGenMix *mix, const Feed *f, const int *chosen, int n, int days,
                      int per_day) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "days", days);
    cJSON_AddNumberToObject(j, "per_day", per_day);
    cJSON_AddNumberToObject(j, "texts", n);
    cJSON_AddNumberToObject(j, "viable", f->n);
    shares(j, mix->account, mix->weight, mix->total, mix->n, f, chosen, n, 0);
    if (mix->n_topics) {
        char *names[256];
        int nt = mix->n_topics < 256 ? mix->n_topics : 256;
        for (int t = 0; t < nt; t++) names[t] = mix->topic_names[mix->topic[t]];
        shares(cJSON_AddObjectToObject(j, "topics"), names, mix->topic_weight, mix->topic_total, nt,
               f, chosen, n, 1);
    }
    return j;
}

static int write_json(const char *path, cJSON *j, ElmError *err) {
    char *t = cJSON_Print(j);
    cJSON_Delete(j);
    if (!t) return elm_err(err, "out of memory");
    size_t n = strlen(t);
    t[n] = '\n'; // cJSON_Print's buffer has room for the NUL we overwrite
    int rc = elm_write_file_atomic(path, t, n + 1, err);
    free(t);
    return rc;
}

// Fills the slots in order, writing each line to o.
static int fill(const ElmRun *run, const ElmGenMix *mix, Feed *f, int days, int per_day,
                double near, ElmAtomicFile *o, int *chosen, int *n, ElmError *err) {
    *n = 0;
    for (int d = 0; d < days; d++)
        for (int s = 0; s < per_day; s++) {
            ElmGenPick pk;
            elm_gen_mix_pick_text(mix, run->seed, (uint64_t)(d * per_day + s), &pk);
            // The ask, then without its topic, then without its account, then anything.
            int i = choose(f, pk.account, pk.topic, chosen, *n, near);
            if (i < 0 && pk.topic) i = choose(f, pk.account, NULL, chosen, *n, near);
            if (i < 0 && pk.account) i = choose(f, NULL, pk.topic, chosen, *n, near);
            if (i < 0 && (pk.account || pk.topic)) i = choose(f, NULL, NULL, chosen, *n, near);
            if (i < 0) return 0; // nothing left: the feed ends early
            f->c[i].used = 1;
            chosen[(*n)++] = i;
            cJSON *line = feed_line(&f->c[i], d, s, pk.account, pk.topic);
            char *t = cJSON_PrintUnformatted(line);
            cJSON_Delete(line);
            int bad = !t || fputs(t, o->f) < 0 || fputc('\n', o->f) == EOF;
            free(t);
            if (bad) return elm_err(err, "%s: write failed: %s", o->tmp, strerror(errno));
        }
    return 0;
}

int elm_feed_run(ElmRun *run, ElmError *err) {
    const ElmConfig *cfg = &run->cfg;
    int days = (int)elm_cfg_int(cfg, "feed.days"), per_day = (int)elm_cfg_int(cfg, "feed.per_day");
    double near = elm_cfg_float(cfg, "feed.near_duplicate");
    ElmGenMix mix;
    if (elm_gen_mix_load(run, elm_cfg_str(cfg, "generate.accounts"),
                         elm_cfg_str(cfg, "generate.topics"), &mix, err))
        return -1;
    Feed f = {0};
    int rc = -1, n = 0;
    int *chosen = NULL;
    ElmAtomicFile o = {0};
    char dir[4200], path[4300];
    if (load(run, &f, err)) goto done;
    if (!(chosen = elm_calloc((size_t)days * (size_t)per_day + 1, sizeof *chosen, err))) goto done;
    elm_run_path(run, "feed", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/feed.jsonl", dir);
    if (elm_mkdirs(dir, err) || elm_atomic_open(&o, path, err)) goto done;
    if (fill(run, &mix, &f, days, per_day, near, &o, chosen, &n, err) || elm_atomic_commit(&o, err))
        goto done;
    snprintf(path, sizeof path, "%s/feed.json", dir);
    rc = write_json(path, summary(&mix, &f, chosen, n, days, per_day), err);
done:
    if (rc && o.f) elm_atomic_abort(&o);
    free(chosen);
    feed_free(&f);
    elm_gen_mix_free(&mix);
    return rc;
}
