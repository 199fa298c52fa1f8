// mix.c — the accounts of a personal mix, each text's account and its header (see mix.h).
#include "engine/generate/mix.h"
#include "engine/base/fsutil.h"
#include "engine/base/rng.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void elm_gen_mix_free(ElmGenMix *m) {
    for (int i = 0; i < m->n; i++) free(m->account[i]);
    for (int i = 0; i < m->n_known; i++) free(m->known[i]);
    free(m->account), free(m->weight), free(m->known), free(m->known_docs);
    for (int i = 0; i < m->n_topic_names; i++) free(m->topic_names[i]);
    free(m->topic), free(m->topic_weight), free(m->topic_names), free(m->topic_docs);
    free(m->pairs);
    memset(m, 0, sizeof *m);
}

// tokens.json's "topics" into m->topic_names/topic_docs and its "pairs" into m->pairs.
static int load_topics(const cJSON *j, ElmGenMix *m, ElmError *err) {
    const cJSON *top = cJSON_GetObjectItemCaseSensitive(j, "topics"), *t;
    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(j, "pairs");
    int k = cJSON_IsObject(top) ? cJSON_GetArraySize(top) : 0;
    if (!k) return 0;
    if (!(m->topic_names = elm_calloc((size_t)k, sizeof *m->topic_names, err)) ||
        !(m->topic_docs = elm_calloc((size_t)k, sizeof *m->topic_docs, err)) ||
        !(m->pairs = elm_calloc((size_t)(m->n_known ? m->n_known : 1) * k, sizeof *m->pairs, err)))
        return -1;
    cJSON_ArrayForEach(t, top) {
        if (!t->string || !(m->topic_names[m->n_topic_names] = strdup(t->string)))
            return elm_err(err, "tokens.json: a topic without a name");
        m->topic_docs[m->n_topic_names++] = cJSON_IsNumber(t) ? t->valuedouble : 0;
    }
    for (int a = 0; a < m->n_known; a++) {
        const cJSON *row = cJSON_GetObjectItemCaseSensitive(pairs, m->known[a]);
        for (int i = 0; i < k; i++) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(row, m->topic_names[i]);
            m->pairs[(size_t)a * k + i] =
                cJSON_IsNumber(c) && c->valuedouble > 0 ? c->valuedouble : 0;
        }
    }
    return 0;
}

// tokens.json's "accounts" names into m->known (none when the tokens were not conditioned),
// and its topics.
static int load_known(const ElmRun *run, ElmGenMix *m, ElmError *err) {
    char path[4200];
    elm_run_path(run, "tokens.json", path, sizeof path);
    if (!elm_file_exists(path)) return 0;
    char *data = NULL;
    size_t n = 0;
    if (elm_read_file(path, &data, &n, err)) return -1;
    cJSON *j = cJSON_ParseWithLength(data, n);
    free(data);
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(j, "accounts"), *a;
    int k = cJSON_IsObject(acc) ? cJSON_GetArraySize(acc) : 0, rc = 0;
    if (k && (!(m->known = elm_calloc((size_t)k, sizeof *m->known, err)) ||
              !(m->known_docs = elm_calloc((size_t)k, sizeof *m->known_docs, err))))
        rc = -1;
    cJSON_ArrayForEach(a, acc) {
        if (rc || !a->string) continue;
        m->known_docs[m->n_known] = cJSON_IsNumber(a) && a->valuedouble > 0 ? a->valuedouble : 1;
        if (!(m->known[m->n_known] = strdup(a->string)))
            rc = elm_err(err, "out of memory");
        else
            m->n_known++;
    }
    if (rc == 0) rc = load_topics(j, m, err);
    cJSON_Delete(j);
    return rc;
}

static int known_index(const ElmGenMix *m, const char *name) {
    for (int i = 0; i < m->n_known; i++)
        if (strcmp(m->known[i], name) == 0) return i;
    return -1;
}

// Trims white space at both ends of s in place.
static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

// One "account:weight" entry (trimmed, NUL-terminated) into m.
static int add_entry(ElmGenMix *m, char *entry, ElmError *err) {
    char *colon = strrchr(entry, ':');
    if (!colon) return elm_err(err, "generate.accounts: \"%s\" is not account:weight", entry);
    *colon = '\0';
    char *name = trim(entry), *w = trim(colon + 1), *end = NULL;
    double weight = strtod(w, &end);
    if (!w[0] || *end || !isfinite(weight) || weight <= 0)
        return elm_err(err, "generate.accounts: weight \"%s\" of %s is not a positive number", w,
                       name);
    if (!name[0]) return elm_err(err, "generate.accounts: an entry has no account (\":%s\")", w);
    if (m->n_known == 0)
        return elm_err(err,
                       "generate.accounts: %s: the model's data has no accounts (tokenize with "
                       "[train] condition = account)",
                       name);
    if (known_index(m, name) < 0)
        return elm_err(err, "generate.accounts: account \"%s\" is not in the data", name);
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->account[i], name) == 0)
            return elm_err(err, "generate.accounts: account \"%s\" is given twice", name);
    char **a = elm_realloc(m->account, sizeof *a * (size_t)(m->n + 1), err);
    if (!a) return -1;
    m->account = a;
    double *wt = elm_realloc(m->weight, sizeof *wt * (size_t)(m->n + 1), err);
    if (!wt) return -1;
    m->weight = wt;
    if (!(m->account[m->n] = strdup(name))) return elm_err(err, "out of memory");
    m->weight[m->n++] = weight;
    m->total += weight;
    return 0;
}

static int topic_index(const ElmGenMix *m, const char *name) {
    for (int i = 0; i < m->n_topic_names; i++)
        if (strcmp(m->topic_names[i], name) == 0) return i;
    char *end;
    long id = strtol(name, &end, 10);
    if (isdigit((unsigned char)name[0]) && !*end && id >= 0 && id < m->n_topic_names)
        return (int)id;
    return -1;
}

// One "topic[:weight]" entry (trimmed, NUL-terminated) into m.
static int add_topic(ElmGenMix *m, char *entry, ElmError *err) {
    char *colon = strrchr(entry, ':'), *w = NULL, *end = NULL;
    double weight = 1;
    if (colon) {
        *colon = '\0';
        w = trim(colon + 1);
        weight = strtod(w, &end);
        if (!w[0] || *end || !isfinite(weight) || weight <= 0)
            return elm_err(err, "generate.topics: weight \"%s\" of %s is not a positive number", w,
                           trim(entry));
    }
    char *name = trim(entry);
    if (!name[0]) return elm_err(err, "generate.topics: an entry has no topic");
    if (m->n_topic_names == 0)
        return elm_err(err,
                       "generate.topics: %s: the model's data has no topics (tokenize with "
                       "[train] condition = account+topic)",
                       name);
    int t = topic_index(m, name);
    if (t < 0) {
        char known[1024] = "";
        for (int i = 0, w2 = 0; i < m->n_topic_names && (size_t)w2 < sizeof known; i++)
            w2 += snprintf(known + w2, sizeof known - (size_t)w2, "%s%s", i ? ", " : "",
                           m->topic_names[i]);
        return elm_err(err, "generate.topics: topic \"%s\" is not in the data (its topics: %s)",
                       name, known);
    }
    for (int i = 0; i < m->n_topics; i++)
        if (m->topic[i] == t)
            return elm_err(err, "generate.topics: topic \"%s\" is given twice", name);
    int *tp = elm_realloc(m->topic, sizeof *tp * (size_t)(m->n_topics + 1), err);
    if (!tp) return -1;
    m->topic = tp;
    double *wt = elm_realloc(m->topic_weight, sizeof *wt * (size_t)(m->n_topics + 1), err);
    if (!wt) return -1;
    m->topic_weight = wt;
    m->topic[m->n_topics] = t;
    m->topic_weight[m->n_topics++] = weight;
    m->topic_total += weight;
    return 0;
}

// Comma-separated entries of spec, each through add (key names the setting in messages).
static int parse_list(ElmGenMix *m, const char *key, const char *spec,
                      int (*add)(ElmGenMix *, char *, ElmError *), ElmError *err) {
    char *copy = strdup(spec ? spec : "");
    if (!copy) return elm_err(err, "out of memory");
    int rc = 0;
    char *p = copy;
    if (trim(p)[0])
        for (char *e; rc == 0 && p; p = e) {
            e = strchr(p, ',');
            if (e) *e++ = '\0';
            char *entry = trim(p);
            if (!entry[0])
                rc = elm_err(err, "%s = %s: an empty entry", key, spec);
            else
                rc = add(m, entry, err);
        }
    free(copy);
    return rc;
}

int elm_gen_mix_load(const ElmRun *run, const char *spec, const char *topics, ElmGenMix *out,
                     ElmError *err) {
    memset(out, 0, sizeof *out);
    if (load_known(run, out, err)) {
        elm_gen_mix_free(out);
        return -1;
    }
    int rc = parse_list(out, "generate.accounts", spec, add_entry, err);
    if (rc == 0) rc = parse_list(out, "generate.topics", topics, add_topic, err);
    if (rc) elm_gen_mix_free(out);
    return rc;
}

// The Weyl sequence's entry `index` (offset by `salt`, step `step`) over n weights summing to
// total.
static int weyl_step(const double *w, int n, double total, uint64_t salt, uint64_t step,
                     uint64_t index) {
    if (n == 0 || !(total > 0)) return -1;
    uint64_t x = elm_rng_mix(salt) + index * step;
    double u = (double)(x >> 11) * 0x1.0p-53 * total, acc = 0;
    for (int i = 0; i < n; i++) {
        acc += w[i];
        if (u < acc) return i;
    }
    return n - 1;
}

static int weyl_pick(const double *w, int n, double total, uint64_t salt, uint64_t index) {
    return weyl_step(w, n, total, salt, ELM_RNG_GOLDEN, index);
}

#define MIX_SQRT2_STEP 0x6A09E667F3BCC909ull // frac(sqrt 2) * 2^64, odd
#define MIX_SALT_PRIOR 0x7072696F72ull       // "prior"

int elm_gen_mix_pick(const ElmGenMix *m, uint64_t seed, uint64_t index) {
    return weyl_pick(m->weight, m->n, m->total, seed ^ 0x6D6978ull, index); // "mix"
}

int elm_gen_mix_pick_prior(const ElmGenMix *m, uint64_t seed, uint64_t index) {
    double total = 0;
    for (int i = 0; i < m->n_known; i++) total += m->known_docs[i];
    return weyl_pick(m->known_docs, m->n_known, total, seed ^ MIX_SALT_PRIOR, index);
}

// The header account (index into m->known) of a text asked for topic t (index into
// topic_names) and no account: the data's accounts of that topic, by the prior's sequence.
static int account_of_topic(const ElmGenMix *m, int t, uint64_t seed, uint64_t index) {
    int k = m->n_topic_names;
    double w[256], total = 0;
    int n = m->n_known < 256 ? m->n_known : 256;
    for (int a = 0; a < n; a++) total += w[a] = m->pairs[(size_t)a * k + t];
    int a = weyl_pick(w, n, total, seed ^ MIX_SALT_PRIOR, index);
    return a >= 0 ? a : elm_gen_mix_pick_prior(m, seed, index);
}

// The header topic of a text of header account a (index into m->known) asked for no topic.
static int topic_of_account(const ElmGenMix *m, int a, uint64_t seed, uint64_t index) {
    int k = m->n_topic_names;
    const double *w = a >= 0 ? m->pairs + (size_t)a * k : m->topic_docs;
    double total = 0;
    for (int i = 0; i < k; i++) total += w[i];
    int t = weyl_step(w, k, total, seed ^ 0x70746F706963ull, MIX_SQRT2_STEP, index); // "ptopic"
    if (t >= 0) return t; // the account's row is empty: the data's topics overall
    total = 0;
    for (int i = 0; i < k; i++) total += m->topic_docs[i];
    return weyl_step(m->topic_docs, k, total, seed ^ 0x70746F706963ull, MIX_SQRT2_STEP, index);
}

void elm_gen_mix_pick_text(const ElmGenMix *m, uint64_t seed, uint64_t index, ElmGenPick *out) {
    memset(out, 0, sizeof *out);
    int a = elm_gen_mix_pick(m, seed, index);
    int t = weyl_step(m->topic_weight, m->n_topics, m->topic_total, seed ^ 0x746F706963ull,
                      MIX_SQRT2_STEP, index); // "topic"
    if (a >= 0) out->account = m->account[a];
    if (t >= 0) out->topic = m->topic_names[m->topic[t]];
    int ha = a >= 0 ? known_index(m, m->account[a]) : -1;
    if (a < 0 && m->n_known) {
        ha = t >= 0 && m->n_topic_names ? account_of_topic(m, m->topic[t], seed, index)
                                        : elm_gen_mix_pick_prior(m, seed, index);
        out->prior_account = ha >= 0 ? m->known[ha] : NULL;
    }
    if (t < 0 && m->n_topic_names) {
        int ht = topic_of_account(m, ha, seed, index);
        out->prior_topic = ht >= 0 ? m->topic_names[ht] : NULL;
    }
}

char *elm_gen_mix_prompt(const char *account, const char *topic, const char *prompt, size_t *skip) {
    size_t na = strlen(account), nt = topic ? strlen(topic) + 3 : 0;
    size_t np = prompt ? strlen(prompt) : 0, cap = na + nt + np + 4;
    char *out = malloc(cap);
    if (!out) return NULL;
    int h = topic ? snprintf(out, cap, "@%s [%s]:", account, topic)
                  : snprintf(out, cap, "@%s:", account);
    if (np) snprintf(out + h, cap - (size_t)h, " %s", prompt);
    *skip = (size_t)h + (np ? 1 : 0);
    return out;
}

size_t elm_gen_mix_own_header(const ElmGenMix *m, const char *text) {
    if (m->n_known == 0 || text[0] != '@') return 0;
    // "@" + a handle (no white space, no ':') + ":": a conditioned model may also blend handles.
    size_t k = 1;
    while (text[k] && text[k] != ':' && !isspace((unsigned char)text[k])) k++;
    if (k > 1 && text[k] == ' ' && text[k + 1] == '[') { // " [<topic>]"
        size_t j = k + 2;
        while (text[j] && text[j] != ']' && text[j] != ':') j++;
        if (text[j] == ']') k = j + 1;
    }
    if (k == 1 || text[k] != ':') return 0;
    k++;
    while (isspace((unsigned char)text[k])) k++;
    return k;
}
