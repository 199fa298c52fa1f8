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
    {"vocab", ELM_CFG_PATH, "", 0, 0, NULL,
     "folder with GPT-2's encoder.json + vocab.bpe, relative to the config file (unused when "
     "train = true)"},
    {"train", ELM_CFG_BOOL, "false", 0, 0, NULL,
     "learn a byte-level BPE vocabulary from the corpus into <run>/tokenizer/ and use it"},
    {"vocab_size", ELM_CFG_INT, "8192", 257, 1048576, NULL,
     "size of the trained vocabulary: 256 bytes + merges + <|endoftext|>"},
    {"val_fraction", ELM_CFG_FLOAT, "0.05", 0, 0.5, NULL,
     "share of documents (tweets) held out for validation, chosen with the run seed"},
    {"allow_special", ELM_CFG_BOOL, "false", 0, 0, NULL,
     "<|endoftext|> inside a text is the special token (true) or plain text (false)"},
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
    {"device", ELM_CFG_ENUM, "auto", 0, 0, "cpu|cuda|auto",
     "where to train; auto = cpu in builds without CUDA"},
    {"precision", ELM_CFG_ENUM, "fp32", 0, 0, "fp32|bf16", "arithmetic (bf16 needs device=cuda)"},
    {"batch_size", ELM_CFG_INT, "8", 1, 65536, NULL, "sequences per micro-batch (B)"},
    {"seq_len", ELM_CFG_INT, "64", 1, 1048576, NULL,
     "tokens per sequence (T, at most model n_ctx)"},
    {"grad_accum", ELM_CFG_INT, "1", 1, 65536, NULL,
     "micro-batches summed per optimizer step (tokens/step = B*T*grad_accum)"},
    {"steps", ELM_CFG_INT, "0", 0, BIG, NULL, "optimizer steps (0 = as many as `epochs` take)"},
    {"epochs", ELM_CFG_FLOAT, "1", 0.0001, 1e6, NULL,
     "passes over the training shard when steps = 0"},
    {"lr", ELM_CFG_FLOAT, "3e-4", 0, 1e6, NULL, "peak learning rate"},
    {"min_lr", ELM_CFG_FLOAT, "0", 0, 1e6, NULL,
     "learning rate at the last step (cosine and linear decay end here)"},
    {"warmup_steps", ELM_CFG_INT, "0", 0, BIG, NULL, "linear warmup from lr/warmup_steps to lr"},
    {"schedule", ELM_CFG_ENUM, "cosine", 0, 0, "cosine|linear|constant", "decay after warmup"},
    {"weight_decay", ELM_CFG_FLOAT, "0.1", 0, 1e6, NULL,
     "AdamW decoupled weight decay (parameters with >= 2 dims)"},
    {"beta1", ELM_CFG_FLOAT, "0.9", 0, 0.999999, NULL, "AdamW beta1"},
    {"beta2", ELM_CFG_FLOAT, "0.95", 0, 0.999999999, NULL, "AdamW beta2"},
    {"eps", ELM_CFG_FLOAT, "1e-8", 0, 1, NULL, "AdamW epsilon"},
    {"grad_clip", ELM_CFG_FLOAT, "1.0", 0, 1e12, NULL, "clip the global gradient norm (0 = off)"},
    {"eval_every", ELM_CFG_INT, "100", 0, BIG, NULL,
     "validation loss every N steps and at the end (0 = never)"},
    {"eval_batches", ELM_CFG_INT, "20", 1, BIG, NULL, "validation micro-batches per evaluation"},
    {"sample_every", ELM_CFG_INT, "0", 0, BIG, NULL,
     "log a short sample every N steps (0 = never)"},
    {"sample_tokens", ELM_CFG_INT, "48", 1, 4096, NULL, "length of those samples in tokens"},
    {"checkpoint_every", ELM_CFG_INT, "500", 0, BIG, NULL,
     "checkpoint every N steps (0 = only at the end); the last step always saves"},
    {"keep_last", ELM_CFG_INT, "3", 0, 1000000, NULL, "checkpoints to keep (0 = all)"},
    {"data", ELM_CFG_PATH, "", 0, 0, NULL,
     "token shard folder with train.bin and val.bin (empty = <run>/tokens)"},
    {"seed", ELM_CFG_INT, "-1", -1, BIG, NULL, "data order seed (-1 = run.seed)"},
    END,
};

static const ElmCfgKey generate_keys[] = {
    {"count", ELM_CFG_INT, "20", 0, BIG, NULL, "texts to generate"},
    {"prompts", ELM_CFG_LIST, NULL, 0, 0, NULL,
     "a prompt, repeatable; text i uses prompt i mod n (none = unconditional)"},
    {"prompts_file", ELM_CFG_PATH, "", 0, 0, NULL, "one prompt per line (added to `prompts`)"},
    {"mode", ELM_CFG_ENUM, "tweet", 0, 0, "tweet|story",
     "tweet: cut at a word boundary; story: longer, ends at a sentence boundary"},
    {"max_new_tokens", ELM_CFG_INT, "0", 0, 1048576, NULL,
     "new tokens per text (0 = 96 for tweets, 512 for stories)"},
    {"max_chars", ELM_CFG_INT, "0", 0, 100000000, NULL,
     "characters per text, prompt included (0 = 280 for tweets, 2000 for stories)"},
    {"temperature", ELM_CFG_FLOAT, "0.9", 0, 1000, NULL, "softmax temperature (0 = greedy)"},
    {"top_k", ELM_CFG_INT, "40", 0, 1048576, NULL, "keep the k most likely tokens (0 = off)"},
    {"top_p", ELM_CFG_FLOAT, "0.95", 0.000001, 1, NULL,
     "keep the smallest most-likely set with this much probability (1 = off)"},
    {"repetition_penalty", ELM_CFG_FLOAT, "1.1", 0.01, 100, NULL,
     "divide positive / multiply negative logits of tokens already present (1 = off)"},
    {"no_repeat_ngram", ELM_CFG_INT, "3", 0, 1024, NULL,
     "never repeat an n-gram of this size (0 = off)"},
    {"batch_size", ELM_CFG_INT, "8", 1, 65536, NULL, "sequences sampled together"},
    {"seed", ELM_CFG_INT, "-1", -1, BIG, NULL, "sampling seed (-1 = run.seed)"},
    {"checkpoint", ELM_CFG_PATH, "", 0, 0, NULL,
     "model folder (config.json + model.safetensors; empty = latest <run>/checkpoints/step_N)"},
    {"stories", ELM_CFG_INT, "0", 0, BIG, NULL, "story-mode texts `elm run` adds after the tweets"},
    {"device", ELM_CFG_ENUM, "auto", 0, 0, "cpu|cuda|auto",
     "where to sample; auto = cpu in builds without CUDA"},
    END,
};

static const ElmCfgKey validate_keys[] = {
    END,
};

static const ElmCfgKey topics_keys[] = {
    END,
};

static const ElmCfgKey report_keys[] = {
    {"title", ELM_CFG_STR, "", 0, 0, NULL, "report title (default: the run name)"},
    {"viable_shown", ELM_CFG_INT, "20", 0, 10000, NULL, "viable tweets shown in the report"},
    {"stories_shown", ELM_CFG_INT, "5", 0, 1000, NULL, "stories shown in the report"},
    END,
};

static const ElmCfgKey viable_keys[] = {
    {"max_common_run", ELM_CFG_INT, "8", 1, 10000, NULL,
     "reject a tweet sharing this many consecutive words with one training tweet"},
    {"ngram", ELM_CFG_INT, "4", 1, 16, NULL, "word n-gram size for the overlap check"},
    {"max_ngram_overlap", ELM_CFG_FLOAT, "0.5", 0, 1, NULL,
     "reject a tweet whose n-grams are found in training tweets above this fraction"},
    {"dedupe_run", ELM_CFG_INT, "8", 1, 10000, NULL,
     "drop a tweet sharing this many consecutive words with a better-ranked viable one"},
    {"min_words", ELM_CFG_INT, "3", 0, 1000, NULL, "drop tweets with fewer words"},
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
    {"viable", viable_keys, "viable tweets: novelty and de-duplication of the ones judged real"},
    {0},
};
