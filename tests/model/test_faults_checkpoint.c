// test_faults_checkpoint.c — elm_checkpoint_tidy on what a kill can leave in checkpoints/
// (issue #21; tests/app/test_crash_kill.py found a step_N left without its model by a kill in
// the middle of a keep_last removal, kept forever): an uncommitted .step_N.tmp, a half-removed
// step_N and .step_N.del, a .step_N.old beside its step_N (removed) or instead of it (put back);
// then keep_last, which never removes keep_step, and removes by renaming first.
#include "elmtest.h"
#include "engine/base/fsutil.h"
#include "engine/model/checkpoint.h"

#include <string.h>
#include <sys/stat.h>

static char root[256];

static void put(const char *dir, const char *file) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, dir);
    mkdir(p, 0755);
    if (!file) return;
    snprintf(p, sizeof p, "%s/%s/%s", root, dir, file);
    FILE *f = fopen(p, "w");
    if (f) fclose(f);
}

// A complete checkpoint folder (elm_checkpoint_list asks for model.safetensors).
static void complete(const char *dir) {
    put(dir, "model.safetensors");
    put(dir, "state.bin");
    put(dir, "config.json");
}

static int there(const char *dir) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, dir);
    return elm_file_exists(p);
}

// The steps of the complete checkpoints, as "5 10 ".
static void steps(char *out, size_t cap) {
    long long *s = NULL;
    ElmError e;
    int n = elm_checkpoint_list(root, &s, &e);
    out[0] = '\0';
    for (int i = 0; i < n; i++) snprintf(out + strlen(out), cap - strlen(out), "%lld ", s[i]);
    free(s);
}

int main(void) {
    char tmpl[] = "/tmp/elm-ckpt-XXXXXX";
    if (!mkdtemp(tmpl)) return 1;
    snprintf(root, sizeof root, "%s/checkpoints", tmpl);
    mkdir(root, 0755);
    complete("step_5");
    complete("step_10");
    put("step_15", "config.json"); // a removal killed after the model went
    put(".step_20.del", "vocab.json");
    put(".step_25.tmp", "model.safetensors"); // a save killed before its commit
    complete(".step_30.old");                 // a commit killed between its two renames
    complete("step_35");
    complete(".step_35.old"); // a commit killed before removing the one it replaced
    put("notes", "mine.txt"); // not elm's: stays

    ElmError e = {{0}};
    char got[256];
    CHECK(elm_checkpoint_tidy(root, 0, -1, &e) == 0, "%s", e.msg);
    steps(got, sizeof got);
    CHECK(strcmp(got, "5 10 30 35 ") == 0, "complete checkpoints after the tidy: %s", got);
    CHECK(!there("step_15") && !there(".step_15.del"), "the half-removed step_15 is gone");
    CHECK(!there(".step_20.del") && !there(".step_25.tmp"), "the .del and .tmp are gone");
    CHECK(!there(".step_30.old") && there("step_30/state.bin"), "step_30 is put back whole");
    CHECK(!there(".step_35.old") && there("step_35/model.safetensors"),
          "the replaced step_35 goes, the new one stays");
    CHECK(there("notes/mine.txt"), "other files stay");

    CHECK(elm_checkpoint_tidy(root, 2, 5, &e) == 0, "%s", e.msg);
    steps(got, sizeof got);
    CHECK(strcmp(got, "5 30 35 ") == 0, "keep_last 2 keeps the newest two and keep_step: %s", got);
    CHECK(!there("step_10") && !there(".step_10.del"), "step_10 is removed whole");

    CHECK(elm_checkpoint_tidy(root, 1, -1, &e) == 0, "%s", e.msg);
    steps(got, sizeof got);
    CHECK(strcmp(got, "35 ") == 0, "keep_last 1: %s", got);
    CHECK(elm_checkpoint_tidy("/nonexistent/elm/checkpoints", 2, -1, &e) == 0,
          "a missing folder is nothing to tidy");

    elm_rmtree(tmpl, &e);
    ELM_TEST_DONE();
}
