// test_shard.c — token shards round-trip for random ids in both dtypes, and lying headers,
// truncation and bad ids are refused with the file named.
#include "elmtest.h"
#include "tokenizer/shard.h"

#include <string.h>
#include <unistd.h>

int main(void) {
    char path[] = "/tmp/elm-shard-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    ElmError e = {{0}};
    srand(11);
    uint32_t vocabs[] = {50257, 65536, 65537, 100000, 17};
    for (int v = 0; v < 5; v++) {
        size_t n = (size_t)(rand() % 5000);
        int32_t *ids = malloc(sizeof(int32_t) * (n + 1));
        for (size_t i = 0; i < n; i++) ids[i] = (int32_t)((uint32_t)rand() % vocabs[v]);
        CHECK(elm_shard_write(path, ids, n, vocabs[v], vocabs[v] - 1, 3, &e) == 0, "%s", e.msg);
        ElmShardHeader h;
        int32_t *back = NULL;
        CHECK(elm_shard_read(path, &h, &back, &e) == 0, "%s", e.msg);
        CHECK(h.n_tokens == n && h.vocab_size == vocabs[v] && h.n_docs == 3, "header");
        CHECK(h.dtype_bytes == (vocabs[v] <= 65536 ? 2u : 4u), "dtype %u", h.dtype_bytes);
        CHECK(back && memcmp(back, ids, n * sizeof(int32_t)) == 0, "ids differ");
        free(back);
        free(ids);
    }
    int32_t ids[4] = {1, 2, 3, 4};
    CHECK(elm_shard_write(path, ids, 4, 4, 0, 1, &e) != 0 && strstr(e.msg, "outside"), "bad id");
    CHECK(elm_shard_write(path, ids, 4, 10, 0, 1, &e) == 0, "%s", e.msg);
    // Lie about the count: the header says 5 tokens, the file holds 4.
    FILE *f = fopen(path, "r+b");
    unsigned char five[8] = {5};
    fseek(f, 24, SEEK_SET);
    fwrite(five, 1, 8, f);
    fclose(f);
    ElmShardHeader h;
    int32_t *back = NULL;
    CHECK(elm_shard_read(path, &h, &back, &e) != 0 && strstr(e.msg, path) &&
              strstr(e.msg, "header says 5 tokens"),
          "%s", e.msg);
    // Wrong magic, and a truncated header.
    f = fopen(path, "r+b");
    fwrite("NOTATOK", 1, 7, f);
    fclose(f);
    CHECK(elm_shard_read(path, &h, &back, &e) != 0 && strstr(e.msg, "bad magic"), "%s", e.msg);
    CHECK(truncate(path, 10) == 0, "truncate");
    CHECK(elm_shard_read(path, &h, &back, &e) != 0 && strstr(e.msg, "shorter"), "%s", e.msg);
    // Found by tests/fuzz/fuzz_state: a vocab_size past 2^31 let an id such as 0xC4504C45 pass
    // the range check and come back as a negative int32. The fuzzer's input, 72 bytes.
    static const unsigned char big_vocab[72] = {
        'E',  'L', 'M', 'T', 'O', 'K', '1', 0,   1,   0,   0,   0,   0x51, 0xC4, 0x00,
        0xE3, 4,   0,   0,   0,   0,   0,   0,   0,   2,   0,   0,   0,    0,    0,
        0,    0,   2,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,    0,    0,
        0,    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,    0,    0x20,
        0,    0,   'E', 'L', 'M', 'S', 'E', 'L', 'E', 'L', 'P', 0xC4};
    f = fopen(path, "wb");
    fwrite(big_vocab, 1, sizeof big_vocab, f);
    fclose(f);
    back = NULL;
    CHECK(elm_shard_read(path, &h, &back, &e) != 0 && !back && strstr(e.msg, path) &&
              strstr(e.msg, "vocab_size past 2^31"),
          "%s", e.msg);
    CHECK(elm_shard_write(path, ids, 4, 0x80000001u, 0, 1, &e) != 0 && strstr(e.msg, "vocab_size"),
          "writer: vocab past 2^31");
    unlink(path);
    ELM_TEST_DONE();
}
