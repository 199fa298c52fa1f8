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
    memset(m, 0, sizeof *m);
}

// tokens.json's "accounts" names into m->known (none when the tokens were not conditioned).
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

int elm_gen_mix_load(const ElmRun *run, const char *spec, ElmGenMix *out, ElmError *err) {
    memset(out, 0, sizeof *out);
    if (load_known(run, out, err)) return -1;
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
                rc = elm_err(err, "generate.accounts = %s: an empty entry", spec);
            else
                rc = add_entry(out, entry, err);
        }
    free(copy);
    if (rc) elm_gen_mix_free(out);
    return rc;
}

// The Weyl sequence's entry `index` (offset by `salt`) over n weights summing to total.
static int weyl_pick(const double *w, int n, double total, uint64_t salt, uint64_t index) {
    if (n == 0) return -1;
    uint64_t x = elm_rng_mix(salt) + index * ELM_RNG_GOLDEN;
    double u = (double)(x >> 11) * 0x1.0p-53 * total, acc = 0;
    for (int i = 0; i < n; i++) {
        acc += w[i];
        if (u < acc) return i;
    }
    return n - 1;
}

int elm_gen_mix_pick(const ElmGenMix *m, uint64_t seed, uint64_t index) {
    return weyl_pick(m->weight, m->n, m->total, seed ^ 0x6D6978ull, index); // "mix"
}

int elm_gen_mix_pick_prior(const ElmGenMix *m, uint64_t seed, uint64_t index) {
    double total = 0;
    for (int i = 0; i < m->n_known; i++) total += m->known_docs[i];
    return weyl_pick(m->known_docs, m->n_known, total, seed ^ 0x7072696F72ull, index); // "prior"
}

char *elm_gen_mix_prompt(const char *account, const char *prompt, size_t *skip) {
    size_t na = strlen(account), np = prompt ? strlen(prompt) : 0;
    char *out = malloc(na + np + 4);
    if (!out) return NULL;
    if (np)
        snprintf(out, na + np + 4, "@%s: %s", account, prompt);
    else
        snprintf(out, na + 3, "@%s:", account);
    *skip = na + 2 + (np ? 1 : 0);
    return out;
}

size_t elm_gen_mix_own_header(const ElmGenMix *m, const char *text) {
    if (m->n_known == 0 || text[0] != '@') return 0;
    // "@" + a handle (no white space, no ':') + ":": a conditioned model may also blend handles.
    size_t k = 1;
    while (text[k] && text[k] != ':' && !isspace((unsigned char)text[k])) k++;
    if (k == 1 || text[k] != ':') return 0;
    k++;
    while (isspace((unsigned char)text[k])) k++;
    return k;
}
