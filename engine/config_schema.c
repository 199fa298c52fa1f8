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
    {"invalid_utf8", ELM_CFG_ENUM, "replace", 0, 0, "replace|drop|error",
     "invalid UTF-8 in a post: replace bytes with U+FFFD, drop the post, or stop with an error"},
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
    END,
};

static const ElmCfgKey generate_keys[] = {
    END,
};

static const ElmCfgKey validate_keys[] = {
    {"data", ELM_CFG_PATH, "", 0, 0, NULL,
     "one labelled file instead of real + generated: CSV with text and label columns "
     "(label 1 = real, 0 = generated), e.g. the study's real_vs_generated.csv"},
    {"real", ELM_CFG_PATH, "", 0, 0, NULL, "real tweets, JSONL or CSV (empty = <run>/clean.jsonl)"},
    {"generated", ELM_CFG_PATH, "", 0, 0, NULL,
     "generated tweets: a JSONL/CSV file or a folder of *.jsonl (empty = <run>/generated/)"},
    {"text_column", ELM_CFG_STR, "auto", 0, 0, NULL,
     "CSV column (JSONL field) holding the text; auto = text, else tweet_clean"},
    {"label_column", ELM_CFG_STR, "label", 0, 0, NULL, "CSV column of 0/1 labels (with data)"},
    {"max_rows", ELM_CFG_INT, "0", 0, BIG, NULL,
     "use a stratified random subset of this many rows (0 = all)"},
    {"ngram_min", ELM_CFG_INT, "1", 1, 8, NULL, "smallest word n-gram"},
    {"ngram_max", ELM_CFG_INT, "3", 1, 8, NULL, "largest word n-gram"},
    {"max_features", ELM_CFG_INT, "200000", 0, BIG, NULL, "keep the most frequent terms (0 = all)"},
    {"min_df", ELM_CFG_FLOAT, "1", 0, BIG, NULL,
     "min document frequency: < 1 fraction, else count"},
    {"max_df", ELM_CFG_FLOAT, "1.0", 0, BIG, NULL,
     "max document frequency: <= 1 fraction, else count"},
    {"stop_words", ELM_CFG_BOOL, "true", 0, 0, NULL,
     "drop English stop words (scikit-learn's list)"},
    {"tfidf", ELM_CFG_BOOL, "true", 0, 0, NULL, "TF-IDF (smooth idf, l2 rows); false = counts"},
    {"binary", ELM_CFG_BOOL, "false", 0, 0, NULL, "term present = 1 instead of its count"},
    {"test_fraction", ELM_CFG_FLOAT, "0.2", 0.01, 0.99, NULL, "stratified held-out test share"},
    {"models", ELM_CFG_STR, "nb,gnb,rf", 0, 0, NULL,
     "models to train: nb (multinomial), gnb (Gaussian), rf (random forest)"},
    {"cv", ELM_CFG_BOOL, "false", 0, 0, NULL,
     "also report stratified k-fold CV accuracy of every model on all rows"},
    {"folds", ELM_CFG_INT, "5", 2, 100, NULL, "folds of that CV"},
    {"cv_repeats", ELM_CFG_INT, "1", 1, 100, NULL,
     "random-forest CV repeats with seeds seed, seed+1, ..."},
    {"nb.alpha", ELM_CFG_FLOAT, "1.0", 0, BIG, NULL, "MultinomialNB additive smoothing"},
    {"gnb.var_smoothing", ELM_CFG_FLOAT, "1e-9", 0, 1, NULL,
     "GaussianNB: share of the largest variance added to all variances"},
    {"rf.n_estimators", ELM_CFG_INT, "100", 1, 100000, NULL, "trees"},
    {"rf.criterion", ELM_CFG_ENUM, "gini", 0, 0, "gini|entropy", "split quality"},
    {"rf.max_depth", ELM_CFG_INT, "0", 0, 100000, NULL, "deepest level (0 = no limit)"},
    {"rf.min_samples_split", ELM_CFG_INT, "2", 2, BIG, NULL, "rows needed to split a node"},
    {"rf.min_samples_leaf", ELM_CFG_INT, "1", 1, BIG, NULL, "rows needed in each leaf"},
    {"rf.max_features", ELM_CFG_STR, "sqrt", 0, 0, NULL,
     "features tried per split: sqrt, log2, all or a fraction in (0, 1]"},
    {"rf.bootstrap", ELM_CFG_BOOL, "true", 0, 0, NULL, "grow each tree on a bootstrap sample"},
    {"rf.oob_score", ELM_CFG_BOOL, "true", 0, 0, NULL, "report the out-of-bag accuracy"},
    {"grid.n_estimators", ELM_CFG_STR, "", 0, 0, NULL,
     "grid search values, comma-separated (empty = not searched), e.g. 100,200,300"},
    {"grid.criterion", ELM_CFG_STR, "", 0, 0, NULL, "grid values, e.g. gini,entropy"},
    {"grid.max_depth", ELM_CFG_STR, "", 0, 0, NULL, "grid values, e.g. None,2,6,10"},
    {"grid.min_samples_split", ELM_CFG_STR, "", 0, 0, NULL, "grid values, e.g. 5,10"},
    {"grid.min_samples_leaf", ELM_CFG_STR, "", 0, 0, NULL, "grid values, e.g. 3,6"},
    {"grid.max_features", ELM_CFG_STR, "", 0, 0, NULL, "grid values, e.g. sqrt,log2,0.1"},
    {"grid.bootstrap", ELM_CFG_STR, "", 0, 0, NULL, "grid values, e.g. true,false"},
    {"grid_folds", ELM_CFG_INT, "2", 2, 100, NULL, "stratified folds of the grid search"},
    {"viable_threshold", ELM_CFG_FLOAT, "0.5", 0, 1, NULL,
     "a generated test tweet is viable when the tuned forest gives P(real) >= this"},
    {"top_features", ELM_CFG_INT, "30", 0, 100000, NULL,
     "most important forest features listed in metrics.json"},
    END,
};

static const ElmCfgKey topics_keys[] = {
    {"data", ELM_CFG_PATH, "", 0, 0, NULL,
     "one labelled CSV instead of real + generated (label 1 = real, 0 = generated)"},
    {"real", ELM_CFG_PATH, "", 0, 0, NULL, "real tweets, JSONL or CSV (empty = <run>/clean.jsonl)"},
    {"generated", ELM_CFG_PATH, "", 0, 0, NULL,
     "generated tweets: file or folder of *.jsonl (empty = <run>/generated/; missing = none)"},
    {"text_column", ELM_CFG_STR, "auto", 0, 0, NULL, "CSV column / JSONL field of the text"},
    {"label_column", ELM_CFG_STR, "label", 0, 0, NULL, "CSV column of 0/1 labels (with data)"},
    {"max_rows", ELM_CFG_INT, "0", 0, BIG, NULL, "stratified random subset of rows (0 = all)"},
    {"k", ELM_CFG_INT, "4", 1, 10000, NULL, "topics"},
    {"alpha", ELM_CFG_FLOAT, "0", 0, BIG, NULL, "document-topic prior (0 = 1/k)"},
    {"beta", ELM_CFG_FLOAT, "0", 0, BIG, NULL, "topic-word prior (0 = 1/k)"},
    {"iterations", ELM_CFG_INT, "20", 1, 100000, NULL, "passes of variational Bayes (EM)"},
    {"top_n", ELM_CFG_INT, "10", 1, 1000, NULL, "words listed per topic and used for coherence"},
    {"top_words", ELM_CFG_INT, "30", 1, 100000, NULL, "top words compared real vs generated"},
    {"holdout", ELM_CFG_FLOAT, "0.1", 0, 0.9, NULL, "share of documents held out for perplexity"},
    {"min_df", ELM_CFG_FLOAT, "2", 0, BIG, NULL, "LDA vocabulary: min document frequency"},
    {"max_df", ELM_CFG_FLOAT, "0.95", 0, BIG, NULL, "LDA vocabulary: max document frequency"},
    {"max_features", ELM_CFG_INT, "20000", 0, BIG, NULL, "LDA vocabulary size limit (0 = all)"},
    {"stop_words", ELM_CFG_BOOL, "true", 0, 0, NULL, "drop English stop words"},
    {"sweep.k", ELM_CFG_STR, "", 0, 0, NULL, "coherence sweep values of k, e.g. 2,4,6,8"},
    {"sweep.alpha", ELM_CFG_STR, "", 0, 0, NULL, "sweep values of alpha, e.g. 0.01,0.1,1"},
    {"sweep.beta", ELM_CFG_STR, "", 0, 0, NULL, "sweep values of beta, e.g. 0.01,0.1,1"},
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
