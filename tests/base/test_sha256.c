// test_sha256.c — elm_hash_sha256 against FIPS 180-4's examples (NIST's "abc", the 448-bit
// message, a million 'a') and itself: every split of a message into two updates, and random
// splits into many, give the one-update digest. With arguments (`test_sha256 FILE...`) it prints
// elm_hash_sha256_file of each file, one per line, for test_sha256_hashlib.py.
#include "elmtest.h"
#include "engine/base/hash.h"

#include <stdint.h>
#include <string.h>

static void hex_of(const unsigned char d[32], char out[65]) {
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void digest(const void *p, size_t n, char out[65]) {
    ElmSha256 s;
    unsigned char d[32];
    elm_hash_sha256_init(&s);
    elm_hash_sha256_update(&s, p, n);
    elm_hash_sha256_final(&s, d);
    hex_of(d, out);
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static int print_files(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        char hex[65];
        ElmError err;
        if (elm_hash_sha256_file(argv[i], hex, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        printf("%s\n", hex);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1) return print_files(argc, argv);
    static const struct {
        const char *msg;
        const char *want;
    } nist[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    char got[65];
    for (size_t i = 0; i < sizeof nist / sizeof nist[0]; i++) {
        digest(nist[i].msg, strlen(nist[i].msg), got);
        CHECK(strcmp(got, nist[i].want) == 0, "sha256(\"%s\") = %s", nist[i].msg, got);
    }
    enum { MILLION = 1000000 };
    char *a = malloc(MILLION);
    memset(a, 'a', MILLION);
    digest(a, MILLION, got);
    CHECK(strcmp(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0,
          "sha256(a million 'a') = %s", got);
    free(a);

    // Splits: every cut of a 200-byte message (lengths across the 55/56/64 padding edges), and
    // 200 random messages fed in random pieces.
    unsigned char msg[4096];
    for (size_t i = 0; i < sizeof msg; i++) msg[i] = (unsigned char)next();
    for (size_t n = 0; n <= 200; n++) {
        char want[65];
        digest(msg, n, want);
        for (size_t cut = 0; cut <= n; cut++) {
            ElmSha256 s;
            unsigned char d[32];
            elm_hash_sha256_init(&s);
            elm_hash_sha256_update(&s, msg, cut);
            elm_hash_sha256_update(&s, msg + cut, n - cut);
            elm_hash_sha256_final(&s, d);
            hex_of(d, got);
            if (strcmp(got, want) != 0) {
                CHECK(0, "length %zu cut at %zu: %s vs %s", n, cut, got, want);
                break;
            }
        }
    }
    for (int r = 0; r < 200; r++) {
        size_t n = next() % sizeof msg, at = 0;
        char want[65];
        digest(msg, n, want);
        ElmSha256 s;
        unsigned char d[32];
        elm_hash_sha256_init(&s);
        while (at < n) {
            size_t k = next() % 130;
            if (k > n - at) k = n - at;
            elm_hash_sha256_update(&s, msg + at, k);
            at += k;
        }
        elm_hash_sha256_final(&s, d);
        hex_of(d, got);
        CHECK(strcmp(got, want) == 0, "random pieces of %zu bytes: %s vs %s", n, got, want);
    }
    ElmError err;
    CHECK(elm_hash_sha256_file("/nonexistent/elm-sha", got, &err) != 0 &&
              strstr(err.msg, "/nonexistent/elm-sha"),
          "a missing file: %s", err.msg);
    ELM_TEST_DONE();
}
