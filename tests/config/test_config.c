// test_config.c — the INI config: defaults, file values, overrides, and every error class
// naming file:line or key. Random values are round-tripped through the parser.
#include "elmtest.h"
#include "engine/config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int load(ElmConfig *c, const char *text, ElmError *e) {
    if (elm_config_init(c, e)) return -1;
    return elm_config_load_string(c, text, "t.ini", e);
}

static void expect_error(const char *text, const char *needle) {
    ElmConfig c;
    ElmError e = {{0}};
    int rc = load(&c, text, &e);
    CHECK(rc != 0, "config should fail: %s", text);
    CHECK(strstr(e.msg, needle) != NULL, "message '%s' lacks '%s'", e.msg, needle);
    elm_config_free(&c);
}

int main(void) {
    ElmConfig c;
    ElmError e = {{0}};
    CHECK(load(&c, "", &e) == 0, "%s", e.msg);
    CHECK(strcmp(elm_cfg_str(&c, "run.name"), "elm") == 0, "default name");
    CHECK(elm_cfg_bool(&c, "data.dedupe_ids") == 1, "default bool");
    elm_config_free(&c);

    // Lines longer than libinih's 200-byte buffer: random lengths up to 5,000 for a value, a
    // comment and a list item; values arrive whole (inline comment removed, as on short lines)
    // and the lines after them keep their numbers.
    srand(11);
    for (int trial = 0; trial < 50; trial++) {
        int n = 150 + rand() % 5000, m = 150 + rand() % 3000;
        char *name = malloc((size_t)n + 1), *src = malloc((size_t)m + 1);
        size_t cap = (size_t)n + m + 6000;
        char *text = malloc(cap);
        for (int i = 0; i < n; i++) name[i] = (char)('a' + rand() % 26);
        for (int i = 0; i < m; i++) src[i] = (char)('A' + rand() % 26);
        name[n] = src[m] = '\0';
        int o = snprintf(text, cap, "[run]\n; ");
        for (int i = 0; i < 300 + trial * 7; i++) text[o++] = 'c';
        o += snprintf(text + o, cap - (size_t)o,
                      "\nname = %s   ; why\n[data]\nsource = a : %s.csv\n[train]\nsteps = x\n",
                      name, src);
        CHECK(load(&c, text, &e) != 0 && strstr(e.msg, "t.ini:7:") != NULL,
              "the line after long ones: %s", e.msg);
        elm_config_free(&c);
        text[o - 2] = '7'; // steps = 7
        CHECK(load(&c, text, &e) == 0, "%s", e.msg);
        CHECK(strcmp(elm_cfg_str(&c, "run.name"), name) == 0, "a %d-byte value arrives whole", n);
        CHECK(elm_cfg_get(&c, "run.name")->line == 3, "long value's line");
        char **items;
        int k = elm_cfg_list(&c, "data.source", &items);
        char want[6000];
        snprintf(want, sizeof want, "a : %s.csv", src);
        CHECK(k == 1 && strcmp(items[0], want) == 0, "a %d-byte list item arrives whole", m);
        CHECK(elm_cfg_int(&c, "train.steps") == 7, "steps");
        elm_config_free(&c);
        free(name), free(src), free(text);
    }

    // A short line whose own value starts with the long-value stand-in's mark (0x1F, then
    // digits) kept the earlier long line's value instead of its own.
    {
        char text[800];
        int o = snprintf(text, sizeof text, "[generate]\nprompts = ");
        for (int i = 0; i < 300; i++) text[o++] = 'y';
        snprintf(text + o, sizeof text - (size_t)o, "\nprompts = \0370\n"); // 0x1F, '0'
        CHECK(load(&c, text, &e) == 0, "%s", e.msg);
        char **items;
        int k = elm_cfg_list(&c, "generate.prompts", &items);
        CHECK(k == 2 && strlen(items[0]) == 300 && strcmp(items[1], "\0370") == 0,
              "a short value starting with 0x1F is taken as written: %d items", k);
        elm_config_free(&c);
    }

    // Random integers and enum choices round-trip with their line numbers.
    srand(7);
    for (int trial = 0; trial < 200; trial++) {
        long long seed = ((long long)rand() << 20) ^ rand();
        int threads = rand() % 64;
        const char *choices[] = {"remove", "word", "keep"};
        int h = rand() % 3;
        char text[512];
        snprintf(text, sizeof text,
                 "; comment\n[run]\nseed = %lld\nthreads=%d\n\n[clean]\nhashtags = %s\n"
                 "[data]\nsource = a : x%d.csv\nsource = auto : y/*.csv\n",
                 seed, threads, choices[h], trial);
        CHECK(load(&c, text, &e) == 0, "%s", e.msg);
        CHECK(elm_cfg_int(&c, "run.seed") == seed, "seed %lld", seed);
        CHECK(elm_cfg_int(&c, "run.threads") == threads, "threads");
        CHECK(elm_cfg_enum(&c, "clean.hashtags") == h, "enum");
        CHECK(elm_cfg_get(&c, "run.seed")->line == 3, "line %d", elm_cfg_get(&c, "run.seed")->line);
        char **items;
        int n = elm_cfg_list(&c, "data.source", &items);
        char want[64];
        snprintf(want, sizeof want, "a : x%d.csv", trial);
        CHECK(n == 2 && strcmp(items[0], want) == 0, "list");
        // Each item of a repeated key keeps its own line (elm config, error messages).
        char w0[600], w1[600];
        elm_cfg_where_item(&c, "data.source", 0, w0, sizeof w0);
        elm_cfg_where_item(&c, "data.source", 1, w1, sizeof w1);
        CHECK(strcmp(w0, "t.ini:9") == 0 && strcmp(w1, "t.ini:10") == 0, "item lines: %s / %s", w0,
              w1);
        char *printed = NULL;
        size_t plen = 0;
        FILE *pf = open_memstream(&printed, &plen);
        elm_config_print(&c, pf);
        fclose(pf);
        char l0[128], l1[128];
        snprintf(l0, sizeof l0, "source = %s   ; t.ini:9\n", want);
        snprintf(l1, sizeof l1, "source = auto : y/*.csv   ; t.ini:10\n");
        CHECK(strstr(printed, l0) && strstr(printed, l1), "elm config's lines: %s", printed);
        free(printed);
        // An override replaces the file's list, a second one appends.
        CHECK(elm_config_override(&c, "data.source=b : z.csv", &e) == 0, "%s", e.msg);
        CHECK(elm_config_override(&c, "data.source=c : w.csv", &e) == 0, "%s", e.msg);
        n = elm_cfg_list(&c, "data.source", &items);
        CHECK(n == 2 && strcmp(items[1], "c : w.csv") == 0, "override list");
        CHECK(elm_config_override(&c, "run.seed=42", &e) == 0 && elm_cfg_int(&c, "run.seed") == 42,
              "override");
        elm_config_free(&c);
    }

    expect_error("[run]\nnmae = x\n",
                 "t.ini:2: unknown key 'nmae' in [run] (did you mean run.name?)");
    expect_error("[run]\n\n[trian]\nsteps = 1\n",
                 "t.ini:4: unknown section [trian] (did you mean [train]?)");
    expect_error("[run]\nseed = 12x\n", "t.ini:2: run.seed expects an integer");
    expect_error("[run]\nthreads = -1\n", "out of range");
    expect_error("[clean]\nurls = maybe\n", "must be one of remove|keep");
    expect_error("[data]\ndrop_replies = perhaps\n", "expects true or false");
    expect_error("[run]\nseed = 1\nseed = 2\n", "t.ini:3: run.seed is already set on line 2");
    expect_error("seed = 1\n", "outside any [section]");
    expect_error("[run]\njust some words\n", "t.ini:2");

    CHECK(elm_config_init(&c, &e) == 0, "init");
    CHECK(elm_config_override(&c, "run.thread=3", &e) != 0 && strstr(e.msg, "run.threads"), "%s",
          e.msg);
    CHECK(elm_config_override(&c, "runseed", &e) != 0, "malformed override");
    elm_config_free(&c);
    ELM_TEST_DONE();
}
