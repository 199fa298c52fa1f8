// corpus.h — ElmCorpus: labelled texts for the validators, read from JSONL ("text" field) or
// CSV (a text column and a label column, like the study's real_vs_generated.csv).
// Used by validate.c and topics.c. Label 1 = real, 0 = generated.
#ifndef ELM_CORPUS_H
#define ELM_CORPUS_H

#include "engine/base/error.h"
#include "engine/config/run.h"

typedef struct ElmCorpus {
    char **text;
    int *label;
    int *line; // source line of each text (for messages)
    int n, cap;
} ElmCorpus;

void elm_corpus_init(ElmCorpus *c);
void elm_corpus_free(ElmCorpus *c);
int elm_corpus_add(ElmCorpus *c, const char *text, int label, int line, ElmError *err);
// JSONL: one object per line, its `field` a string; every text gets `label`.
int elm_corpus_load_jsonl(ElmCorpus *c, const char *path, const char *field, int label,
                          ElmError *err);
// CSV with a header row: texts from column `text_col`, labels (integers) from `label_col`, or
// all `label` when label_col is NULL or "".
int elm_corpus_load_csv(ElmCorpus *c, const char *path, const char *text_col, const char *label_col,
                        int label, ElmError *err);
// By extension: .csv (and .csv.gz) as CSV, anything else as JSONL.
int elm_corpus_load(ElmCorpus *c, const char *path, const char *text_col, const char *label_col,
                    int label, ElmError *err);
// The generated tweets `section` reads: its "generated" key (a file or a folder of *.jsonl), or
// <run>/generated/tweets.jsonl when the key is empty. Stories (generated/stories.jsonl) stay
// out: the study compares tweets with tweets.
void elm_corpus_generated_path(const ElmRun *run, const char *section, char *out, size_t cap);
// The paths of the *.jsonl files in folder dir (at most 4096), in name order, into *paths
// (*n of them; free each and the array); an unreadable folder is an error.
int elm_corpus_jsonl_paths(const char *dir, char ***paths, int *n, ElmError *err);
// Every *.jsonl in a folder, in name order, all with `label`.
int elm_corpus_load_dir(ElmCorpus *c, const char *dir, const char *field, int label, ElmError *err);
// The texts a stage reads from its config section (`validate` or `topics`): <section>.data (a
// labelled CSV), else <section>.real (default <run>/clean.jsonl) as label 1 and
// <section>.generated (default <run>/generated/) as label 0; then a stratified subset of
// <section>.max_rows. need_generated: fail unless both classes are there.
int elm_corpus_load_config(ElmCorpus *c, const ElmRun *run, const char *section, int need_generated,
                           ElmError *err);

#endif
