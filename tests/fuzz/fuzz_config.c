// fuzz_config.c — libFuzzer harness for the INI config (libinih + elm's schema checks), read
// from a file and from a string. Built by tests/fuzz/build.sh.
//
// A config that loads is then printed and read through every accessor the stages use.
#include "engine/data/clean.h"
#include "engine/config/config.h"
#include "fuzz_util.h"

#include <assert.h>

static void use(const ElmConfig *cfg) {
    static FILE *devnull;
    if (!devnull) devnull = fopen("/dev/null", "w");
    elm_config_print(cfg, devnull);
    for (int i = 0; i < cfg->n_values; i++) {
        const ElmCfgValue *v = &cfg->values[i];
        char name[256], buf[4096];
        snprintf(name, sizeof name, "%s.%s", v->section->name, v->spec->key);
        assert(elm_cfg_get(cfg, name) == v);
        elm_cfg_where(cfg, name, buf, sizeof buf);
        if (v->spec->type == ELM_CFG_LIST) {
            char **items;
            int n = elm_cfg_list(cfg, name, &items);
            for (int j = 0; j < n; j++) assert(items[j]);
        } else {
            assert(elm_cfg_str(cfg, name));
            elm_cfg_path(cfg, name, buf, sizeof buf);
        }
    }
    ElmCleanOptions opt;
    elm_clean_options_from_config(cfg, &opt);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    ElmConfig cfg;
    ElmError err;
    const char *path = fuzz_write_tmp(data, size, ".ini");
    if (path && elm_config_init(&cfg, &err) == 0) {
        if (elm_config_load_file(&cfg, path, &err) == 0) use(&cfg);
        elm_config_free(&cfg);
    }
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (elm_config_init(&cfg, &err) == 0) {
        if (elm_config_load_string(&cfg, text, "fuzz.ini", &err) == 0) {
            use(&cfg);
            // an override of the same text: "section.key=value" lines
            char *line = strtok(text, "\n");
            if (line) elm_config_override(&cfg, line, &err);
        }
        elm_config_free(&cfg);
    }
    free(text);
    return 0;
}
