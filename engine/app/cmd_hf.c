// cmd_hf.c — `elm import HF_DIR OUT_DIR` and `elm export CHECKPOINT_DIR OUT_DIR`: a Hugging Face
// GPT-2 folder to an elm checkpoint and back. Both are one load and one save in hf.c's format.
#include "engine/app/cli.h"
#include "engine/base/fsutil.h"
#include "engine/model/gpt2.h"
#include "engine/model/hf.h"
#include "engine/model/hub.h"
#include "tokenizer/bpe.h"

#include <stdio.h>

// The vocabulary of a model folder: HF's names (vocab.json + merges.txt, which every checkpoint
// carries) or elm's tokenizer's (encoder.json + vocab.bpe). 1 when dir holds either pair.
static int find_vocab(const char *dir, char *vj, char *mt, size_t cap) {
    static const char *pairs[2][2] = {{"vocab.json", "merges.txt"}, {"encoder.json", "vocab.bpe"}};
    for (int i = 0; i < 2; i++) {
        elm_path_join(vj, cap, dir, pairs[i][0]);
        elm_path_join(mt, cap, dir, pairs[i][1]);
        if (elm_file_exists(vj) && elm_file_exists(mt)) return 1;
    }
    return 0;
}

// Writes the vocabulary found in vocab_dir beside the weights in out, after loading it (a
// damaged file fails here, not in a user's transformers) and checking it fits the model.
// 0 = written, 1 = vocab_dir has none, -1 = error.
static int save_vocab(const char *vocab_dir, const char *out, const ElmGpt2Config *cfg,
                      ElmError *err) {
    char vj[4096], mt[4096];
    if (!find_vocab(vocab_dir, vj, mt, sizeof vj)) return 1;
    ElmBpe *bpe = elm_bpe_load(vj, mt, err);
    if (!bpe) return -1;
    int n = elm_bpe_vocab_size(bpe), eot = elm_bpe_eot(bpe);
    elm_bpe_free(bpe);
    if (eot < 0) return elm_err(err, "%s: the vocabulary has no <|endoftext|> token", vj);
    if (n > cfg->vocab_size)
        return elm_err(err, "%s: the vocabulary has %d tokens but the model only %d", vj, n,
                       cfg->vocab_size);
    return elm_hf_save_tokenizer(out, cfg, vj, mt, eot, err);
}

// Loads the folder in pos[0] (a Hugging Face GPT-2 folder in F32, F16 or BF16 safetensors,
// single or sharded, an elm checkpoint, or hf:owner/name: the Hub's, downloaded to the cache) and
// writes it to pos[1] as fp32 model.safetensors + config.json with Hugging Face names and layouts,
// with the vocabulary of --vocab DIR or of pos[0] and its tokenizer files. `expects` names the two
// arguments.
static int hf_convert(const ElmCli *cli, const char *expects, ElmError *err) {
    if (cli->n_pos != 2) return elm_err(err, "%s", expects);
    const char *in = cli->pos[0], *out = cli->pos[1], *vocab = elm_cli_opt(cli, "--vocab");
    if (vocab && !vocab[0]) return elm_err(err, "--vocab needs a folder");
    char hub_dir[4096];
    if (elm_hub_is_ref(in)) {
        ElmHubOptions o;
        elm_hub_options_env(&o, cli->quiet);
        if (elm_hub_fetch(in, &o, hub_dir, sizeof hub_dir, err)) return -1;
        in = hub_dir;
    }
    ElmGpt2 m;
    if (elm_hf_load(in, &m, err)) return -1;
    int rc = elm_hf_save(out, &m, err);
    if (rc == 0) rc = save_vocab(vocab ? vocab : in, out, &m.config, err);
    if (rc == 1 && vocab)
        rc = elm_err(err, "--vocab %s: no vocab.json + merges.txt or encoder.json + vocab.bpe",
                     vocab);
    if (rc == 1 && !cli->quiet)
        fprintf(stderr,
                "elm %s: %s has no vocab.json + merges.txt: %s holds the weights only (give "
                "--vocab DIR to add a vocabulary)\n",
                cli->command, cli->pos[0], out);
    elm_gpt2_free(&m);
    return rc < 0 ? -1 : 0;
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
        "usage: elm import HF_DIR|hf:OWNER/NAME OUT_DIR [--vocab DIR]\n\n"
        "Reads HF_DIR/config.json and HF_DIR/model.safetensors (or the shards listed in\n"
        "model.safetensors.index.json; F32, F16 or BF16) and writes OUT_DIR/model.safetensors\n"
        "(fp32, Hugging Face names and layouts) and OUT_DIR/config.json: an elm checkpoint\n"
        "that [model] init = OUT_DIR and `elm export` accept. The vocabulary (vocab.json +\n"
        "merges.txt of HF_DIR, or of --vocab DIR, which may hold elm's encoder.json +\n"
        "vocab.bpe instead) is copied with tokenizer_config.json, special_tokens_map.json and\n"
        "generation_config.json. Each file is written atomically.\n\n"
        "hf:OWNER/NAME (e.g. hf:openai-community/gpt2-medium) downloads those files from the\n"
        "Hugging Face Hub ($HF_ENDPOINT, default https://huggingface.co; $HF_TOKEN for a gated\n"
        "or private repo) into $ELM_CACHE (default ~/.cache/elm)/hub/OWNER--NAME/main/ first:\n"
        "resumed where an interrupted download stopped, each weights file checked against the\n"
        "sha256 the Hub publishes. [model] init = hf:OWNER/NAME uses the same cache.\n",
    .options = {"--vocab=", NULL},
    .fn = run_import,
};

const ElmCommand elm_cmd_export = {
    .name = "export",
    .summary = "write an elm checkpoint as a Hugging Face GPT-2 folder",
    .usage = "usage: elm export CHECKPOINT_DIR OUT_DIR [--vocab DIR]\n\n"
             "Reads an elm checkpoint (CHECKPOINT_DIR/config.json + model.safetensors, e.g.\n"
             "<run>/checkpoints/step_N) and writes OUT_DIR/model.safetensors (fp32) and\n"
             "OUT_DIR/config.json with Hugging Face GPT-2 names and layouts (Conv1D [in, out],\n"
             "lm_head tied to wte), loadable by transformers.GPT2LMHeadModel.from_pretrained,\n"
             "and the checkpoint's vocabulary (or that of --vocab DIR: vocab.json + merges.txt\n"
             "or elm's encoder.json + vocab.bpe) as vocab.json + merges.txt with\n"
             "tokenizer_config.json, special_tokens_map.json and generation_config.json\n"
             "(<|endoftext|> as bos/eos, model_max_length = n_ctx), so that\n"
             "GPT2TokenizerFast.from_pretrained(OUT_DIR) and [generate] checkpoint = OUT_DIR\n"
             "use the folder as it is. Exporting an `elm import` output reproduces it byte for\n"
             "byte.\n",
    .options = {"--vocab=", NULL},
    .fn = run_export,
};
