// fuzz_hfconfig.c — libFuzzer harness for an HF model folder's config.json (elm_hf_read_config),
// the file `elm import` and [model] init read first. Built by tests/fuzz/build.sh.
#include "engine/model/hf.h"
#include "fuzz_util.h"

#include <assert.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    static char dir[512], path[600];
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/elm-fuzz-hf-%ld", tmp && tmp[0] ? tmp : "/tmp",
                 (long)getpid());
        mkdir(dir, 0700);
        snprintf(path, sizeof path, "%s/config.json", dir);
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    ElmGpt2Config cfg;
    ElmError err;
    if (elm_hf_read_config(dir, &cfg, &err) == 0)
        assert(cfg.n_layer > 0 && cfg.n_head > 0 && cfg.n_embd % cfg.n_head == 0 && cfg.n_ctx > 0 &&
               cfg.vocab_size > 0);
    else
        assert(strstr(err.msg, "config.json"));
    return 0;
}
