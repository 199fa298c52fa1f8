// config_schema.c — every [section] and key elm understands, with types, defaults and ranges.
// Adding a section is one key array plus one line in elm_cfg_schema; `elm config` prints them all.
#include "config.h"

#define END                                                                                        \
    { 0 }
#define BIG 9.0e15

static const ElmCfgKey run_keys[] = {
    {"name", ELM_CFG_STR, "elm", 0, 0, NULL, "run name; outputs go to <out_dir>/<name>/"},
    {"out_dir", ELM_CFG_STR, "out", 0, 0, NULL, "output root, relative to the working directory"},
    {"seed", ELM_CFG_INT, "1337", 0, BIG, NULL, "seed for every random choice of the run"},
    {"threads", ELM_CFG_INT, "0", 0, 4096, NULL, "CPU threads (0 = all cores)"},
    END,
};

static const ElmCfgKey data_keys[] = {
    {"source", ELM_CFG_LIST, NULL, 0, 0, NULL,
     "ACCOUNT_OR_AUTO : PATH_OR_GLOB, repeatable; paths relative to the config file"},
    {"drop_retweets", ELM_CFG_BOOL, "true", 0, 0, NULL, "drop retweets"},
    {"drop_replies", ELM_CFG_BOOL, "false", 0, 0, NULL, "drop replies"},
    {"languages", ELM_CFG_STR, "", 0, 0, NULL, "comma-separated languages to keep (empty = all)"},
    {"dedupe_ids", ELM_CFG_BOOL, "true", 0, 0, NULL, "drop repeated tweet ids"},
    {"dedupe_text", ELM_CFG_BOOL, "true", 0, 0, NULL, "drop repeated exact texts"},
    {"invalid_utf8", ELM_CFG_ENUM, "replace", 0, 0, "replace|drop",
     "invalid UTF-8: replace bytes with U+FFFD or drop the post"},
    END,
};

static const ElmCfgKey clean_keys[] = {
    {"urls", ELM_CFG_ENUM, "remove", 0, 0, "remove|keep", "URLs"},
    {"mentions", ELM_CFG_ENUM, "remove", 0, 0, "remove|keep", "@mentions"},
    {"hashtags", ELM_CFG_ENUM, "word", 0, 0, "remove|word|keep",
     "#hashtags: remove, keep the word without '#', or keep as is"},
    {"cashtags", ELM_CFG_ENUM, "keep", 0, 0, "remove|keep", "$cashtags"},
    {"emojis", ELM_CFG_ENUM, "keep", 0, 0, "remove|keep", "emoji (Extended_Pictographic etc.)"},
    {"smileys", ELM_CFG_ENUM, "keep", 0, 0, "remove|keep", "ASCII smileys like :) ;-("},
    {"reserved", ELM_CFG_ENUM, "remove", 0, 0, "remove|keep", "reserved words RT, FAV"},
    {"numbers", ELM_CFG_ENUM, "keep", 0, 0, "remove|keep", "standalone numbers"},
    {"html_entities", ELM_CFG_BOOL, "true", 0, 0, NULL, "decode &amp; &lt; &#39; ..."},
    {"min_chars", ELM_CFG_INT, "1", 0, 100000, NULL, "drop cleaned posts shorter than this"},
    {"max_chars", ELM_CFG_INT, "100000", 1, 10000000, NULL, "drop cleaned posts longer than this"},
    END,
};

static const ElmCfgKey tokenizer_keys[] = {
    END,
};

static const ElmCfgKey model_keys[] = {
    {"preset", ELM_CFG_ENUM, "gpt2", 0, 0, "gpt2|gpt2-medium|gpt2-large|gpt2-xl|custom",
     "model size: GPT-2 124M, 355M, 774M, 1558M, or custom (n_layer n_head n_embd n_ctx)"},
    {"n_layer", ELM_CFG_INT, "12", 1, 1024, NULL, "transformer blocks (preset = custom)"},
    {"n_head", ELM_CFG_INT, "12", 1, 1024, NULL, "attention heads (preset = custom)"},
    {"n_embd", ELM_CFG_INT, "768", 1, 65536, NULL,
     "channels, divisible by n_head (preset = custom)"},
    {"n_ctx", ELM_CFG_INT, "1024", 1, 65536, NULL, "positions (preset = custom)"},
    {"vocab_size", ELM_CFG_INT, "0", 0, 1000000, NULL,
     "vocabulary (0 = the tokenizer's, 50257 for GPT-2's)"},
    {"init", ELM_CFG_PATH, "scratch", 0, 0, NULL,
     "scratch (random GPT-2 init from [run] seed) or PATH to a Hugging Face GPT-2 folder"},
    {"matmul", ELM_CFG_ENUM, "auto", 0, 0, "auto|elm|cublas",
     "GPU matrix products: elm's kernels, cuBLAS, or auto (the faster measured)"},
    END,
};

static const ElmCfgKey train_keys[] = {
    END,
};

static const ElmCfgKey generate_keys[] = {
    END,
};

static const ElmCfgKey validate_keys[] = {
    END,
};

static const ElmCfgKey topics_keys[] = {
    END,
};

static const ElmCfgKey report_keys[] = {
    END,
};

const ElmCfgSection elm_cfg_schema[] = {
    {"run", run_keys, "the run: name, output folder, seed, threads"},
    {"data", data_keys, "tweet sources for `elm ingest`"},
    {"clean", clean_keys, "the tweet cleaner (`elm clean`)"},
    {"tokenizer", tokenizer_keys, "GPT-2 byte-level BPE (`elm tokenize`)"},
    {"model", model_keys, "the GPT-2 model"},
    {"train", train_keys, "training (`elm train`)"},
    {"generate", generate_keys, "sampling (`elm generate`)"},
    {"validate", validate_keys, "real-vs-generated classifiers (`elm validate`)"},
    {"topics", topics_keys, "LDA topics and top words (`elm topics`)"},
    {"report", report_keys, "the HTML report (`elm report`)"},
    {0},
};
