// cmd_tokenize.c — `elm tokenize`: token shards from <run>/clean.jsonl, or encode/decode texts
// with a vocabulary for humans and scripts. Registered in commands.c.
#include "engine/app/cli.h"
#include "engine/base/fsutil.h"
#include "engine/base/buf.h"
#include "tokenizer/bpe.h"
#include "tokenizer/bpe_corpus.h"
#include "tokenizer/shard.h"
#include "tokenizer/tokenize.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

// Appends ids as one line of decimal numbers; -1 when out of memory.
static int buf_ids(ElmBuf *b, const int32_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++) elm_buf_printf(b, i ? " %d" : "%d", ids[i]);
    elm_buf_append(b, "\n", 1);
    return b->oom ? -1 : 0;
}

// Writes the output, built in memory, to stdout and frees it.
static int flush_stdout(ElmBuf *b, ElmError *err) {
    int ok = fwrite(b->data, 1, b->len, stdout) == b->len && fflush(stdout) == 0;
    elm_buf_free(b);
    return ok ? 0 : elm_err(err, "writing to stdout failed");
}

// Reads "12 7 1003" (spaces, tabs or commas between) into ids; `where` names the source.
static int parse_ids(const char *s, size_t n, int32_t **ids, size_t *n_ids, const char *where,
                     ElmError *err) {
    size_t cap = 16, k = 0;
    int32_t *out = elm_malloc(cap * sizeof *out, err);
    if (!out) return -1;
    for (size_t i = 0; i < n;) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == ',' || s[i] == '\r') {
            i++;
            continue;
        }
        long long v = 0;
        size_t j = i;
        while (j < n && s[j] >= '0' && s[j] <= '9' && v <= 0x7FFFFFFF) v = v * 10 + (s[j++] - '0');
        if (j == i || v > 0x7FFFFFFF ||
            (j < n && s[j] != ' ' && s[j] != '\t' && s[j] != ',' && s[j] != '\r')) {
            free(out);
            size_t e = i;
            while (e < n && s[e] != ' ' && s[e] != ',' && s[e] != '\t') e++;
            return elm_err(err, "%s: '%.*s' is not a token id", where,
                           (int)(e - i > 40 ? 40 : e - i), s + i);
        }
        if (k == cap) {
            int32_t *p = elm_realloc(out, (cap *= 2) * sizeof *out, err);
            if (!p) return free(out), -1;
            out = p;
        }
        out[k++] = (int32_t)v;
        i = j;
    }
    *ids = out;
    *n_ids = k;
    return 0;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// --batch FILE: one hex-encoded string per line -> one line of ids per string, encoded on all
// threads (binary-safe, so any bytes and newlines can be tested through it).
static int encode_batch(const ElmBpe *bpe, const char *path, int special, ElmError *err) {
    char *data;
    size_t n;
    if (elm_read_file(path, &data, &n, err)) return -1;
    size_t n_lines = 0;
    for (size_t i = 0; i < n; i++) n_lines += data[i] == '\n';
    if (n && data[n - 1] != '\n') n_lines++;
    const char **texts = elm_malloc((n_lines + 1) * sizeof *texts, err);
    size_t *lens = elm_malloc((n_lines + 1) * sizeof *lens, err);
    if (!texts || !lens) {
        free(data), free(texts), free(lens);
        return -1;
    }
    // Decode hex in place: each line's bytes overwrite its first half.
    size_t line = 0;
    for (char *p = data, *end = data + n; p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        size_t len = (size_t)(e - p);
        if (len && p[len - 1] == '\r') len--;
        if (len % 2) {
            free(data), free(texts), free(lens);
            return elm_err(err, "%s:%zu: odd number of hex digits", path, line + 1);
        }
        for (size_t i = 0; i < len; i += 2) {
            int hi = hexval((unsigned char)p[i]), lo = hexval((unsigned char)p[i + 1]);
            if (hi < 0 || lo < 0) {
                elm_err(err, "%s:%zu: not hex: '%c%c'", path, line + 1, p[i], p[i + 1]);
                free(data), free(texts), free(lens);
                return -1;
            }
            p[i / 2] = (char)(hi * 16 + lo);
        }
        texts[line] = p;
        lens[line] = len / 2;
        p = nl ? nl + 1 : end;
    }
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    int32_t *ids;
    size_t *off;
    int rc = elm_bpe_encode_docs(bpe, texts, lens, line, special, threads, NULL, &ids, &off, err);
    if (!rc) {
        ElmBuf out = {0};
        for (size_t i = 0; !rc && i < line; i++)
            if (buf_ids(&out, ids + off[i], off[i + 1] - off[i]))
                rc = elm_err(err, "out of memory");
        rc = rc ? (elm_buf_free(&out), -1) : flush_stdout(&out, err);
        free(ids), free(off);
    }
    free(data), free(texts), free(lens);
    return rc;
}

// --decode-batch FILE: one line of ids per string -> the decoded bytes of each line, hex.
static int decode_batch(const ElmBpe *bpe, const char *path, ElmError *err) {
    char *data;
    size_t n;
    if (elm_read_file(path, &data, &n, err)) return -1;
    ElmBuf out = {0};
    size_t line = 0;
    int rc = 0;
    for (char *p = data, *end = data + n; !rc && p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        char where[4200];
        snprintf(where, sizeof where, "%s:%zu", path, ++line);
        int32_t *ids;
        size_t k, m;
        if (parse_ids(p, (size_t)(e - p), &ids, &k, where, err)) {
            rc = -1;
            break;
        }
        char *text = elm_bpe_decode(bpe, ids, k, &m, err);
        free(ids);
        if (!text) {
            elm_err_prefix(err, "%s", where);
            rc = -1;
            break;
        }
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; !rc && i < m; i++) {
            char h[2] = {hex[(unsigned char)text[i] >> 4], hex[(unsigned char)text[i] & 15]};
            elm_buf_append(&out, h, 2);
            if (out.oom) rc = elm_err(err, "out of memory");
        }
        free(text);
        if (!rc) elm_buf_append(&out, "\n", 1);
        if (!rc && out.oom) rc = elm_err(err, "out of memory");
        p = nl ? nl + 1 : end;
    }
    free(data);
    if (rc) {
        elm_buf_free(&out);
        return -1;
    }
    return flush_stdout(&out, err);
}

// --shard FILE: checks a token shard and prints its header.
static int show_shard(const char *path, ElmError *err) {
    ElmShardHeader h;
    int32_t *ids;
    if (elm_shard_read(path, &h, &ids, err)) return -1;
    free(ids);
    printf("%s: %llu tokens, %llu documents, vocab %u, uint%u ids, eot %d\n", path,
           (unsigned long long)h.n_tokens, (unsigned long long)h.n_docs, h.vocab_size,
           8 * h.dtype_bytes, h.eot == 0xFFFFFFFFu ? -1 : (int)h.eot);
    return 0;
}

static int run_tokenize(const ElmCli *cli, ElmError *err) {
    const char *shard = elm_cli_opt(cli, "--shard");
    if (shard) return show_shard(shard, err);
    const char *vocab = elm_cli_opt(cli, "--vocab"), *enc = elm_cli_opt(cli, "--encode");
    const char *dec = elm_cli_opt(cli, "--decode"), *batch = elm_cli_opt(cli, "--batch");
    const char *dbatch = elm_cli_opt(cli, "--decode-batch");
    int special = elm_cli_opt(cli, "--special") != NULL;
    if (!enc && !dec && !batch && !dbatch) {
        if (vocab || special)
            return elm_err(err, "--vocab and --special go with --encode, --decode, --batch or "
                                "--decode-batch");
        ElmRun run;
        if (elm_cli_open_run_writer(cli, &run, err)) return -1;
        int rc = elm_tokenize_run(&run, err);
        elm_run_close(&run);
        return rc;
    }
    char dir[4096];
    if (vocab) {
        snprintf(dir, sizeof dir, "%s", vocab);
    } else {
        if (cli->n_pos == 0)
            return elm_err(err, "give --vocab DIR (a folder with encoder.json and vocab.bpe) or "
                                "a CONFIG.ini");
        ElmRun run;
        if (elm_cli_open_run(cli, &run, 1, err)) return -1;
        int rc = elm_tokenize_vocab_dir(&run, dir, sizeof dir, err);
        elm_run_close(&run);
        if (rc) return -1;
    }
    ElmBpe *bpe = elm_bpe_load_dir(dir, err);
    if (!bpe) return -1;
    int rc = 0;
    if (enc) {
        int32_t *ids = NULL;
        size_t n = 0, cap = 0;
        ElmBuf out = {0};
        rc = elm_bpe_encode(bpe, enc, strlen(enc), special, &ids, &n, &cap, err);
        if (!rc)
            rc = buf_ids(&out, ids, n) ? elm_err(err, "out of memory") : flush_stdout(&out, err);
        free(ids);
    }
    if (!rc && dec) {
        int32_t *ids;
        size_t n, m;
        rc = parse_ids(dec, strlen(dec), &ids, &n, "--decode", err);
        char *text = rc ? NULL : elm_bpe_decode(bpe, ids, n, &m, err);
        if (!rc) free(ids);
        if (!text) {
            rc = -1;
        } else {
            ElmBuf out = {0};
            elm_buf_append(&out, text, m);
            elm_buf_append(&out, "\n", 1);
            rc = out.oom ? elm_err(err, "out of memory") : flush_stdout(&out, err);
            free(text);
        }
    }
    if (!rc && batch) rc = encode_batch(bpe, batch, special, err);
    if (!rc && dbatch) rc = decode_batch(bpe, dbatch, err);
    elm_bpe_free(bpe);
    return rc;
}

const ElmCommand elm_cmd_tokenize = {
    .name = "tokenize",
    .summary = "GPT-2 BPE: token shards, encode/decode, vocabulary training",
    .usage =
        "usage: elm tokenize CONFIG.ini\n"
        "       elm tokenize --vocab DIR --encode TEXT [--special]\n"
        "       elm tokenize --vocab DIR --decode \"IDS\"\n"
        "       elm tokenize --vocab DIR --batch FILE [--special] | --decode-batch FILE\n"
        "       elm tokenize --shard FILE\n\n"
        "With a config: reads <run>/clean.jsonl (one {\"text\": ...} per line), splits the\n"
        "documents into train and validation sets with the run seed, encodes them on all\n"
        "threads and writes <run>/tokens/train.bin, <run>/tokens/val.bin (token shards, each\n"
        "document preceded by <|endoftext|>) and <run>/tokens.json (counts). With\n"
        "[tokenizer] train = true it first learns a vocabulary of vocab_size tokens into\n"
        "<run>/tokenizer/{encoder.json,vocab.bpe}.\n\n"
        "options:\n"
        "  --vocab DIR          folder with encoder.json + vocab.bpe (else the config's)\n"
        "  --encode TEXT        print the token ids of TEXT, space-separated\n"
        "  --decode IDS         print the text of the ids (space- or comma-separated)\n"
        "  --special            <|endoftext|> in TEXT is the special token, not plain text\n"
        "  --batch FILE         FILE holds one hex-encoded string per line; print one line of\n"
        "                       ids per string (binary-safe, for scripts and tests)\n"
        "  --decode-batch FILE  FILE holds one line of ids per string; print each decoded\n"
        "                       string hex-encoded on its own line\n"
        "  --shard FILE         check a token shard (tokens/*.bin) and print its header\n",
    .options = {"--vocab=", "--encode=", "--decode=", "--special",
                "--batch=", "--decode-batch=", "--shard=", NULL},
    .fn = run_tokenize,
};
