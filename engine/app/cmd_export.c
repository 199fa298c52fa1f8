// cmd_export.c — `elm export CHECKPOINT_DIR OUT_DIR`: write an elm checkpoint as a Hugging Face
// GPT-2 folder that transformers.GPT2LMHeadModel.from_pretrained loads unchanged.
#include "engine/app/cli.h"
#include "engine/model/gpt2.h"
#include "engine/model/hf.h"

static int run_export(const ElmCli *cli, ElmError *err) {
    if (cli->n_pos != 2)
        return elm_err(err, "expects CHECKPOINT_DIR OUT_DIR (see elm export --help)");
    const char *in = cli->pos[0], *out = cli->pos[1];
    ElmGpt2 m;
    if (elm_hf_load(in, &m, err)) return -1;
    int rc = elm_hf_save(out, &m, err);
    elm_gpt2_free(&m);
    return rc;
}

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
