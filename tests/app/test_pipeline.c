// test_pipeline.c — stage caching: a second run re-runs nothing, a changed setting re-runs that
// stage and the later ones whose inputs changed, --only/--from/--force, a failing stage's error
// names it, and the manifest records hashes, times and memory.
#include "elmtest.h"
#include "engine/base/fsutil.h"
#include "engine/app/pipeline.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// Stage A writes a.txt from [clean] min_chars; stage B copies a.txt to b.txt; stage C fails when
// run.threads == 3. Each appends its name to log.txt so the test sees what really ran.
static void logrun(ElmRun *run, const char *name) {
    char p[4200];
    elm_run_path(run, "log.txt", p, sizeof p);
    FILE *f = fopen(p, "a");
    fprintf(f, "%s\n", name);
    fclose(f);
}
static int stage_a(ElmRun *run, ElmError *err) {
    logrun(run, "a");
    char p[4200], text[64];
    elm_run_path(run, "a.txt", p, sizeof p);
    snprintf(text, sizeof text, "%lld", elm_cfg_int(&run->cfg, "clean.min_chars") / 10);
    return elm_write_file_atomic(p, text, strlen(text), err);
}
static int stage_b(ElmRun *run, ElmError *err) {
    logrun(run, "b");
    char p[4200], q[4200], *data;
    size_t n;
    elm_run_path(run, "a.txt", p, sizeof p);
    elm_run_path(run, "sub/b.txt", q, sizeof q);
    char dir[4200];
    elm_run_path(run, "sub", dir, sizeof dir);
    if (elm_mkdirs(dir, err) || elm_read_file(p, &data, &n, err)) return -1;
    int rc = elm_write_file_atomic(q, data, n, err);
    free(data);
    return rc;
}
static int stage_c(ElmRun *run, ElmError *err) {
    logrun(run, "c");
    if (elm_cfg_int(&run->cfg, "run.threads") == 3) return elm_err(err, "boom at line 7");
    char p[4200];
    elm_run_path(run, "c.txt", p, sizeof p);
    return elm_write_file_atomic(p, "c", 1, err);
}

static const ElmStage stages[] = {
    {"a", stage_a, {"clean"}, {0}, {"@data.source"}, {"a.txt"}, NULL},
    {"b", stage_b, {0}, {0}, {"a.txt"}, {"sub/b.txt"}, NULL},
    {"c", stage_c, {0}, {"run.threads"}, {"sub/*.txt"}, {"c.txt"}, NULL},
    {0},
};

static char dir[256];

static char *ran(void) {
    static char buf[256];
    char p[300];
    snprintf(p, sizeof p, "%s/t/log.txt", dir);
    FILE *f = fopen(p, "r");
    size_t n = 0;
    buf[0] = '\0';
    if (f) {
        char line[16];
        while (fgets(line, sizeof line, f)) buf[n++] = line[0];
        buf[n] = '\0';
        fclose(f);
        unlink(p);
    }
    return buf;
}

static int go(const char *sets, ElmPipelineOptions opt, ElmError *e) {
    char *s[4] = {0};
    int ns = 0;
    char o[300], buf[3][300];
    snprintf(o, sizeof o, "run.out_dir=%s", dir);
    s[ns++] = o;
    snprintf(buf[0], 300, "run.name=t");
    s[ns++] = buf[0];
    if (sets) snprintf(buf[1], 300, "%s", sets), s[ns++] = buf[1];
    snprintf(buf[2], 300, "data.source=auto : %s/input.txt", dir);
    s[ns++] = buf[2];
    ElmRun run;
    if (elm_run_open(&run, NULL, s, ns, 1, e)) return -1;
    int rc = elm_pipeline_run(&run, stages, &opt, e);
    elm_run_close(&run);
    return rc;
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/elm-pipe-XXXXXX");
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char in[300];
    snprintf(in, sizeof in, "%s/input.txt", dir);
    ElmError e = {{0}};
    elm_write_file_atomic(in, "hello", 5, &e);
    ElmPipelineOptions none = {0};

    CHECK(go(NULL, none, &e) == 0, "%s", e.msg);
    CHECK(strcmp(ran(), "abc") == 0, "first run runs all");
    CHECK(go(NULL, none, &e) == 0, "%s", e.msg);
    CHECK(strcmp(ran(), "") == 0, "second run is all cached");
    // A setting of stage a that does not change its output: a re-runs, b and c stay cached.
    CHECK(go("clean.min_chars=2", none, &e) == 0, "%s", e.msg);
    CHECK(strcmp(ran(), "a") == 0, "only a");
    // One that changes a's output: a and b re-run, and c because b's output changed.
    CHECK(go("clean.min_chars=25", none, &e) == 0, "%s", e.msg);
    CHECK(strcmp(ran(), "abc") == 0, "a, b, c");
    // The source file's content is an input of a.
    elm_write_file_atomic(in, "hello!", 6, &e);
    CHECK(go("clean.min_chars=25", none, &e) == 0, "%s", e.msg);
    CHECK(strcmp(ran(), "a") == 0, "input change re-runs a");
    ElmPipelineOptions only = {.only = "b"}, from = {.from = "b"}, force = {.force = 1};
    CHECK(go("clean.min_chars=25", only, &e) == 0 && strcmp(ran(), "b") == 0, "--only");
    CHECK(go("clean.min_chars=25", from, &e) == 0 && strcmp(ran(), "bc") == 0, "--from");
    CHECK(go("clean.min_chars=25", force, &e) == 0 && strcmp(ran(), "abc") == 0, "--force");
    // A missing output makes its stage run again.
    char cp[300];
    snprintf(cp, sizeof cp, "%s/t/c.txt", dir);
    unlink(cp);
    CHECK(go("clean.min_chars=25", none, &e) == 0 && strcmp(ran(), "c") == 0, "missing output");
    // Failure: one line naming the stage; earlier outputs and the manifest stay.
    CHECK(go("run.threads=3", none, &e) != 0, "c must fail");
    CHECK(strcmp(e.msg, "stage c: boom at line 7") == 0, "message: %s", e.msg);
    ran();
    ElmPipelineOptions bad = {.only = "zz"};
    CHECK(go(NULL, bad, &e) != 0 && strstr(e.msg, "--only zz"), "%s", e.msg);

    // The manifest: every stage with fingerprint, inputs, wall time and memory.
    CHECK(go(NULL, none, &e) == 0, "%s", e.msg);
    char mp[300], *text;
    size_t n;
    snprintf(mp, sizeof mp, "%s/t/manifest.json", dir);
    CHECK(elm_read_file(mp, &text, &n, &e) == 0, "%s", e.msg);
    cJSON *m = cJSON_Parse(text);
    CHECK(m != NULL, "manifest parses");
    cJSON *st = cJSON_GetObjectItem(m, "stages");
    CHECK(cJSON_GetArraySize(st) == 3, "3 stages");
    cJSON *a = cJSON_GetArrayItem(st, 0);
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "inputs"), in) != NULL, "input hash of %s",
          in);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(a, "peak_rss_mb")), "rss");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "config"), "clean") != NULL, "config");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "elm"), "commit") != NULL, "commit");
    cJSON_Delete(m);
    free(text);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    ELM_TEST_DONE();
}
