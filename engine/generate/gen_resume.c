// gen_resume.c — the ".part" a rerun of generate keeps: the settings fingerprint in
// "<out>.part.json" and the finished lines of the ".part" (see gen_resume.h).
#define _POSIX_C_SOURCE 200809L
#include "engine/generate/gen_resume.h"
#include "engine/base/hash.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FORMAT "elm generate .part 1"

static uint64_t hash_str(uint64_t h, const char *s) {
    uint64_t n = strlen(s);
    h = elm_hash_bytes(h, &n, sizeof n); // length first: "ab"+"c" differs from "a"+"bc"
    return elm_hash_bytes(h, s, (size_t)n);
}

// A file's name and content hash, into h.
static int hash_named_file(uint64_t *h, const char *path, const char *name, ElmError *err) {
    char hex[17];
    if (elm_hash_file(path, hex, err)) return -1;
    *h = hash_str(hash_str(*h, name), hex);
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int model_file(const char *name) {
    size_t n = strlen(name), k = strlen(".safetensors");
    return strcmp(name, "config.json") == 0 || strcmp(name, "model.safetensors.index.json") == 0 ||
           (n > k && strcmp(name + n - k, ".safetensors") == 0);
}

// The model folder's files the loader reads (config.json, the weights), in name order.
static int hash_model(uint64_t *h, const char *dir, ElmError *err) {
    DIR *d = opendir(dir);
    if (!d) return elm_err(err, "%s: cannot read folder: %s", dir, strerror(errno));
    char **names = NULL;
    int n = 0, cap = 0, rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (!model_file(e->d_name)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            char **nn = elm_realloc(names, sizeof *nn * (size_t)cap, err);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            rc = elm_err(err, "out of memory");
        else
            n++;
    }
    closedir(d);
    if (rc == 0) qsort(names, (size_t)n, sizeof *names, by_name);
    for (int i = 0; i < n && rc == 0; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        rc = hash_named_file(h, path, names[i], err);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

int elm_gen_resume_fingerprint(const ElmGenResumeKey *key, char hex[17], ElmError *err) {
    const ElmGenParams *p = key->params;
    const ElmSampleParams *s = &p->sample;
    char line[512];
    // %a: the floats exactly.
    snprintf(line, sizeof line,
             "mode %d max_new_tokens %d max_chars %d seed %llu temperature %a top_k %d top_p %a "
             "repetition_penalty %a no_repeat_ngram %d",
             (int)p->mode, p->max_new_tokens, p->max_chars, (unsigned long long)p->seed,
             (double)s->temperature, s->top_k, (double)s->top_p, (double)s->repetition_penalty,
             s->no_repeat_ngram);
    uint64_t h = hash_str(hash_str(hash_str(ELM_HASH_FILE_SEED, FORMAT), line), key->settings);
    uint64_t n = (uint64_t)key->prompts->n;
    h = elm_hash_bytes(h, &n, sizeof n);
    for (int i = 0; i < key->prompts->n; i++) h = hash_str(h, key->prompts->text[i]);
    if (hash_model(&h, key->model_dir, err)) return -1;
    for (int i = 0; i < 2; i++)
        if (hash_named_file(&h, key->vocab[i], i ? "merges" : "vocab", err)) return -1;
    snprintf(hex, 17, "%016llx", (unsigned long long)h);
    return 0;
}

// The fingerprint "<path>.part.json" records, or "" (missing or damaged).
static void recorded(const char *side, char hex[17]) {
    char *data = NULL;
    size_t n = 0;
    ElmError e = {{0}};
    hex[0] = '\0';
    if (elm_read_file(side, &data, &n, &e)) return;
    cJSON *o = cJSON_ParseWithLength(data, n);
    free(data);
    cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "fingerprint");
    if (cJSON_IsString(f) && strlen(f->valuestring) == 16) snprintf(hex, 17, "%s", f->valuestring);
    cJSON_Delete(o);
}

// Whether line (n bytes, '\n' included) is the finished text number `index`.
static int finished_line(const char *line, size_t n, long long index) {
    cJSON *o = cJSON_ParseWithLength(line, n - 1);
    cJSON *i = cJSON_GetObjectItemCaseSensitive(o, "index");
    int ok = cJSON_IsNumber(i) && i->valuedouble == (double)index &&
             cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "text"));
    cJSON_Delete(o);
    return ok;
}

// Counts the finished lines at the start of the ".part" (at most count) and their bytes.
static int scan_part(const char *part, long long count, long long *kept, long long *bytes,
                     ElmError *err) {
    *kept = *bytes = 0;
    FILE *f = fopen(part, "r");
    if (!f) return elm_err(err, "%s: cannot read: %s", part, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while (*kept < count && (n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n' || !finished_line(line, (size_t)n, *kept)) break; // torn
        (*kept)++;
        *bytes += n;
    }
    int bad = ferror(f);
    free(line);
    fclose(f);
    if (bad) return elm_err(err, "%s: read failed", part);
    return 0;
}

// A new ".part": the old one goes first, so that the side file never names another's lines.
static int begin_fresh(ElmAtomicFile *o, const char *path, const char *part, const char *side,
                       const char *hex, const char *settings, ElmError *err) {
    if (unlink(part) != 0 && errno != ENOENT)
        return elm_err(err, "%s: cannot remove: %s", part, strerror(errno));
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", FORMAT);
    cJSON_AddStringToObject(j, "fingerprint", hex);
    cJSON_AddStringToObject(j, "settings", settings);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) return elm_err(err, "out of memory");
    int rc = elm_write_file_atomic(side, text, strlen(text), err);
    free(text);
    return rc ? -1 : elm_atomic_open_part(o, path, err);
}

int elm_gen_resume_open(ElmAtomicFile *o, const char *path, const char *hex, const char *settings,
                        long long count, long long *kept, ElmError *err) {
    char part[4200], side[4200], was[17];
    snprintf(part, sizeof part, "%s.part", path);
    snprintf(side, sizeof side, "%s.part.json", path);
    *kept = 0;
    recorded(side, was);
    if (!elm_file_exists(part) || strcmp(was, hex) != 0)
        return begin_fresh(o, path, part, side, hex, settings, err);
    long long bytes = 0;
    if (scan_part(part, count, kept, &bytes, err)) return -1;
    return elm_atomic_reopen_part(o, path, bytes, err);
}

void elm_gen_resume_close(const char *path) {
    char side[4200];
    snprintf(side, sizeof side, "%s.part.json", path);
    unlink(side);
}
