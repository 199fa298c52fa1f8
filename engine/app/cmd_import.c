// cmd_import.c — `elm import HF_DIR OUT_DIR`: turn a Hugging Face GPT-2 folder (F32, F16 or BF16
// safetensors, single or sharded) into an elm checkpoint (fp32 model.safetensors + config.json).
#include "engine/app/cli.h"
#include "engine/model/gpt2.h"
#include "engine/model/hf.h"

static int run_import(const ElmCli *cli, ElmError *err) {
    if (cli->n_pos != 2) return elm_err(err, "expects HF_DIR OUT_DIR (see elm import --help)");
    const char *in = cli->pos[0], *out = cli->pos[1];
    ElmGpt2 m;
    if (elm_hf_load(in, &m, err)) return -1;
    int rc = elm_hf_save(out, &m, err);
    elm_gpt2_free(&m);
    return rc;
}

const ElmCommand elm_cmd_import = {
    .name = "import",
    .summary = "turn a Hugging Face GPT-2 folder into an elm checkpoint",
    .usage =
        "usage: elm import HF_DIR OUT_DIR\n\n"
        "Reads HF_DIR/config.json and HF_DIR/model.safetensors (or the shards listed in\n"
        "model.safetensors.index.json; F32, F16 or BF16) and writes OUT_DIR/model.safetensors\n"
        "(fp32, Hugging Face names and layouts) and OUT_DIR/config.json: an elm checkpoint\n"
        "that [model] init = OUT_DIR and `elm export` accept. Each file is written atomically.\n",
    .fn = run_import,
};
