// test_clean.c — the cleaner's library API: HTML entities, each entity action, emoji sequences
// (ZWJ families, flags, keycaps, skin tones, tag sequences), smileys, numbers, whitespace, and
// random inputs (valid UTF-8 out, never longer than in, whitespace normalised). Also UTF-8
// repair against Unicode's own example (Table 3-8).
#include "elmtest.h"
#include "engine/data/clean.h"
#include "engine/base/fsutil.h"
#include "engine/base/utf8.h"

#include <stdint.h>
#include <string.h>

static ElmCleaner *make(const char *urls, const char *mentions, const char *hashtags,
                        const char *cashtags, const char *emojis, const char *smileys,
                        const char *reserved, const char *numbers) {
    ElmCleanOptions o;
    elm_clean_options_default(&o);
    const char *acts[ELM_ENT_COUNT] = {urls,   mentions, hashtags, cashtags,
                                       emojis, smileys,  reserved, numbers};
    for (int t = 0; t < ELM_ENT_COUNT; t++)
        o.action[t] = strcmp(acts[t], "remove") == 0 ? ELM_CLEAN_REMOVE
                      : strcmp(acts[t], "word") == 0 ? ELM_CLEAN_WORD
                                                     : ELM_CLEAN_KEEP;
    ElmError err = {{0}};
    ElmCleaner *c = elm_cleaner_new(&o, &err);
    if (!c) fprintf(stderr, "%s\n", err.msg);
    return c;
}

static void expect(ElmCleaner *c, const char *in, const char *want) {
    size_t n;
    const char *got = elm_clean_text(c, in, strlen(in), &n, NULL);
    CHECK(strlen(want) == n && memcmp(got, want, n) == 0, "clean('%s') = '%s', expected '%s'", in,
          got, want);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

int main(void) {
    // UTF-8 repair: Unicode 15, Table 3-8 (maximal subparts)
    const char bad[] = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
    char fixed[64];
    size_t nbad;
    size_t fn = elm_utf8_repair(bad, sizeof bad - 1, fixed, &nbad);
    const char want_fix[] = "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                            "b\xEF\xBF\xBD"
                            "c\xEF\xBF\xBD\xEF\xBF\xBD"
                            "d";
    CHECK(fn == sizeof want_fix - 1 && memcmp(fixed, want_fix, fn) == 0 && nbad == 6,
          "Table 3-8 repair (%zu replacements)", nbad);
    CHECK(elm_utf8_check("\xED\xA0\x80", 3) == 0, "surrogates are invalid");
    CHECK(elm_utf8_check("\xC0\xAF", 2) == 0, "overlong forms are invalid");
    CHECK(elm_utf8_check("\xF4\x90\x80\x80", 4) == 0, "above U+10FFFF is invalid");
    int round = 1;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp += (cp < 0x3000 ? 1 : 7)) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        char b[4];
        int w = elm_utf8_encode(cp, b);
        int32_t back;
        int r = elm_utf8_decode((const unsigned char *)b, (size_t)w, &back);
        if (r != w || back != (int32_t)cp || elm_utf8_check(b, (size_t)w) != (size_t)w) round = 0;
    }
    CHECK(round, "every code point encodes and decodes back");
    CHECK(elm_utf8_length("a\xC3\xA9\xF0\x9F\x98\x80", 7) == 3, "code point count");

    // HTML entities
    char dec[128];
    const char *html = "&amp;&lt;&gt;&quot;&#39;&#x1F600;&#128512;&bogus;&amp &#0; &nbsp;";
    size_t dn = elm_html_decode(html, strlen(html), dec);
    const char *want_html = "&<>\"'\xF0\x9F\x98\x80\xF0\x9F\x98\x80&bogus;&amp &#0; \xC2\xA0";
    CHECK(dn == strlen(want_html) && memcmp(dec, want_html, dn) == 0, "html decode: '%.*s'",
          (int)dn, dec);

    // defaults: urls, mentions, reserved removed; hashtags keep their word
    ElmCleaner *c = make("remove", "remove", "word", "keep", "keep", "keep", "remove", "keep");
    expect(c, "RT @user: Check https://t.co/abc #Cool &amp; more", ": Check Cool & more");
    expect(c, "  spaces\t\tand\nnew\r\nlines\xC2\xA0nbsp\xE3\x80\x80ideographic  ",
           "spaces and new lines nbsp ideographic");
    expect(c, "(@lexfridman) said", "() said");
    expect(c, "email me@example.com or visit example.com/path.", "email me@example.com or visit .");
    expect(c, "#123 is not a tag but #tag1 is", "#123 is not a tag but tag1 is");
    expect(c, "twitter.com/#hashtag stays out", "stays out");
    expect(c, "$TSLA to the moon 3 times", "$TSLA to the moon 3 times");
    expect(c, "FAVORITE RTs are fine, RT is not", "FAVORITE RTs are fine, is not");
    expect(c, "@only", "");
    elm_cleaner_free(c);

    // hashtags kept as is, or removed; cashtags removed
    c = make("keep", "keep", "keep", "remove", "keep", "keep", "keep", "keep");
    expect(c, "#Tag $TSLA @x http://a.co", "#Tag @x http://a.co");
    elm_cleaner_free(c);
    c = make("keep", "keep", "remove", "keep", "keep", "keep", "keep", "keep");
    expect(c, "I love #cats and #dogs!", "I love and !");
    elm_cleaner_free(c);

    // emoji: whole sequences go, no joiner, selector or modifier left behind
    c = make("keep", "keep", "keep", "keep", "remove", "keep", "keep", "keep");
    const char *seqs[] = {
        "\xF0\x9F\x98\x80",                                                         // 😀
        "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7", // family
        "\xF0\x9F\x87\xAF\xF0\x9F\x87\xB5",                                         // flag JP
        "#\xEF\xB8\x8F\xE2\x83\xA3",                                                // keycap #
        "1\xE2\x83\xA3",                                                            // keycap 1
        "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD", // thumbs up, tone 4
        "\xE2\x9C\x8C\xEF\xB8\x8F",         // ✌️
        "\xF0\x9F\x8F\xB4\xF3\xA0\x81\xA7\xF3\xA0\x81\xA2\xF3\xA0\x81\xB3\xF3\xA0\x81\xA3"
        "\xF3\xA0\x81\xB4\xF3\xA0\x81\xBF",                             // Scotland
        "\xE2\x9D\xA4\xEF\xB8\x8F\xE2\x80\x8D\xF0\x9F\x94\xA5",         // heart on fire
        "\xF0\x9F\xA7\x91\xF0\x9F\x8F\xBF\xE2\x80\x8D\xF0\x9F\x9A\x80", // astronaut, tone 6
        "\xC2\xA9",                                                     // ©
        "\xF0\x9F\x8F\xBB",                                             // lone modifier
    };
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        char in[128];
        snprintf(in, sizeof in, "a%sb %s c%s", seqs[i], seqs[i], seqs[i]);
        expect(c, in, "a b c");
    }
    expect(c, "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC 12", "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC 12");
    elm_cleaner_free(c);

    // smileys and numbers
    c = make("keep", "keep", "keep", "keep", "keep", "remove", "keep", "remove");
    expect(c, "great :) and :-( ;P :D <3 (: xD ^_^ :'( done", "great and done");
    expect(c, "thanks:) see you", "thanks see you");
    expect(c, "at 10:30 on 9/11 paid 2,500.50 or -3 for the 12th time, $5",
           "at on paid or for the 12th time, $5");
    expect(c, "http://example.com:8080/a:b", "http://example.com:8080/a:b");
    expect(c, "Dr. D: ok", "Dr. D: ok");
    elm_cleaner_free(c);

    // random inputs: valid UTF-8 out, no longer than in, whitespace normalised
    c = make("remove", "remove", "word", "remove", "remove", "remove", "remove", "remove");
    ElmCleaner *keep = make("keep", "keep", "keep", "keep", "keep", "keep", "keep", "keep");
    const char *pieces[] = {"a",
                            "Z",
                            " ",
                            "  ",
                            "\t",
                            "\n",
                            "@",
                            "#",
                            "$",
                            ".",
                            "/",
                            ":",
                            ")",
                            "(",
                            "-",
                            "_",
                            "1",
                            "9",
                            "http://",
                            "www.",
                            ".com",
                            "t.co/",
                            "&amp;",
                            "&#x1F600;",
                            "&",
                            ";",
                            "\xC2\xA0",
                            "\xE3\x80\x80",
                            "\xF0\x9F\x98\x80",
                            "\xE2\x80\x8D",
                            "\xEF\xB8\x8F",
                            "\xC3\xA9",
                            "\xE6\x97\xA5",
                            "\xFF",
                            "\xC3",
                            "\xF0\x9F",
                            "RT",
                            "xD",
                            "<3"};
    int npieces = sizeof pieces / sizeof pieces[0], fuzz_ok = 1, keep_ok = 1;
    char raw[512], in[1600], ws[1600];
    for (int iter = 0; iter < 20000; iter++) {
        size_t rn = 0;
        int parts = 1 + (int)(rnd() % 40);
        for (int k = 0; k < parts; k++) {
            const char *p = pieces[rnd() % (uint32_t)npieces];
            size_t l = strlen(p);
            if (rn + l >= sizeof raw) break;
            memcpy(raw + rn, p, l);
            rn += l;
        }
        size_t n = elm_utf8_repair(raw, rn, in, NULL);
        size_t on;
        const char *out = elm_clean_text(c, in, n, &on, NULL);
        int ok = on <= n && elm_utf8_check(out, on) == on && strlen(out) == on;
        for (size_t i = 0; i < on && ok; i++) {
            unsigned char ch = (unsigned char)out[i];
            if (ch < 0x20 || ch == 0x7F) ok = 0;
            if (ch == ' ' && (i == 0 || i + 1 == on || out[i + 1] == ' ')) ok = 0;
        }
        if (!ok && fuzz_ok) fprintf(stderr, "bad output for '%.*s': '%s'\n", (int)n, in, out);
        fuzz_ok &= ok;
        // everything kept: only the white space changes (ASCII white space, NBSP, U+3000)
        size_t wn = 0;
        int pend = 0;
        for (size_t i = 0; i < n;) {
            size_t w = (unsigned char)in[i] <= 0x20                             ? 1
                       : !memcmp(in + i, "\xC2\xA0", 2 < n - i ? 2 : n - i)     ? 2
                       : !memcmp(in + i, "\xE3\x80\x80", 3 < n - i ? 3 : n - i) ? 3
                                                                                : 0;
            if (w) {
                pend = 1, i += w;
                continue;
            }
            if (pend && wn) ws[wn++] = ' ';
            pend = 0;
            ws[wn++] = in[i++];
        }
        ElmCleanOptions o;
        (void)o;
        size_t kn;
        const char *kept = elm_clean_text(keep, in, n, &kn, NULL);
        // &amp; decoding is on by default: compare only inputs without '&'
        if (!memchr(in, '&', n) && (kn != wn || memcmp(kept, ws, wn))) {
            if (keep_ok) fprintf(stderr, "keep-all changed '%.*s' into '%s'\n", (int)n, in, kept);
            keep_ok = 0;
        }
    }
    CHECK(fuzz_ok, "random inputs: valid, shorter, normalised output");

    // pathological posts stay fast: 20 KB of dotted labels took 9 s before the search bound
    const char *units[] = {"a.", "1.", "\xE6\x97\xA5.", "x.co/(", "@a.", "#a."};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        static char big[20001];
        size_t l = strlen(units[u]), bn = 0;
        while (bn + l < sizeof big) memcpy(big + bn, units[u], l), bn += l;
        double t0 = elm_now();
        size_t on;
        elm_clean_text(c, big, bn, &on, NULL);
        double dt = elm_now() - t0;
        CHECK(dt < 3.0, "20 KB of '%s' took %.2f s", units[u], dt);
    }
    CHECK(keep_ok, "random inputs: with every entity kept only white space changes");
    elm_cleaner_free(c);
    elm_cleaner_free(keep);
    ELM_TEST_DONE();
}
