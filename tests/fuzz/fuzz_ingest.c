// fuzz_ingest.c — libFuzzer harness for the ingest readers (CSV, tweets.js, JSON, JSONL, text).
// Built by tests/fuzz/build.sh; detects the input's format and runs the matching reader.
//
// The real sink (elm_ingest_emit of ingest.c: UTF-8 repair, filters, de-duplication, the JSON
// writer) runs behind a check of every post: each string is read byte by byte over its stated
// length, so ASan catches a length that runs past the reader's buffer.
#define elm_ingest_emit elm_ingest_emit_real
#include "engine/data/ingest.c"
#undef elm_ingest_emit

#include <assert.h>

static void touch(const char *s, size_t n) {
    if (!s) {
        assert(n == 0);
        return;
    }
    volatile unsigned sum = 0;
    for (size_t i = 0; i < n; i++) sum += (unsigned char)s[i];
    (void)sum;
}

int elm_ingest_emit(ElmIngestSink *k, const ElmRawPost *p, ElmError *err) {
    touch(p->id, p->id_len);
    touch(p->account, p->account_len);
    touch(p->created_at, p->created_len);
    touch(p->text, p->text_len);
    touch(p->lang, p->lang_len);
    assert(p->line >= 1);
    assert(p->is_retweet >= -1 && p->is_retweet <= 1 && p->is_reply >= -1 && p->is_reply <= 1);
    return elm_ingest_emit_real(k, p, err);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    static FILE *devnull;
    if (!devnull) devnull = fopen("/dev/null", "w");
    // the readers take a NUL-terminated buffer, as elm_read_file gives them
    char *d = malloc(size + 1);
    if (!d) return 0;
    memcpy(d, data, size);
    d[size] = '\0';
    ElmIngestSink k;
    memset(&k, 0, sizeof k);
    k.last_acc = -1;
    // the settings vary with the input, so every filter and UTF-8 mode is reached
    unsigned h = size ? (unsigned char)data[size - 1] : 0;
    k.drop_retweets = h & 1, k.drop_replies = (h >> 1) & 1;
    k.dedupe_ids = (h >> 2) & 1, k.dedupe_text = (h >> 3) & 1;
    k.utf8_mode = (int)((h >> 4) % 3);
    char *langs[] = {"en", "fr"};
    k.langs = (h >> 6) & 1 ? langs : NULL, k.n_langs = (h >> 6) & 1 ? 2 : 0;
    k.path = "fuzz.in", k.stem = "fuzz", k.account = (h >> 7) ? "forced" : NULL;
    k.out = devnull;
    elm_progress_start(&k.progress, "ingest", "posts", 0, 1);
    ElmError err;
    ElmIngestFormat fmt = elm_ingest_detect(d, size);
    int rc;
    if (fmt == ELM_FMT_CSV)
        rc = elm_ingest_read_csv(k.path, d, size, &k, &err);
    else if (fmt == ELM_FMT_TEXT)
        rc = elm_ingest_read_text(k.path, d, size, &k, &err);
    else
        rc = elm_ingest_read_json(k.path, d, size, fmt, &k, &err);
    // an error names the file and a line
    if (rc) assert(strncmp(err.msg, "fuzz.in", 7) == 0);
    sink_free_state(&k);
    free(d);
    return 0;
}
