// cmd_hf.c — `elm import HF_DIR OUT_DIR` and `elm export CHECKPOINT_DIR OUT_DIR`: a Hugging Face
// GPT-2 folder to an elm checkpoint and back. Both are one load and one save in hf.c's format.
#include "engine/app/cli.h"
#include "engine/model/gpt2.h"
#include "engine/model/hf.h"

// Loads the folder in pos[0] (a Hugging Face GPT-2 folder in F32, F16 or BF16 safetensors,
// single or sharded, or an elm checkpoint) and writes it to pos[1] as fp32 model.safetensors +
// config.json with Hugging Face names and layouts. `expects` names the two arguments.
static int hf_convert(const ElmCli *cli, const char *expects, ElmError *err) {
    if (cli->n_pos != 2) return elm_err(err, "%s", expects);
    const char *in = cli->pos[0], *out = cli->pos[1];
    ElmGpt2 m;
    if (elm_hf_load(in, &m, err)) return -1;
    int rc = elm_hf_save(out, &m, err);
    elm_gpt2_free(&m);
    return rc;
}

static int run_import(const ElmCli *cli, ElmError *err) {
    return hf_convert(cli, "expects HF_DIR OUT_DIR (see elm import --help)", err);
}

static int run_export(const ElmCli *cli, ElmError *err) {
    return hf_convert(cli, "expects CHECKPOINT_DIR OUT_DIR (see elm export --help)", err);
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

const ElmCommand elm_cmd_export = {
    .name = "export",
    .summary = "write an elm checkpoint as a Hugging Face GPT-2 folder",
    .usage = "usage: elm export CHECKPOINT_DIR OUT_DIR\n\n"
             "Reads an elm checkpoint (CHECKPOINT_DIR/config.json + model.safetensors, e.g.\n"
             "<run>/checkpoints/step_N) and writes OUT_DIR/model.safetensors (fp32) and\n"
             "OUT_DIR/config.json with Hugging Face GPT-2 names and layouts (Conv1D [in, out],\n"
             "lm_head tied to wte), loadable by transformers.GPT2LMHeadModel.from_pretrained.\n"
             "Exporting an `elm import` output reproduces it byte for byte.\n",
    .fn = run_export,
};
