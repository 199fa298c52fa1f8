// pretok.c — GPT-2 pre-tokenisation through PCRE2 JIT (see pretok.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretok.h"

#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// tiktoken's \s is Unicode White_Space. PCRE2's \s (even with UCP) also matches U+180E, so the
// class is spelt out.
#define WS                                                                                         \
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"       \
    "\\x{202F}\\x{205F}\\x{3000}"
// \p{L} and \p{N} come from PCRE2's Unicode tables (Unicode 14 in PCRE2 10.42); tiktoken's Rust
// regex knows Unicode 16. These are the letters and numbers assigned since (found by comparing
// elm and tiktoken on every code point, split into L and N with the `regex` module), so that
// the split agrees on them too. Harmless where PCRE2 already knows them.
#define NEW_L                                                                                      \
    "\\x{1C89}-\\x{1C8A}\\x{A7CB}-\\x{A7CD}\\x{A7DA}-\\x{A7DC}\\x{105C0}-\\x{105F3}"               \
    "\\x{10D4A}-\\x{10D65}\\x{10D6F}-\\x{10D85}\\x{10EC2}-\\x{10EC4}\\x{1123F}-\\x{11240}"         \
    "\\x{11380}-\\x{11389}\\x{1138B}\\x{1138E}\\x{11390}-\\x{113B5}\\x{113B7}\\x{113D1}"           \
    "\\x{113D3}\\x{11BC0}-\\x{11BE0}\\x{11F02}\\x{11F04}-\\x{11F10}\\x{11F12}-\\x{11F33}"          \
    "\\x{1342F}\\x{13441}-\\x{13446}\\x{13460}-\\x{143FA}\\x{16100}-\\x{1611D}\\x{16D40}-"         \
    "\\x{16D6C}\\x{18CFF}\\x{1B132}\\x{1B155}\\x{1DF25}-\\x{1DF2A}\\x{1E030}-\\x{1E06D}"           \
    "\\x{1E4D0}-\\x{1E4EB}\\x{1E5D0}-\\x{1E5ED}\\x{1E5F0}\\x{2B739}\\x{2EBF0}-\\x{2EE5D}"          \
    "\\x{31350}-\\x{323AF}"
#define NEW_N                                                                                      \
    "\\x{10D40}-\\x{10D49}\\x{116D0}-\\x{116E3}\\x{11BF0}-\\x{11BF9}\\x{11F50}-\\x{11F59}"         \
    "\\x{16130}-\\x{16139}\\x{16D70}-\\x{16D79}\\x{1CCF0}-\\x{1CCF9}\\x{1D2C0}-\\x{1D2D3}"         \
    "\\x{1E4F0}-\\x{1E4F9}\\x{1E5F1}-\\x{1E5FA}"
static const char pattern[] =
    "'(?:[sdmt]|ll|ve|re)| ?[\\p{L}" NEW_L "]+| ?[\\p{N}" NEW_N "]+| ?[^" WS
    "\\p{L}\\p{N}" NEW_L NEW_N "]+|[" WS "]+(?![^" WS "])|[" WS "]+";

int elm_pretok_init(ElmPretok *pt, ElmError *err) {
    int ec;
    PCRE2_SIZE eo;
    // Every position starts a match (the alternatives cover every character), so anchoring
    // loses nothing and spares the search for a start.
    pcre2_code *code =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, &ec, &eo, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        return elm_err(err, "pre-tokenisation pattern: %s at %zu", (char *)msg, (size_t)eo);
    }
    pt->code = code;
    pt->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    return 0;
}

void elm_pretok_free(ElmPretok *pt) {
    pcre2_code_free(pt->code);
    pt->code = NULL;
}

int elm_pretok_state_init(const ElmPretok *pt, ElmPretokState *st, ElmError *err) {
    (void)pt;
    memset(st, 0, sizeof *st);
    st->md = pcre2_match_data_create(2, NULL);
    st->mctx = pcre2_match_context_create(NULL);
    if (!st->md || !st->mctx) {
        elm_pretok_state_free(st);
        return elm_err(err, "out of memory for the pre-tokeniser");
    }
    return 0;
}

void elm_pretok_state_free(ElmPretokState *st) {
    pcre2_match_data_free(st->md);
    pcre2_match_context_free(st->mctx);
    pcre2_jit_stack_free(st->jstack);
    free(st->sub);
    free(st->map);
    memset(st, 0, sizeof *st);
}

int elm_utf8_seq_len(const unsigned char *p, size_t avail) {
    unsigned c = p[0];
    if (c < 0x80) return 1;
#define CONT(i) (avail > (i) && (p[i] & 0xC0) == 0x80)
    if (c >= 0xC2 && c <= 0xDF) return CONT(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 2) return 0;
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return p[1] >= lo && p[1] <= hi && CONT(2) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 2) return 0;
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return p[1] >= lo && p[1] <= hi && CONT(2) && CONT(3) ? 4 : 0;
    }
#undef CONT
    return 0;
}

int elm_utf8_valid(const char *text, size_t n) {
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t v;
            memcpy(&v, p + i, 8);
            if (!(v & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        int l = elm_utf8_seq_len(p + i, n - i);
        if (!l) return 0;
        i += (size_t)l;
    }
    return 1;
}

// Matches pieces of valid UTF-8 s[0..n); reports each through fn, mapped back to the original
// text through map (NULL when s is the original).
static int split_valid(const ElmPretok *pt, ElmPretokState *st, const char *s, size_t n,
                       const char *orig, const size_t *map, ElmPieceFn fn, void *user,
                       ElmError *err) {
    pcre2_match_data *md = st->md;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    size_t pos = 0;
    while (pos < n) {
        int rc = pt->jit ? pcre2_jit_match(pt->code, (PCRE2_SPTR)s, n, pos, 0, md, st->mctx)
                         : pcre2_match(pt->code, (PCRE2_SPTR)s, n, pos, PCRE2_NO_UTF_CHECK, md,
                                       st->mctx);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !st->jstack) {
            // Defensive: no input seen needs more than the default 32 KB JIT stack (the repeats
            // keep one frame however long they run), but if one does, grow to 64 MB and retry.
            st->jstack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, NULL);
            if (st->jstack) {
                pcre2_jit_stack_assign(st->mctx, NULL, st->jstack);
                rc = pcre2_jit_match(pt->code, (PCRE2_SPTR)s, n, pos, 0, md, st->mctx);
            }
        }
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
            rc = pcre2_match(pt->code, (PCRE2_SPTR)s, n, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md,
                             st->mctx);
        if (rc < 0 || ov[0] != pos || ov[1] <= pos) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return elm_err(err, "pre-tokenisation failed at byte %zu: %s", pos,
                           rc < 0 ? (char *)msg : "no piece starts here");
        }
        size_t a = ov[0], b = ov[1];
        int r = map ? fn(orig + map[a], map[b] - map[a], user) : fn(s + a, b - a, user);
        if (r) return r;
        pos = b;
    }
    return 0;
}

int elm_pretok_split(const ElmPretok *pt, ElmPretokState *st, const char *text, size_t n,
                     ElmPieceFn fn, void *user, ElmError *err) {
    if (elm_utf8_valid(text, n)) return split_valid(pt, st, text, n, NULL, NULL, fn, user, err);
    // Invalid UTF-8: match on a copy where each stray byte is U+FFFD, report original bytes.
    if (n > (SIZE_MAX - 1) / 3) return elm_err(err, "text too long");
    size_t need = 3 * n + 1;
    if (need > st->cap) {
        char *s = realloc(st->sub, need);
        if (s) st->sub = s;
        size_t *m = realloc(st->map, need * sizeof(size_t));
        if (m) st->map = m;
        if (!s || !m) return elm_err(err, "out of memory for %zu bytes of text", n);
        st->cap = need;
    }
    const unsigned char *p = (const unsigned char *)text;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        int l = elm_utf8_seq_len(p + i, n - i);
        if (l) {
            for (int k = 0; k < l; k++) st->map[o + k] = i, st->sub[o + k] = (char)p[i + k];
            o += (size_t)l, i += (size_t)l;
        } else {
            memcpy(st->sub + o, "\xEF\xBF\xBD", 3);
            st->map[o] = st->map[o + 1] = st->map[o + 2] = i;
            o += 3, i += 1;
        }
    }
    st->map[o] = n;
    return split_valid(pt, st, st->sub, o, text, st->map, fn, user, err);
}
