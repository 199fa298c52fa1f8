// tokenize.c — the `elm tokenize` stage (see tokenize.h): clean.jsonl -> split by document with
// the run seed -> (train a vocabulary) -> encode on all threads -> token shards + tokens.json.
#include "tokenizer/tokenize.h"
#include "tokenizer/tokenize_topics.h"
#include "engine/base/rng.h"
#include "tokenizer/bpe.h"
#include "tokenizer/bpe_corpus.h"
#include "tokenizer/shard.h"
#include "tokenizer/bpe_train.h"
#include "engine/base/fsutil.h"
#include "engine/base/progress.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int elm_tokenize_vocab_dir(const ElmRun *run, char *out, size_t cap, ElmError *err) {
    if (elm_cfg_bool(&run->cfg, "tokenizer.train")) {
        elm_run_path(run, "tokenizer", out, cap);
        return 0;
    }
    if (elm_cfg_path(&run->cfg, "tokenizer.vocab", out, cap))
        return elm_err(err, "[tokenizer] vocab is not set: give a folder with encoder.json and "
                            "vocab.bpe (GPT-2's), or set train = true");
    return 0;
}

typedef struct Docs {
    char **text;
    char **account; // (n) each document's "account" (NULL when it has none)
    int *topic;     // (n) its topicfit topic under condition = account+topic, else -1
    size_t *len;
    size_t n;
    uint64_t bytes;
} Docs;

static void docs_free(Docs *d) {
    for (size_t i = 0; i < d->n; i++) free(d->text[i]), free(d->account[i]);
    free(d->text), free(d->len), free(d->account), free(d->topic);
    memset(d, 0, sizeof *d);
}

// The document text [train] condition makes of a line's text, account and topic: the text
// itself, or the control header "@<account>: " or "@<account> [<topic>]: " before it
// (tokenize.h). malloc'd; *len its bytes.
static char *doc_text(const char *text, const char *account, const char *topic, int condition,
                      size_t *len) {
    size_t n = strlen(text), h = condition ? strlen(account) + 3 : 0;
    if (condition && topic) h += strlen(topic) + 3;
    char *out = malloc(h + n + 1);
    if (!out) return NULL;
    if (h && topic)
        snprintf(out, h + 1, "@%s [%s]: ", account, topic);
    else if (h)
        snprintf(out, h + 1, "@%s: ", account);
    memcpy(out + h, text, n + 1);
    *len = h + n;
    return out;
}

// One JSON object per line with a "text" string (and an "account" one when condition is set);
// blank lines are skipped. Parsed on all threads.
static int read_docs(const char *path, int threads, int condition, const ElmTokenizeTopics *tp,
                     Docs *d, ElmError *err) {
    memset(d, 0, sizeof *d);
    if (!elm_file_exists(path)) return elm_err(err, "%s: not found (run `elm clean` first)", path);
    char *data;
    size_t n;
    if (elm_read_file(path, &data, &n, err)) return -1;
    size_t n_lines = 1;
    for (size_t i = 0; i < n; i++) n_lines += data[i] == '\n';
    const char **line = malloc(n_lines * sizeof *line);
    size_t *llen = malloc(n_lines * sizeof *llen), *lno = calloc(n_lines, sizeof *lno);
    d->text = calloc(n_lines, sizeof *d->text);
    d->len = calloc(n_lines, sizeof *d->len);
    d->account = calloc(n_lines, sizeof *d->account);
    d->topic = malloc(n_lines * sizeof *d->topic);
    if (!line || !llen || !lno || !d->text || !d->len || !d->account || !d->topic) {
        free(data), free(line), free(llen), free(lno), docs_free(d);
        return elm_err(err, "out of memory reading %s", path);
    }
    size_t k = 0, ln = 0;
    for (char *p = data, *end = data + n; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        ln++;
        size_t len = (size_t)(e - p);
        int blank = 1;
        for (size_t i = 0; i < len && blank; i++)
            blank = p[i] == ' ' || p[i] == '\r' || p[i] == '\t';
        if (!blank) line[k] = p, llen[k] = len, lno[k] = ln, k++;
        p = nl ? nl + 1 : end;
    }
    for (size_t i = 0; i < k; i++) {
        d->topic[i] = tp ? elm_tokenize_topics_of_line(tp, lno[i], err) : -1;
        if (tp && d->topic[i] < 0) {
            free(data), free(line), free(llen), free(lno), docs_free(d);
            return -1;
        }
    }
    size_t bad = SIZE_MAX; // index of the first bad line
    const char *why = NULL;
#pragma omp parallel for schedule(dynamic, 256) num_threads(threads)
    for (size_t i = 0; i < k; i++) {
        const char *end = NULL;
        cJSON *o = cJSON_ParseWithLengthOpts(line[i], llen[i], &end, 0);
        for (; o && end < line[i] + llen[i]; end++)
            if (*end != ' ' && *end != '\t' && *end != '\r') {
                cJSON_Delete(o); // something after the object
                o = NULL;
            }
        const cJSON *t = o ? cJSON_GetObjectItemCaseSensitive(o, "text") : NULL;
        const cJSON *a = o ? cJSON_GetObjectItemCaseSensitive(o, "account") : NULL;
        int has_account = cJSON_IsString(a) && a->valuestring[0];
        const char *w = !o                   ? "not valid JSON"
                        : !cJSON_IsObject(o) ? "not a JSON object"
                        : !cJSON_IsString(t) ? "no \"text\" string"
                        : condition && !has_account
                            ? "no \"account\" string, which train.condition needs"
                            : NULL;
        if (!w) {
            d->text[i] = doc_text(t->valuestring, has_account ? a->valuestring : "",
                                  tp ? tp->name[d->topic[i]] : NULL, condition, &d->len[i]);
            d->account[i] = has_account ? strdup(a->valuestring) : NULL;
            if (!d->text[i] || (has_account && !d->account[i])) w = "out of memory";
        }
        if (w) {
#pragma omp critical(elm_tokenize_bad)
            if (i < bad) bad = i, why = w;
        }
        cJSON_Delete(o);
    }
    d->n = k;
    int rc = 0;
    if (bad != SIZE_MAX)
        rc = elm_err(err, "%s:%zu: %s", path, lno[bad], why);
    else if (k == 0)
        rc = elm_err(err, "%s: no documents", path);
    for (size_t i = 0; i < k; i++) d->bytes += d->len[i];
    free(data), free(line), free(llen), free(lno);
    if (rc) docs_free(d);
    return rc;
}

// Marks round(fraction * n) documents as validation (at least 1 when fraction > 0 and n >= 2,
// always leaving one for training), chosen by a seeded shuffle.
static size_t choose_val(size_t n, double fraction, uint64_t seed, unsigned char *is_val) {
    size_t n_val = (size_t)llround(fraction * (double)n);
    if (fraction > 0 && n_val == 0 && n >= 2) n_val = 1;
    if (n_val >= n) n_val = n ? n - 1 : 0;
    size_t *perm = malloc((n ? n : 1) * sizeof *perm);
    memset(is_val, 0, n);
    if (!perm) return (size_t)-1;
    for (size_t i = 0; i < n; i++) perm[i] = i;
    uint64_t s = seed ^ 0x746F6B656E697A65ull; // "tokenize"
    for (size_t i = 0; i < n_val; i++) {
        size_t j = i + (size_t)(elm_rng_next(&s) % (n - i));
        size_t t = perm[i];
        perm[i] = perm[j], perm[j] = t;
        is_val[perm[i]] = 1;
    }
    free(perm);
    return n_val;
}

// Concatenates the documents of one split, each preceded by <|endoftext|>.
static int32_t *gather(const int32_t *ids, const size_t *off, const unsigned char *is_val,
                       size_t n_docs, int want_val, int32_t eot, size_t *n_out) {
    size_t n = 0;
    for (size_t d = 0; d < n_docs; d++)
        if (is_val[d] == want_val) n += 1 + off[d + 1] - off[d];
    int32_t *out = malloc((n ? n : 1) * sizeof *out);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t d = 0; d < n_docs; d++) {
        if (is_val[d] != want_val) continue;
        out[o++] = eot;
        memcpy(out + o, ids + off[d], (off[d + 1] - off[d]) * sizeof *out);
        o += off[d + 1] - off[d];
    }
    *n_out = n;
    return out;
}

// One `elm tokenize` run: the documents, the split, the vocabulary and the tokens.
typedef struct Tokenize {
    Docs docs;
    unsigned char *is_val; // (docs.n) 1 for a validation document
    size_t n_val;
    ElmBpeTrainInfo info; // when the vocabulary is trained
    ElmBpe *bpe;
    int32_t eot;
    int32_t *ids;     // every document's tokens
    size_t *off;      // (docs.n + 1) document d: ids[off[d] .. off[d + 1])
    int32_t *tr, *va; // the train and val streams, documents separated by eot
    size_t n_tr, n_va;
} Tokenize;

// The vocabulary learnt from the training documents only, written to dir.
static int train_vocab(const ElmRun *run, Tokenize *T, const char *dir, ElmError *err) {
    const Docs *docs = &T->docs;
    const char **tt = elm_malloc(docs->n * sizeof *tt, err);
    size_t *tl = tt ? elm_malloc(docs->n * sizeof *tl, err) : NULL, k = 0;
    if (!tt || !tl) {
        free(tt), free(tl);
        return -1;
    }
    for (size_t i = 0; i < docs->n; i++)
        if (!T->is_val[i]) tt[k] = docs->text[i], tl[k] = docs->len[i], k++;
    int trc = elm_bpe_train(tt, tl, k, (int)elm_cfg_int(&run->cfg, "tokenizer.vocab_size"),
                            run->threads, run->quiet, dir, &T->info, err);
    free(tt), free(tl);
    return trc;
}

// Every document encoded on all threads, then gathered into the train and val streams.
static int encode(const ElmRun *run, Tokenize *T, const char *dir, int special, ElmError *err) {
    const Docs *docs = &T->docs;
    if (!(T->bpe = elm_bpe_load_dir(dir, err))) return -1;
    T->eot = elm_bpe_eot(T->bpe);
    if (T->eot < 0)
        return elm_err(err, "%s: the vocabulary has no <|endoftext|> token to separate documents",
                       dir);
    ElmProgress prog;
    elm_progress_start(&prog, "tokenize", "bytes", docs->bytes, run->quiet);
    if (elm_bpe_encode_docs(T->bpe, (const char *const *)docs->text, docs->len, docs->n, special,
                            run->threads, &prog, &T->ids, &T->off, err))
        return -1;
    elm_progress_finish(&prog);
    T->tr = gather(T->ids, T->off, T->is_val, docs->n, 0, T->eot, &T->n_tr);
    T->va = gather(T->ids, T->off, T->is_val, docs->n, 1, T->eot, &T->n_va);
    if (!T->tr || !T->va) return elm_err(err, "out of memory");
    return 0;
}

// The bytes of a document's control header: up to and including the first ": " (tokenize
// wrote it there, doc_text); 0 without conditioning.
static size_t header_len(const char *text, int condition) {
    const char *c = condition ? strstr(text, ": ") : NULL;
    return c ? (size_t)(c - text) + 2 : 0;
}

// The loss mask of one split, beside its stream: 1 for a token of a control header (one that
// ends within the header's bytes; the space after ':' usually starts the text's first token and
// stays a target), 0 for eot and the text. NULL when out of memory.
static unsigned char *split_mask(const Tokenize *T, int condition, int want_val, size_t n) {
    unsigned char *m = calloc(n ? n : 1, 1);
    if (!m) return NULL;
    size_t o = 0;
    for (size_t d = 0; d < T->docs.n; d++) {
        if (T->is_val[d] != want_val) continue;
        o++; // eot
        size_t h = header_len(T->docs.text[d], condition), end = 0;
        for (size_t i = T->off[d]; i < T->off[d + 1]; i++, o++) {
            size_t len = 0;
            elm_bpe_token_bytes(T->bpe, T->ids[i], &len);
            end += len;
            m[o] = end <= h;
        }
    }
    return m;
}

// tokens/train.mask and tokens/val.mask (one byte a token, split_mask) when documents carry a
// control header: what [train] header_loss = off leaves out of the loss.
static int write_masks(const ElmRun *run, const Tokenize *T, int condition, ElmError *err) {
    char path[4096];
    if (!condition) { // no header: a mask of an earlier run would not line up
        elm_run_path(run, "tokens/train.mask", path, sizeof path);
        remove(path);
        elm_run_path(run, "tokens/val.mask", path, sizeof path);
        remove(path);
        return 0;
    }
    unsigned char *mt = split_mask(T, condition, 0, T->n_tr);
    unsigned char *mv = split_mask(T, condition, 1, T->n_va);
    int rc = !mt || !mv ? elm_err(err, "out of memory") : 0;
    elm_run_path(run, "tokens/train.mask", path, sizeof path);
    if (!rc) rc = elm_write_file_atomic(path, mt, T->n_tr, err);
    elm_run_path(run, "tokens/val.mask", path, sizeof path);
    if (!rc) rc = elm_write_file_atomic(path, mv, T->n_va, err);
    free(mt), free(mv);
    return rc;
}

// tokens/train.bin and tokens/val.bin.
static int write_shards(const ElmRun *run, const Tokenize *T, ElmError *err) {
    char path[4096];
    uint32_t vs = (uint32_t)elm_bpe_vocab_size(T->bpe);
    elm_run_path(run, "tokens", path, sizeof path);
    if (elm_mkdirs(path, err)) return -1;
    elm_run_path(run, "tokens/train.bin", path, sizeof path);
    if (elm_shard_write(path, T->tr, T->n_tr, vs, (uint32_t)T->eot, T->docs.n - T->n_val, err))
        return -1;
    elm_run_path(run, "tokens/val.bin", path, sizeof path);
    return elm_shard_write(path, T->va, T->n_va, vs, (uint32_t)T->eot, T->n_val, err);
}

// tokens.json's "topics" (documents per topic, every topic by id order) and "pairs" (documents
// per account and topic): what `[generate] topics` may ask for and the data's joint mix.
static void topics_json(cJSON *j, const Tokenize *T, const ElmTokenizeTopics *tp) {
    cJSON *jt = cJSON_AddObjectToObject(j, "topics"), *jp = cJSON_AddObjectToObject(j, "pairs");
    for (int t = 0; t < tp->k; t++) cJSON_AddNumberToObject(jt, tp->name[t], 0);
    for (size_t i = 0; i < T->docs.n; i++) {
        const char *name = tp->name[T->docs.topic[i]];
        cJSON *c = cJSON_GetObjectItemCaseSensitive(jt, name);
        cJSON_SetNumberValue(c, c->valuedouble + 1);
        cJSON *pa = cJSON_GetObjectItemCaseSensitive(jp, T->docs.account[i]);
        if (!pa) {
            pa = cJSON_AddObjectToObject(jp, T->docs.account[i]);
            for (int t = 0; t < tp->k; t++) cJSON_AddNumberToObject(pa, tp->name[t], 0);
        }
        c = cJSON_GetObjectItemCaseSensitive(pa, name);
        cJSON_SetNumberValue(c, c->valuedouble + 1);
    }
}

// tokens.json's "condition" and, when documents carry a header, "accounts": each account's
// document count (what `[generate] accounts` may ask for).
static void accounts_json(cJSON *j, const Tokenize *T, int condition, const ElmTokenizeTopics *tp) {
    static const char *const names[] = {"none", "account", "account+topic"};
    cJSON_AddStringToObject(j, "condition", names[condition]);
    if (!condition) return;
    cJSON *ja = cJSON_AddObjectToObject(j, "accounts");
    for (size_t i = 0; i < T->docs.n; i++) {
        cJSON *c = cJSON_GetObjectItemCaseSensitive(ja, T->docs.account[i]);
        if (c)
            cJSON_SetNumberValue(c, c->valuedouble + 1);
        else
            cJSON_AddNumberToObject(ja, T->docs.account[i], 1);
    }
    if (tp) topics_json(j, T, tp);
}

// tokens.json: the vocabulary, the split and the token counts.
static cJSON *tokens_json(const ElmRun *run, const Tokenize *T, const char *dir, int train,
                          int special, int condition, const ElmTokenizeTopics *tp,
                          double val_fraction, double t0) {
    const Docs *docs = &T->docs;
    uint32_t vs = (uint32_t)elm_bpe_vocab_size(T->bpe);
    uint64_t text_tokens = T->off[docs->n];
    cJSON *j = cJSON_CreateObject(), *jd, *jt;
    cJSON_AddStringToObject(j, "vocab", dir);
    cJSON_AddBoolToObject(j, "trained", train);
    cJSON_AddNumberToObject(j, "vocab_size", vs);
    cJSON_AddNumberToObject(j, "eot", T->eot);
    cJSON_AddNumberToObject(j, "dtype_bytes", vs <= 65536 ? 2 : 4);
    cJSON_AddItemToObject(j, "docs", jd = cJSON_CreateObject());
    cJSON_AddNumberToObject(jd, "train", (double)(docs->n - T->n_val));
    cJSON_AddNumberToObject(jd, "val", (double)T->n_val);
    cJSON_AddItemToObject(j, "tokens", jt = cJSON_CreateObject());
    cJSON_AddNumberToObject(jt, "train", (double)T->n_tr);
    cJSON_AddNumberToObject(jt, "val", (double)T->n_va);
    cJSON_AddNumberToObject(j, "text_bytes", (double)docs->bytes);
    cJSON_AddNumberToObject(j, "text_tokens", (double)text_tokens);
    cJSON_AddNumberToObject(j, "bytes_per_token",
                            text_tokens ? (double)docs->bytes / (double)text_tokens : 0);
    cJSON_AddNumberToObject(j, "val_fraction", val_fraction);
    cJSON_AddNumberToObject(j, "seed", (double)run->seed);
    cJSON_AddBoolToObject(j, "allow_special", special);
    accounts_json(j, T, condition, tp);
    if (train) {
        cJSON_AddNumberToObject(j, "train_merges", T->info.n_merges);
        cJSON_AddNumberToObject(j, "train_seconds", T->info.seconds);
    }
    cJSON_AddNumberToObject(j, "threads", run->threads);
    cJSON_AddNumberToObject(j, "seconds", elm_now() - t0);
    return j;
}

// The JSON, pretty-printed with a final newline, to tokens.json.
static int write_json(const ElmRun *run, cJSON *j, ElmError *err) {
    char path[4096];
    char *txt = cJSON_Print(j);
    cJSON_Delete(j);
    elm_run_path(run, "tokens.json", path, sizeof path);
    size_t tl = txt ? strlen(txt) : 0;
    if (txt) txt[tl] = '\n';
    int rc = txt ? elm_write_file_atomic(path, txt, tl + 1, err) : elm_err(err, "out of memory");
    free(txt);
    return rc;
}

int elm_tokenize_run(ElmRun *run, ElmError *err) {
    double t0 = elm_now();
    const ElmConfig *cfg = &run->cfg;
    char clean[4096], dir[4096];
    elm_run_path(run, "clean.jsonl", clean, sizeof clean);
    if (elm_tokenize_vocab_dir(run, dir, sizeof dir, err)) return -1;
    int train = elm_cfg_bool(cfg, "tokenizer.train");
    int special = elm_cfg_bool(cfg, "tokenizer.allow_special");
    double val_fraction = elm_cfg_float(cfg, "tokenizer.val_fraction");
    int condition = elm_cfg_enum(cfg, "train.condition");
    Tokenize T = {0};
    ElmTokenizeTopics tp = {0};
    if (condition == 2 && elm_tokenize_topics_load(run, &tp, err)) return -1;
    int rc = -1;
    if (read_docs(clean, run->threads, condition, condition == 2 ? &tp : NULL, &T.docs, err))
        goto out;
    if (!(T.is_val = elm_malloc(T.docs.n, err))) goto out;
    T.n_val = choose_val(T.docs.n, val_fraction, run->seed, T.is_val);
    if (T.n_val == (size_t)-1) {
        elm_err(err, "out of memory");
        goto out;
    }
    if (train && train_vocab(run, &T, dir, err)) goto out;
    if (encode(run, &T, dir, special, err) || write_shards(run, &T, err) ||
        write_masks(run, &T, condition, err))
        goto out;
    rc = write_json(run,
                    tokens_json(run, &T, dir, train, special, condition,
                                condition == 2 ? &tp : NULL, val_fraction, t0),
                    err);
out:
    elm_tokenize_topics_free(&tp);
    docs_free(&T.docs);
    free(T.is_val), free(T.ids), free(T.off), free(T.tr), free(T.va);
    elm_bpe_free(T.bpe);
    return rc;
}
