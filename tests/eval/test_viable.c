// test_viable.c — the viable filter on random candidates: copies of training tweets, high
// n-gram overlap, duplicates among candidates and short texts are dropped and counted; the
// rest keep their order and scores. Expectations come from a brute-force recount here.
#include "elmtest.h"
#include "engine/base/fsutil.h"
#include "engine/base/jsonl.h"
#include "eval/viable.h"

#include <string.h>

static const char *W[] = {"sourdough", "moon",  "miles", "rest",   "jupiter", "crust", "rain",
                          "patience",  "stars", "shoes", "oven",   "cold",    "tempo", "flour",
                          "orbit",     "easy",  "kids",  "wonder", "loaf",    "pace"};

static void sentence(char *out, int n) {
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        strcat(out, W[rand() % 20]);
        strcat(out, i + 1 < n ? " " : ".");
    }
}

int main(void) {
    srand(5);
    char dir[] = "/tmp/elm-viable-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char p[4200], sets[2][300];
    ElmError e = {{0}};
    snprintf(sets[0], 300, "run.out_dir=%s", dir);
    snprintf(sets[1], 300, "run.name=v");
    char *s[] = {sets[0], sets[1]};
    ElmRun run;
    CHECK(elm_run_open(&run, NULL, s, 2, 1, &e) == 0, "%s", e.msg);
    elm_run_path(&run, "validate", p, sizeof p);
    elm_mkdirs(p, &e);

    // 50 training tweets; candidates: exact copies (drop), fresh texts (keep), a fresh text
    // repeated (second dropped), and short ones (drop).
    static char train[50][400];
    elm_run_path(&run, "clean.jsonl", p, sizeof p);
    FILE *f = fopen(p, "w");
    for (int i = 0; i < 50; i++) {
        sentence(train[i], 12);
        fprintf(f, "{\"id\":\"%d\",\"text\":\"%s\"}\n", i, train[i]);
    }
    fclose(f);
    elm_run_path(&run, "validate/viable.jsonl", p, sizeof p);
    f = fopen(p, "w");
    int expect_keep = 0, expect_copy = 0, expect_dup = 0, expect_short = 0;
    char fresh[400], prev[400] = "";
    for (int i = 0; i < 60; i++) {
        int kind = i % 4;
        const char *text;
        if (kind == 0)
            text = train[rand() % 50], expect_copy++;
        else if (kind == 1) {
            // Made of words absent from training: "zz<i>" tokens, so no overlap at all.
            snprintf(fresh, sizeof fresh, "zz%d yy%d xx%d ww%d vv%d", i, i, i, i, i);
            text = fresh, expect_keep++;
            snprintf(prev, sizeof prev, "%s", fresh);
        } else if (kind == 2)
            text = prev, expect_dup++;
        else
            text = "oven", expect_short++;
        fprintf(f, "{\"text\":\"%s\",\"p_real\":%.3f}\n", text, 1.0 - i * 0.01);
    }
    fclose(f);
    CHECK(elm_viable_run(&run, &e) == 0, "%s", e.msg);
    elm_run_path(&run, "viable.jsonl", p, sizeof p);
    ElmJsonl r;
    CHECK(elm_jsonl_open(&r, p, &e) == 0, "%s", e.msg);
    cJSON *o;
    int n = 0;
    double last = 2;
    while ((o = elm_jsonl_next(&r, &e))) {
        n++;
        double pr = elm_json_num(o, "p_real", -1);
        CHECK(pr < last, "ranked by probability");
        last = pr;
        CHECK(elm_json_num(o, "longest_common_run", -1) == 0, "fresh text");
        CHECK(elm_json_num(o, "rank", 0) == n, "rank");
        cJSON_Delete(o);
    }
    elm_jsonl_close(&r);
    CHECK(n == expect_keep, "kept %d, expected %d", n, expect_keep);
    elm_run_path(&run, "viable.json", p, sizeof p);
    char *text;
    size_t len;
    CHECK(elm_read_file(p, &text, &len, &e) == 0, "%s", e.msg);
    cJSON *sum = cJSON_Parse(text), *drop = cJSON_GetObjectItem(sum, "dropped");
    CHECK(elm_json_num(drop, "near_copy", -1) == expect_copy, "copies");
    CHECK(elm_json_num(drop, "duplicate", -1) == expect_dup, "dups");
    CHECK(elm_json_num(drop, "too_short", -1) == expect_short, "short");
    cJSON_Delete(sum);
    free(text);

    // A malformed candidate line is an error naming file:line, and leaves the old output.
    elm_run_path(&run, "validate/viable.jsonl", p, sizeof p);
    f = fopen(p, "w");
    fprintf(f, "{\"text\":\"zz a b c\"}\n{not json\n");
    fclose(f);
    CHECK(elm_viable_run(&run, &e) != 0 && strstr(e.msg, "viable.jsonl:2"), "%s", e.msg);
    elm_run_path(&run, "viable.jsonl", p, sizeof p);
    CHECK(elm_read_file(p, &text, &len, &e) == 0 && len > 0, "old output kept");
    free(text);
    elm_run_close(&run);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    ELM_TEST_DONE();
}
