// test_bpe.c — the BPE library on GPT-2's vocabulary: the heap merge equals the simple scan on
// long random pieces; encoding from several threads at once (one-shot and per-thread workers,
// and the corpus encoder with 1 vs 3 threads) gives the single-thread ids; any bytes round-trip
// exactly (random bytes, huge whitespace/letter runs); decode refuses ids out of range.
#include "elmtest.h"
#include "tokenizer/bpe.h"
#include "tokenizer/bpe_corpus.h"
#include "tokenizer/pretok.h"

#include <string.h>

static uint64_t rng(uint64_t *s) {
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

// Random text: ASCII words, punctuation, whitespace of all kinds, a few multi-byte characters
// and, when `raw`, arbitrary bytes.
static size_t random_text(uint64_t *s, char *out, size_t max, int raw) {
    static const char *bits[] = {" the",
                                 "s",
                                 "'s",
                                 "'LL",
                                 "  ",
                                 "\t",
                                 "\r\n",
                                 "\xc2\xa0",
                                 "\xe3\x80\x80",
                                 "!!",
                                 "?",
                                 "123",
                                 " 4567",
                                 "\xf0\x9f\x98\x82",
                                 "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd",
                                 "\xe2\x80\x8d",
                                 "caf\xc3\xa9",
                                 "\xe4\xb8\xad\xe6\x96\x87",
                                 "\xd8\xa7\xd9\x84",
                                 " x",
                                 "Zz"};
    size_t n = 0, want = 1 + rng(s) % max;
    while (n < want) {
        if (raw && rng(s) % 4 == 0) {
            out[n++] = (char)(rng(s) & 0xFF);
            continue;
        }
        const char *b = bits[rng(s) % (sizeof bits / sizeof *bits)];
        size_t l = strlen(b);
        if (n + l > max) break;
        memcpy(out + n, b, l), n += l;
    }
    return n;
}

static int count_piece(const char *p, size_t n, void *user) {
    (void)p, (void)n;
    ++*(size_t *)user;
    return 0;
}

static int roundtrip(const ElmBpe *b, const char *t, size_t n, int special) {
    int32_t *ids = NULL;
    size_t k = 0, cap = 0, m = 0;
    ElmError e = {{0}};
    int ok = elm_bpe_encode(b, t, n, special, &ids, &k, &cap, &e) == 0;
    char *back = ok ? elm_bpe_decode(b, ids, k, &m, &e) : NULL;
    ok = back && m == n && memcmp(back, t, n) == 0;
    free(ids), free(back);
    return ok;
}

int main(void) {
    const char *shared = elm_test_shared();
    if (!shared) return 1;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data/gpt2-vocab", shared);
    ElmError e = {{0}};
    ElmBpe *b = elm_bpe_load_dir(dir, &e);
    CHECK(b, "%s", e.msg);
    if (!b) ELM_TEST_DONE();
    CHECK(elm_bpe_vocab_size(b) == 50257 && elm_bpe_eot(b) == 50256, "vocab %d eot %d",
          elm_bpe_vocab_size(b), elm_bpe_eot(b));
    size_t len;
    const char *tb = elm_bpe_token_bytes(b, 220, &len);
    CHECK(tb && len == 1 && tb[0] == ' ', "token 220 is ' '");
    CHECK(elm_bpe_token_bytes(b, 50257, &len) == NULL && elm_bpe_token_bytes(b, -1, &len) == NULL,
          "ids out of range have no bytes");
    int32_t bad[2] = {15496, 50257};
    size_t m;
    CHECK(elm_bpe_decode(b, bad, 2, &m, &e) == NULL && strstr(e.msg, "50257"), "%s", e.msg);

    // Heap merge == scan merge, on long pieces of letters and of arbitrary bytes.
    uint64_t s = 88172645463325252ull;
    int32_t *o1 = malloc(4096 * sizeof *o1), *o2 = malloc(4096 * sizeof *o2);
    char piece[4096];
    int diff = 0;
    for (int it = 0; it < 1500; it++) {
        size_t n = 2 + rng(&s) % 700;
        for (size_t i = 0; i < n; i++)
            piece[i] = it % 3 ? "etaoinshrdlu"[rng(&s) % 12] : (char)(rng(&s) & 0xFF);
        size_t k1 = elm_bpe_merge_piece(b, piece, n, 0, o1);
        size_t k2 = elm_bpe_merge_piece(b, piece, n, 1, o2);
        diff += k1 != k2 || memcmp(o1, o2, k1 * sizeof *o1) != 0;
    }
    CHECK(diff == 0, "heap and scan merges differ on %d pieces", diff);
    free(o1), free(o2);

    // Many texts, encoded single-threaded as the reference.
    enum { N = 3000 };
    static char buf[N][400];
    const char *texts[N];
    size_t lens[N];
    int32_t *ref[N];
    size_t nref[N];
    for (int i = 0; i < N; i++) {
        lens[i] = random_text(&s, buf[i], sizeof buf[i], i % 5 == 0);
        texts[i] = buf[i];
        size_t cap = 0;
        ref[i] = NULL, nref[i] = 0;
        CHECK(elm_bpe_encode(b, texts[i], lens[i], 0, &ref[i], &nref[i], &cap, &e) == 0, "%s",
              e.msg);
    }
    int mism = 0, rt = 0;
#pragma omp parallel for num_threads(4) schedule(dynamic, 7) reduction(+ : mism, rt)
    for (int i = 0; i < N; i++) {
        int32_t *ids = NULL;
        size_t k = 0, cap = 0;
        ElmError e2 = {{0}};
        elm_bpe_encode(b, texts[i], lens[i], 0, &ids, &k, &cap, &e2);
        mism += k != nref[i] || memcmp(ids, ref[i], k * sizeof *ids) != 0;
        rt += !roundtrip(b, texts[i], lens[i], i % 2);
        free(ids);
    }
    CHECK(mism == 0, "%d texts encode differently on 4 threads", mism);
    CHECK(rt == 0, "%d texts do not round-trip", rt);
    for (int threads = 1; threads <= 3; threads += 2) {
        int32_t *ids;
        size_t *off;
        CHECK(elm_bpe_encode_docs(b, texts, lens, N, 0, threads, NULL, &ids, &off, &e) == 0, "%s",
              e.msg);
        int bad_docs = 0;
        for (int i = 0; i < N; i++)
            bad_docs += off[i + 1] - off[i] != nref[i] ||
                        memcmp(ids + off[i], ref[i], nref[i] * sizeof *ids) != 0;
        CHECK(bad_docs == 0, "corpus encoder (%d threads): %d documents differ", threads, bad_docs);
        free(ids), free(off);
    }
    for (int i = 0; i < N; i++) free(ref[i]);

    // A long whitespace run: \s+(?!\S) backtracks one character, whatever the run's length.
    {
        ElmPretok pt;
        ElmPretokState st;
        CHECK(elm_pretok_init(&pt, &e) == 0 && elm_pretok_state_init(&pt, &st, &e) == 0, "%s",
              e.msg);
        size_t ws = 200000, pieces = 0;
        char *t = malloc(ws + 1);
        memset(t, ' ', ws);
        t[ws] = 'x';
        CHECK(elm_pretok_split(&pt, &st, t, ws + 1, count_piece, &pieces, &e) == 0, "%s", e.msg);
        CHECK(pieces == 2, "%zu pieces for spaces + x", pieces);
        free(t);
        elm_pretok_state_free(&st);
        elm_pretok_free(&pt);
    }

    // Huge pieces: long whitespace runs (the lookahead backtracks), one long word, random bytes.
    size_t big = 3 << 20;
    char *t = malloc(big);
    memset(t, ' ', big);
    CHECK(roundtrip(b, t, big, 0), "3 MB of spaces");
    memset(t, '\n', big / 2);
    t[big - 1] = 'x';
    CHECK(roundtrip(b, t, big, 0), "newlines, spaces, then a letter");
    memset(t, 'a', big);
    CHECK(roundtrip(b, t, 1 << 20, 0), "1 MB word");
    for (size_t i = 0; i < big; i++) t[i] = (char)(rng(&s) & 0xFF);
    CHECK(roundtrip(b, t, big, 1), "3 MB of random bytes");
    free(t);
    elm_bpe_free(b);
    ELM_TEST_DONE();
}
