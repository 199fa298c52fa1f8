// pipeline.c — stage caching by content hash, one child process per stage, the run manifest.
#include "engine/app/pipeline.h"
#include "engine/base/hash.h"
#include "engine/app/cli.h"
#include "engine/base/fsutil.h"
#include "engine/base/buf.h"
#include "kernels/gpu/gpu.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/prctl.h>

// The pattern for rel (which may hold a glob) inside the run folder (which is literal).
static void run_pattern(const ElmRun *run, const char *rel, char *out, size_t cap) {
    char dir[8200];
    elm_glob_escape(run->dir, dir, sizeof dir);
    snprintf(out, cap, "%s/%s", dir, rel);
}

// Adds "path": hash for every regular file matching `pattern` (a file, a folder = its files,
// or a glob) into obj; a pattern matching nothing adds nothing (outputs list what must exist).
static int hash_pattern(cJSON *obj, const char *pattern, const char *label_base, ElmError *err) {
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc == GLOB_NOMATCH) return 0;
    if (rc != 0) return elm_err(err, "%s: cannot expand pattern", pattern);
    int status = 0;
    for (size_t i = 0; i < g.gl_pathc && status == 0; i++) {
        const char *p = g.gl_pathv[i];
        const char *label = p;
        size_t lb = strlen(label_base);
        if (lb && strncmp(p, label_base, lb) == 0 && p[lb] == '/') label = p + lb + 1;
        if (elm_is_dir(p)) {
            char sub[8400];
            elm_glob_escape(p, sub, sizeof sub - 2);
            strcat(sub, "/*");
            status = hash_pattern(obj, sub, label_base, err);
            continue;
        }
        char hex[17];
        if (elm_hash_file(p, hex, err))
            status = -1;
        else if (!cJSON_GetObjectItemCaseSensitive(obj, label))
            cJSON_AddStringToObject(obj, label, hex);
    }
    globfree(&g);
    return status;
}

static int value_matches(const ElmCfgValue *v, const char *const *sections,
                         const char *const *keys) {
    for (int i = 0; i < 4 && sections[i]; i++)
        if (strcmp(v->section->name, sections[i]) == 0) return 1;
    for (int i = 0; i < 4 && keys[i]; i++) {
        size_t ls = strlen(v->section->name);
        if (strncmp(keys[i], v->section->name, ls) == 0 && keys[i][ls] == '.' &&
            strcmp(keys[i] + ls + 1, v->spec->key) == 0)
            return 1;
    }
    return 0;
}

// The stage's settings as "section.key=value" lines: what, besides its inputs, shapes its result.
// NULL when out of memory.
static char *stage_settings(const ElmRun *run, const ElmStage *st) {
    ElmBuf b = {0};
    elm_buf_append(&b, "", 0);
    for (int i = 0; i < run->cfg.n_values; i++) {
        const ElmCfgValue *v = &run->cfg.values[i];
        if (!value_matches(v, st->sections, st->settings)) continue;
        char line[8300]; // a longer line is cut here, as it always was: the fingerprints stay
        if (v->spec->type == ELM_CFG_LIST) {
            for (int j = 0; j < v->n_items; j++) {
                snprintf(line, sizeof line, "%s.%s+=%s\n", v->section->name, v->spec->key,
                         v->items[j]);
                elm_buf_append(&b, line, strlen(line));
            }
        } else {
            snprintf(line, sizeof line, "%s.%s=%s\n", v->section->name, v->spec->key,
                     v->text ? v->text : "");
            elm_buf_append(&b, line, strlen(line));
        }
    }
    if (b.oom) elm_buf_free(&b);
    return b.data;
}

// An X archive's data/tweets.js (or tweet.js) is read with data/account.js beside it (the user
// name): every archive file that pattern matches brings its account.js into the inputs.
static int hash_archive_accounts(cJSON *inputs, const char *pattern, ElmError *err) {
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0) return 0;
    int status = 0;
    for (size_t i = 0; i < g.gl_pathc && status == 0; i++) {
        const char *base = strrchr(g.gl_pathv[i], '/');
        base = base ? base + 1 : g.gl_pathv[i];
        if (strcmp(base, "tweets.js") != 0 && strcmp(base, "tweet.js") != 0) continue;
        char acc[8400];
        elm_glob_escape(g.gl_pathv[i], acc, sizeof acc - 16);
        char *slash = strrchr(acc, '/');
        snprintf(slash ? slash + 1 : acc, 16, "account.js");
        status = hash_pattern(inputs, acc, "", err);
    }
    globfree(&g);
    return status;
}

// One config-named input: a list item "ACCOUNT : PATTERN" (a source: its pattern is a glob, as
// ingest reads it) or a path value (literal: a folder named "a[1]" is itself).
static int hash_config_input(const ElmRun *run, const char *s, int is_list, cJSON *inputs,
                             ElmError *err) {
    const char *colon = is_list ? strchr(s, ':') : NULL;
    if (colon) s = colon + 1;
    while (*s == ' ' || *s == '\t') s++;
    if (!*s || strcmp(s, "scratch") == 0) return 0;
    char trimmed[4096], path[8400];
    snprintf(trimmed, sizeof trimmed, "%s", s);
    for (size_t k = strlen(trimmed); k > 0 && (trimmed[k - 1] == ' ' || trimmed[k - 1] == '\t');
         k--)
        trimmed[k - 1] = '\0';
    if (is_list) {
        elm_cfg_resolve_pattern(&run->cfg, trimmed, path, sizeof path);
        if (hash_pattern(inputs, path, "", err)) return -1;
        return hash_archive_accounts(inputs, path, err);
    }
    char literal[4200];
    elm_cfg_resolve(&run->cfg, trimmed, literal, sizeof literal);
    elm_glob_escape(literal, path, sizeof path);
    return hash_pattern(inputs, path, "", err);
}

// Inputs of a stage: "@section.key" names config paths (lists of "ACCOUNT : PATH" for sources,
// or a folder/file; "scratch"/empty means none); anything else is relative to the run folder.
static int stage_inputs(const ElmRun *run, const ElmStage *st, cJSON *inputs, ElmError *err) {
    for (int i = 0; i < 12 && st->inputs[i]; i++) {
        const char *in = st->inputs[i];
        if (in[0] == '@') {
            const ElmCfgValue *v = elm_cfg_get(&run->cfg, in + 1);
            int is_list = v->spec->type == ELM_CFG_LIST;
            int n = is_list ? v->n_items : 1;
            for (int j = 0; j < n; j++) {
                const char *s = is_list ? v->items[j] : (v->text ? v->text : "");
                if (hash_config_input(run, s, is_list, inputs, err)) return -1;
            }
        } else {
            char path[8400];
            run_pattern(run, in, path, sizeof path);
            if (hash_pattern(inputs, path, run->dir, err)) return -1;
        }
    }
    return 0;
}

// An output named "?rel" is written only by some settings (tokenize writes tokenizer/ when it
// trains the vocabulary): it need not exist, but what exists is hashed like any other output.
static const char *output_rel(const char *out) {
    return out[0] == '?' ? out + 1 : out;
}

static int outputs_present(const ElmRun *run, const ElmStage *st) {
    for (int i = 0; i < 6 && st->outputs[i]; i++) {
        if (st->outputs[i][0] == '?') continue;
        char path[8400];
        run_pattern(run, st->outputs[i], path, sizeof path);
        glob_t g;
        int rc = glob(path, 0, NULL, &g);
        globfree(&g);
        if (rc != 0) return 0;
    }
    return 1;
}

static cJSON *config_json(const ElmConfig *cfg) {
    cJSON *root = cJSON_CreateObject();
    cJSON *sec = NULL;
    const ElmCfgSection *cur = NULL;
    for (int i = 0; i < cfg->n_values; i++) {
        const ElmCfgValue *v = &cfg->values[i];
        if (v->section != cur) {
            cur = v->section;
            sec = cJSON_AddObjectToObject(root, cur->name);
        }
        switch (v->spec->type) {
        case ELM_CFG_INT:
            cJSON_AddNumberToObject(sec, v->spec->key, (double)v->i);
            break;
        case ELM_CFG_FLOAT:
            cJSON_AddNumberToObject(sec, v->spec->key, v->f);
            break;
        case ELM_CFG_BOOL:
            cJSON_AddBoolToObject(sec, v->spec->key, (int)v->i);
            break;
        case ELM_CFG_LIST: {
            cJSON *arr = cJSON_AddArrayToObject(sec, v->spec->key);
            for (int j = 0; j < v->n_items; j++)
                cJSON_AddItemToArray(arr, cJSON_CreateString(v->items[j]));
            break;
        }
        default:
            cJSON_AddStringToObject(sec, v->spec->key, v->text ? v->text : "");
            break;
        }
    }
    return root;
}

static int write_json(const char *path, cJSON *obj, ElmError *err) {
    char *text = cJSON_Print(obj);
    if (!text) return elm_err(err, "out of memory");
    size_t n = strlen(text);
    text[n] = '\n';
    int rc = elm_write_file_atomic(path, text, n + 1, err);
    free(text);
    return rc;
}

// CLI-level: the signal (SIGINT/SIGTERM) that interrupted the run, and the stage process it is
// passed on to. A stage runs in its own process group, so a Ctrl-C at the terminal reaches it
// once, through here, and reaches it again only when pressed again.
static volatile sig_atomic_t interrupted;
static volatile pid_t stage_pid;
static void on_signal(int sig) {
    interrupted = sig;
    if (stage_pid > 0) kill(stage_pid, sig);
}

// Runs one stage in a child; fills wall time and peak RSS; the child's error comes back on a pipe.
static int run_child(ElmRun *run, const ElmStage *st, double *wall, long *rss_kb, ElmError *err) {
    int fds[2];
    if (pipe(fds) != 0) return elm_err(err, "pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    double t0 = elm_now();
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return elm_err(err, "fork: %s", strerror(errno));
    if (pid == 0) {
        // The stage dies with `elm run` (kill -9 included), so it never outlives the run
        // folder's lock holder and a rerun never meets a half-finished orphan.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        setpgid(0, 0);
        close(fds[0]);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        ElmError cerr = {{0}};
        int rc = st->fn(run, &cerr);
        if (rc) {
            size_t n = strlen(cerr.msg);
            if (write(fds[1], cerr.msg, n) < 0) _exit(3);
        }
        fflush(stdout);
        fflush(stderr);
        _exit(rc ? 1 : 0);
    }
    close(fds[1]);
    stage_pid = pid;
    if (interrupted) kill(pid, interrupted); // a signal that came during the fork
    char msg[ELM_ERROR_MAX] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof msg - 1 &&
           ((r = read(fds[0], msg + got, sizeof msg - 1 - got)) > 0 || (r < 0 && errno == EINTR)))
        if (r > 0) got += (size_t)r;
    close(fds[0]);
    int status = 0;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) return elm_err(err, "wait: %s", strerror(errno));
    }
    stage_pid = 0;
    *wall = elm_now() - t0;
    *rss_kb = ru.ru_maxrss;
    if (WIFSIGNALED(status))
        return elm_err(err, "stage %s: crashed (signal %d)", st->name, WTERMSIG(status));
    if (WEXITSTATUS(status) != 0)
        return elm_err(err, "stage %s: %s", st->name, msg[0] ? msg : "failed");
    return 0;
}

// The first GPU's name, asked in a child process: CUDA must not be initialised in this parent,
// since the stages it forks could not use CUDA after that (and would inherit its memory).
static int gpu_name(char *out, size_t cap) {
    int fds[2];
    out[0] = '\0';
    if (!elm_gpu_compiled() || pipe(fds) != 0) return 0;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]), close(fds[1]);
        return 0;
    }
    if (pid == 0) {
        close(fds[0]);
        ElmGpuInfo gi;
        ElmError e = {{0}};
        if (elm_gpu_query(&gi, 1, &e) > 0 && write(fds[1], gi.name, strlen(gi.name)) < 0) _exit(1);
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    while (got < cap - 1 && (r = read(fds[0], out + got, cap - 1 - got)) > 0) got += (size_t)r;
    out[got] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return got > 0;
}

static const ElmStage *find_stage(const ElmStage *stages, const char *name) {
    for (const ElmStage *s = stages; s->name; s++)
        if (strcmp(s->name, name) == 0) return s;
    return NULL;
}

static cJSON *prev_stage(cJSON *manifest, const char *name) {
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(manifest, "stages"), *it;
    cJSON_ArrayForEach(it, arr) {
        cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0) return it;
    }
    return NULL;
}

// The last run's manifest, or NULL: none, or one that is damaged (not JSON, or without a
// "stages" array), which means no cache at all and a warning, never a wrong cache hit.
static cJSON *manifest_load(const char *mpath, int quiet) {
    char *text;
    size_t n;
    ElmError ignore;
    if (!elm_file_exists(mpath) || elm_read_file(mpath, &text, &n, &ignore) != 0) return NULL;
    cJSON *old = cJSON_Parse(text);
    free(text);
    if (!old || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(old, "stages"))) {
        if (!quiet)
            fprintf(stderr, "elm run: %s is damaged (%s); every stage runs again\n", mpath,
                    old ? "no stages array" : "not JSON");
        cJSON_Delete(old);
        return NULL;
    }
    return old;
}

// The new manifest's head: elm's version, the config, the seed, the threads and the device.
static cJSON *manifest_create(const ElmRun *run) {
    cJSON *man = cJSON_CreateObject();
    cJSON *ver = cJSON_AddObjectToObject(man, "elm");
    cJSON_AddStringToObject(ver, "version", elm_version);
    cJSON_AddStringToObject(ver, "commit", elm_git_commit);
    cJSON_AddStringToObject(man, "config_file", run->cfg.path);
    cJSON_AddItemToObject(man, "config", config_json(&run->cfg));
    cJSON_AddNumberToObject(man, "seed", (double)run->seed);
    cJSON_AddNumberToObject(man, "threads", run->threads);
    cJSON *dev = cJSON_AddObjectToObject(man, "device");
    cJSON_AddBoolToObject(dev, "cuda_build", elm_gpu_compiled());
    char gpu[256];
    if (gpu_name(gpu, sizeof gpu))
        cJSON_AddStringToObject(dev, "gpu", gpu);
    else
        cJSON_AddNullToObject(dev, "gpu");
    return man;
}

// A stage's manifest entry so far: its name, fingerprint (also into fp), settings hash and the
// hashes of its inputs. NULL on error, with err prefixed by the stage's name.
static cJSON *stage_entry(const ElmRun *run, const ElmStage *st, char fp[17], ElmError *err) {
    cJSON *entry = cJSON_CreateObject();
    cJSON_AddStringToObject(entry, "name", st->name);
    cJSON *inputs = cJSON_CreateObject();
    char *settings = NULL;
    if (stage_inputs(run, st, inputs, err) ||
        (!(settings = stage_settings(run, st)) && elm_err(err, "out of memory"))) {
        cJSON_Delete(inputs);
        cJSON_Delete(entry);
        elm_err_prefix(err, "stage %s", st->name);
        return NULL;
    }
    char *inputs_text = cJSON_PrintUnformatted(inputs);
    char sh[17];
    uint64_t hs = elm_hash_bytes(0x13198a2e03707344ULL, settings, strlen(settings));
    uint64_t hf = elm_hash_bytes(hs, inputs_text, strlen(inputs_text));
    snprintf(sh, sizeof sh, "%016llx", (unsigned long long)hs);
    snprintf(fp, 17, "%016llx", (unsigned long long)hf);
    free(inputs_text);
    free(settings);
    cJSON_AddStringToObject(entry, "fingerprint", fp);
    cJSON_AddStringToObject(entry, "settings_hash", sh);
    cJSON_AddItemToObject(entry, "inputs", inputs);
    return entry;
}

// The hashes of the stage's outputs as they are now, into outs ("path": hash).
static int hash_outputs(const ElmRun *run, const ElmStage *st, cJSON *outs, ElmError *err) {
    for (int i = 0; i < 6 && st->outputs[i]; i++) {
        char path[8400];
        run_pattern(run, output_rel(st->outputs[i]), path, sizeof path);
        if (hash_pattern(outs, path, run->dir, err)) return -1;
    }
    return 0;
}

// 1 when the last run's result of this stage can stand: it finished (status "ran" or "cached")
// with the same fingerprint, and every output it recorded is there with the hash it recorded
// and no other file has appeared among them; *outs then holds those hashes (the cached entry's,
// so no output is read twice). 0 otherwise, -1 on a read error.
static int stage_reusable(const ElmRun *run, const ElmStage *st, const cJSON *prev, const char *fp,
                          cJSON **outs, ElmError *err) {
    *outs = NULL;
    if (!prev) return 0;
    const cJSON *pfp = cJSON_GetObjectItemCaseSensitive(prev, "fingerprint");
    const cJSON *pst = cJSON_GetObjectItemCaseSensitive(prev, "status");
    const cJSON *pouts = cJSON_GetObjectItemCaseSensitive(prev, "outputs");
    if (!cJSON_IsString(pfp) || strcmp(pfp->valuestring, fp) != 0) return 0;
    if (!cJSON_IsString(pst) ||
        (strcmp(pst->valuestring, "ran") != 0 && strcmp(pst->valuestring, "cached") != 0))
        return 0;
    if (!cJSON_IsObject(pouts) || !outputs_present(run, st)) return 0;
    cJSON *now = cJSON_CreateObject();
    if (!now) return elm_err(err, "out of memory");
    if (hash_outputs(run, st, now, err)) {
        cJSON_Delete(now);
        return -1;
    }
    if (!cJSON_Compare(now, pouts, 1)) {
        cJSON_Delete(now);
        return 0;
    }
    *outs = now;
    return 1;
}

// A number of prev's: key, or when prev was itself cached, the run it came from (ran_<key>).
static double prev_ran(const cJSON *prev, const char *key) {
    char ran[64];
    snprintf(ran, sizeof ran, "ran_%s", key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(prev, ran);
    if (!cJSON_IsNumber(v)) v = cJSON_GetObjectItemCaseSensitive(prev, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

// A cached stage's wall time is this run's (the check, hashing included) and its peak memory
// none of its own; ran_wall_s and ran_peak_rss_mb keep those of the run that made the outputs.
static void stage_cached(const ElmRun *run, const ElmStage *st, const cJSON *prev, cJSON *entry,
                         double check_s) {
    cJSON_AddStringToObject(entry, "status", "cached");
    cJSON_AddNumberToObject(entry, "wall_s", check_s);
    cJSON_AddNumberToObject(entry, "peak_rss_mb", 0);
    cJSON_AddNumberToObject(entry, "ran_wall_s", prev_ran(prev, "wall_s"));
    cJSON_AddNumberToObject(entry, "ran_peak_rss_mb", prev_ran(prev, "peak_rss_mb"));
    if (!run->quiet)
        fprintf(stderr, "elm run: %-9s cached (checked in %.2f s; ran in %.1f s)\n", st->name,
                check_s, prev_ran(prev, "wall_s"));
}

// Runs the stage in a child and checks that it wrote its outputs.
static int stage_execute(ElmRun *run, const ElmStage *st, cJSON *entry, ElmError *err) {
    if (!run->quiet) fprintf(stderr, "elm run: %-9s running\n", st->name);
    double wall = 0;
    long rss = 0;
    int status = run_child(run, st, &wall, &rss, err);
    if (status == 0 && !outputs_present(run, st))
        status = elm_err(err, "stage %s: finished without writing %s", st->name, st->outputs[0]);
    cJSON_AddStringToObject(entry, "status", status == 0 ? "ran" : "failed");
    cJSON_AddNumberToObject(entry, "wall_s", wall);
    cJSON_AddNumberToObject(entry, "peak_rss_mb", (double)rss / 1024.0);
    if (!run->quiet && status == 0)
        fprintf(stderr, "elm run: %-9s done in %.1f s, peak %.0f MiB\n", st->name, wall,
                (double)rss / 1024.0);
    return status;
}

// Under a job of several ranks: a stage with fn_dist in-process on every rank, another in a child
// of rank 0 while the others wait for it as long as it takes; then every rank agrees on the
// outcome. entry (rank 0's) gets the status, wall time and peak memory (in-process: the whole
// process's peak so far).
static int stage_execute_dist(ElmRun *run, const ElmStage *st, cJSON *entry, ElmDist *dist,
                              ElmError *err) {
    int lead = elm_dist_rank(dist) == 0, status = 0;
    if (!st->fn_dist && lead) return elm_dist_agree(dist, stage_execute(run, st, entry, err), err);
    if (!st->fn_dist) {
        double limit = elm_dist_timeout(dist);
        elm_dist_set_timeout(dist, 0); // rank 0's stage takes what it takes
        status = elm_dist_agree(dist, 0, err);
        elm_dist_set_timeout(dist, limit);
        return status;
    }
    if (lead && !run->quiet) fprintf(stderr, "elm run: %-9s running on every rank\n", st->name);
    double t0 = elm_now();
    status = st->fn_dist(run, dist, err);
    if (status == 0 && lead && !outputs_present(run, st))
        status = elm_err(err, "stage %s: finished without writing %s", st->name, st->outputs[0]);
    else if (status)
        elm_err_prefix(err, "stage %s", st->name);
    status = elm_dist_agree(dist, status, err);
    if (!lead) return status;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double wall = elm_now() - t0, mb = (double)ru.ru_maxrss / 1024.0;
    cJSON_AddStringToObject(entry, "status", status == 0 ? "ran" : "failed");
    cJSON_AddNumberToObject(entry, "wall_s", wall);
    cJSON_AddNumberToObject(entry, "peak_rss_mb", mb);
    if (!run->quiet && status == 0)
        fprintf(stderr, "elm run: %-9s done in %.1f s, peak %.0f MiB\n", st->name, wall, mb);
    return status;
}

// Adds the hashes of the stage's outputs to entry (none after a failure).
static int stage_outputs(const ElmRun *run, const ElmStage *st, cJSON *entry, int status,
                         ElmError *err) {
    cJSON *outs = cJSON_CreateObject();
    if (status == 0 && hash_outputs(run, st, outs, err)) status = -1;
    cJSON_AddItemToObject(entry, "outputs", outs);
    return status;
}

// Rewrites the manifest with the total wall time so far; a write error counts only when the
// stages went well.
static int manifest_write(const char *mpath, cJSON *man, double t_all, int status, ElmError *err) {
    cJSON_DeleteItemFromObject(man, "total_wall_s");
    cJSON_AddNumberToObject(man, "total_wall_s", elm_now() - t_all);
    ElmError werr;
    if (write_json(mpath, man, &werr) && status == 0) {
        *err = werr;
        status = -1;
    }
    return status;
}

// A stage may keep <run>/<stage>.running while its result is not yet on record (train's says
// which training a rerun resumes); once the manifest records the result, it goes. Removed here
// rather than by the stage, so that a kill between the stage's end and the manifest's write
// leaves it, and the rerun resumes the finished work instead of starting over; and after a
// cached stage too, for a kill between the manifest's write and this.
static void stage_recorded(const ElmRun *run, const ElmStage *st) {
    char rel[64], path[4200];
    snprintf(rel, sizeof rel, "%s.running", st->name);
    elm_run_path(run, rel, path, sizeof path);
    unlink(path);
}

// One selected stage: rank 0 (or the one process) hashes its inputs and decides whether the last
// result stands; the ranks of a job learn the decision; the stage runs or is reported cached.
// The entry goes into out_stages (rank 0).
static int run_stage(ElmRun *run, const ElmStage *st, const cJSON *prev, int may_cache,
                     const ElmPipelineOptions *opt, cJSON *out_stages, ElmError *err) {
    ElmDist *dist = elm_dist_size(opt->dist) > 1 ? opt->dist : NULL;
    int lead = elm_dist_rank(dist) == 0, status = 0, cached = 0;
    char fp[17] = "";
    cJSON *entry = NULL, *outs = NULL;
    double t_check = elm_now();
    if (lead) {
        entry = stage_entry(run, st, fp, err);
        // Reuse the last result when nothing that shapes it changed, else run the stage.
        cached = !entry ? -1 : may_cache && stage_reusable(run, st, prev, fp, &outs, err);
        status = cached < 0 ? -1 : 0;
    }
    if (dist) {
        int flag = cached;
        status = elm_dist_agree(dist, status, err);
        if (status == 0) status = elm_dist_bcast(dist, &flag, sizeof flag, 0, err);
        cached = flag;
    }
    if (status) {
        cJSON_Delete(entry), cJSON_Delete(outs);
        return -1;
    }
    if (cached && lead) {
        stage_cached(run, st, prev, entry, elm_now() - t_check);
        cJSON_AddItemToObject(entry, "outputs", outs);
    } else if (!cached) {
        snprintf(run->stage_fp, sizeof run->stage_fp, "%s", fp);
        status = dist ? stage_execute_dist(run, st, entry, dist, err)
                      : stage_execute(run, st, entry, err);
        run->stage_fp[0] = '\0';
        if (lead) status = stage_outputs(run, st, entry, status, err);
    }
    if (lead) cJSON_AddItemToArray(out_stages, entry);
    return status;
}

int elm_pipeline_run(ElmRun *run, const ElmStage *stages, const ElmPipelineOptions *opt,
                     ElmError *err) {
    if (opt->from && !find_stage(stages, opt->from))
        return elm_err(err, "--from %s: no such stage", opt->from);
    if (opt->only && !find_stage(stages, opt->only))
        return elm_err(err, "--only %s: no such stage", opt->only);
    ElmDist *dist = elm_dist_size(opt->dist) > 1 ? opt->dist : NULL;
    int lead = elm_dist_rank(dist) == 0;
    if (elm_dist_agree(dist, lead ? elm_run_mkdir(run, err) : 0, err)) return -1;
    char mpath[4200];
    elm_run_path(run, "manifest.json", mpath, sizeof mpath);
    cJSON *old = lead ? manifest_load(mpath, run->quiet) : NULL;
    cJSON *man = lead ? manifest_create(run) : cJSON_CreateObject();
    cJSON *out_stages = cJSON_AddArrayToObject(man, "stages");

    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    interrupted = 0;

    int status = 0, forced_from = 0;
    double t_all = elm_now();
    for (const ElmStage *st = stages; st->name && status == 0; st++) {
        if (opt->from && strcmp(st->name, opt->from) == 0) forced_from = 1;
        cJSON *prev = old ? prev_stage(old, st->name) : NULL;
        if (opt->only && strcmp(st->name, opt->only) != 0) {
            // Not selected: keep what the last manifest said about it.
            if (prev) cJSON_AddItemToArray(out_stages, cJSON_Duplicate(prev, 1));
            continue;
        }
        int may_cache = !opt->force && !forced_from && !opt->only;
        status = run_stage(run, st, prev, may_cache, opt, out_stages, err);
        if (interrupted) {
            // The stage under way stopped at a safe point (or at once on a second signal).
            char why[ELM_ERROR_MAX];
            snprintf(why, sizeof why, "%s", status ? err->msg : "finished");
            status = elm_err(err, "interrupted at stage %s (%s); rerun to continue", st->name, why);
            if (opt->signal) *opt->signal = interrupted;
        }
        if (lead) status = manifest_write(mpath, man, t_all, status, err);
        if (dist) status = elm_dist_agree(dist, status, err);
        if (status == 0 && lead) stage_recorded(run, st);
    }
    // The stages --only skipped after the last one that ran keep their records too.
    if (status == 0 && opt->only && lead) status = manifest_write(mpath, man, t_all, status, err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    cJSON_Delete(man);
    cJSON_Delete(old);
    return status;
}
