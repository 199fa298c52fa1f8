// extract.c — tweet entity detection with PCRE2 (UTF + UCP, JIT-compiled).
//
// URLs, mentions, hashtags and cashtags follow the rules twitter-text documents and its
// conformance suite checks (tests/data/test_conformance.c): each pattern consumes the character
// before the entity, matching resumes where the last match ended (as a JavaScript global regex
// does), and a candidate followed by a forbidding character ("@", "://", ...) is skipped after it
// was consumed. Emoji, smileys, reserved words and numbers are elm's own patterns.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "engine/data/extract.h"

#include "engine/data/tlds.h"
#include "engine/base/buf.h"

#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// ---- character sets (PCRE2 class syntax, without brackets) ---------------------------------

#define LATIN_ACCENTS                                                                              \
    "\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{FF}\\x{100}-\\x{24F}\\x{253}\\x{254}\\x{256}"       \
    "\\x{257}\\x{259}\\x{25B}\\x{263}\\x{268}\\x{26F}\\x{272}\\x{289}\\x{28B}\\x{2BB}"             \
    "\\x{300}-\\x{36F}\\x{1E00}-\\x{1EFF}"
#define UNICODE_SPACES                                                                             \
    "\\x{09}-\\x{0D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{180E}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"  \
    "\\x{202F}\\x{205F}\\x{3000}"
// JavaScript's \s
#define JS_SPACES                                                                                  \
    "\\x{09}-\\x{0D}\\x{20}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"         \
    "\\x{205F}\\x{3000}\\x{FEFF}"
#define PUNCT "!'#%&()*+,\\\\\\-./:;<=>?@\\[\\]\\^_{|}~$"
#define INVALID_CHARS "\\x{FFFE}\\x{FEFF}\\x{FFFF}"
#define DIRECTIONAL "\\x{202A}-\\x{202E}\\x{061C}\\x{200E}\\x{200F}\\x{2066}-\\x{2069}"
#define HASH_ALPHA "\\p{L}\\p{M}"
#define HASH_ALNUM                                                                                 \
    HASH_ALPHA "\\p{Nd}_\\x{200c}\\x{200d}\\x{a67e}\\x{05be}\\x{05f3}\\x{05f4}\\x{ff5e}\\x{301c}"  \
               "\\x{309b}\\x{309c}\\x{30a0}\\x{30fb}\\x{3003}\\x{0f0b}\\x{0f0c}\\x{00b7}"

// ---- URL pieces -----------------------------------------------------------------------------

#define URL_PRECEDING "(?:[^A-Za-z0-9@\\x{FF20}$#\\x{FF03}" INVALID_CHARS "]|[" DIRECTIONAL "]|^)"
#define DOMAIN_CHAR "[^" PUNCT UNICODE_SPACES INVALID_CHARS DIRECTIONAL "]"
#define SUBDOMAIN "(?:(?:" DOMAIN_CHAR "(?:[_\\-]|" DOMAIN_CHAR ")*)?" DOMAIN_CHAR "\\.)"
#define DOMAIN_NAME "(?:(?:" DOMAIN_CHAR "(?:-|" DOMAIN_CHAR ")*)?" DOMAIN_CHAR "\\.)"
#define TLD_GUARD "(?=[^a-zA-Z0-9@+\\-]|$)"
#define PUNYCODE "(?:xn--[\\-0-9a-z]+)"
#define PATH_CHAR "[a-z\\x{0400}-\\x{04FF}0-9!*';:=+,.$/%#\\[\\]\\-\\x{2013}_~@|&" LATIN_ACCENTS "]"
#define BALANCED_PARENS                                                                            \
    "\\((?:" PATH_CHAR "+|(?:" PATH_CHAR "*\\(" PATH_CHAR "+\\)" PATH_CHAR "*))\\)"
#define PATH_END "(?:[+\\-a-z\\x{0400}-\\x{04FF}0-9=_#/" LATIN_ACCENTS "]|(?:" BALANCED_PARENS "))"
#define URL_PATH                                                                                   \
    "(?:(?:" PATH_CHAR "*(?:" BALANCED_PARENS PATH_CHAR "*)*" PATH_END ")|(?:@" PATH_CHAR "+/))"
#define QUERY_CHAR "[a-z0-9!?*'@();:&=+$/%#\\[\\]\\-_.,~|]"
#define QUERY_END "[a-z0-9\\-_&=#/]"

enum {
    R_URL, // 1 before, 2 url, 3 protocol, 4 domain, 5 port, 6 path, 7 query
    R_ASCII_DOMAIN,
    R_TCO,         // 1 slug
    R_MENTION,     // 1 at sign, 2 screen name, 3 /list
    R_MENTION_END, // what may not follow a mention
    R_HASHTAG,     // 1 hash sign, 2 tag
    R_HASHTAG_END,
    R_CASHTAG, // 1 dollar, 2 symbol
    R_EMOJI,
    R_SMILEY,
    R_RESERVED,
    R_NUMBER,
    R_COUNT,
};

#define ELM_ENTITIES_MATCH_LIMIT 20000

typedef struct EntVec {
    ElmEntity *v;
    int n, cap;
} EntVec;

struct ElmEntities {
    pcre2_code *re[R_COUNT];
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit;
    EntVec out, tmp, urls;
};

static const char *type_names[ELM_ENT_COUNT] = {"urls",   "mentions", "hashtags", "cashtags",
                                                "emojis", "smileys",  "reserved", "numbers"};

const char *elm_extract_entity_name(int type) {
    return type >= 0 && type < ELM_ENT_COUNT ? type_names[type] : "?";
}

// ---- building the patterns ------------------------------------------------------------------

static char *str_cat(const char *const *parts) {
    ElmBuf b = {0};
    for (int i = 0; parts[i]; i++) elm_buf_append(&b, parts[i], strlen(parts[i]));
    if (b.oom) elm_buf_free(&b);
    return b.data;
}

static pcre2_code *compile(const char *pattern, uint32_t flags, const char *name, ElmError *err) {
    int code;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK | flags, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        elm_err(err, "entities: cannot compile the %s pattern at offset %zu: %s", name, (size_t)off,
                (const char *)msg);
        return NULL;
    }
    int jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    (void)jit; // without JIT support PCRE2 interprets the pattern: slower, same results
    return re;
}

// The URL pattern and the ASCII-domain pattern, both ending in one of the TLDs; -1 when out of
// memory.
static int url_patterns(char **url, char **ascii) {
    *url = NULL, *ascii = NULL;
    const char *gtld[] = {"(?:", elm_tld_generic_re, TLD_GUARD, ")", NULL};
    const char *cctld[] = {"(?:", elm_tld_country_re, TLD_GUARD, ")", NULL};
    char *g = str_cat(gtld), *c = str_cat(cctld);
    if (g && c) {
        const char *url_parts[] = {"(",
                                   URL_PRECEDING,
                                   ")((https?://)?((?:" SUBDOMAIN "*" DOMAIN_NAME "(?:",
                                   g,
                                   "|",
                                   c,
                                   "|" PUNYCODE ")))(?::([0-9]+))?(/" URL_PATH "*)?(\\?" QUERY_CHAR
                                   "*" QUERY_END ")?)",
                                   NULL};
        const char *ascii_parts[] = {
            "(?:(?:[\\-a-z0-9" LATIN_ACCENTS "]+)\\.)+(?:", g, "|", c, "|" PUNYCODE ")", NULL};
        *url = str_cat(url_parts);
        *ascii = str_cat(ascii_parts);
    }
    free(g);
    free(c);
    return *url && *ascii ? 0 : -1;
}

// Compiles every pattern into x->re; -1 with err naming the pattern that failed.
static int compile_patterns(ElmEntities *x, const char *url, const char *ascii, ElmError *err) {
    struct {
        int id;
        const char *pattern;
        uint32_t flags;
        const char *name;
    } specs[] = {
        {R_URL, url, PCRE2_CASELESS, "url"},
        {R_ASCII_DOMAIN, ascii, PCRE2_CASELESS, "ascii domain"},
        {R_TCO, "https?://t\\.co/([a-z0-9]+)(?:\\?" QUERY_CHAR "*" QUERY_END ")?",
         PCRE2_CASELESS | PCRE2_ANCHORED, "t.co"},
        {R_MENTION,
         "(?:^|[^a-zA-Z0-9_!#$%&*@\\x{FF20}]|(?:^|[^a-zA-Z0-9_+~.\\-])(?:rt|RT|rT|Rt):?)"
         "([@\\x{FF20}])([a-zA-Z0-9_]{1,20})(/[a-zA-Z][a-zA-Z0-9_\\-]{0,24})?",
         PCRE2_ANCHORED, "mention"},
        {R_MENTION_END, "(?:[@\\x{FF20}" LATIN_ACCENTS "]|://)", PCRE2_ANCHORED, "mention end"},
        {R_HASHTAG,
         "(?:^|[\\x{FE0E}\\x{FE0F}]|(?![" HASH_ALNUM "&])(?s:.))([#\\x{FF03}])"
         "(?![\\x{FE0F}\\x{20E3}])([" HASH_ALNUM "]*[" HASH_ALPHA "][" HASH_ALNUM "]*)",
         PCRE2_ANCHORED, "hashtag"},
        {R_HASHTAG_END, "(?:[#\\x{FF03}]|://)", PCRE2_ANCHORED, "hashtag end"},
        {R_CASHTAG,
         "(?:^|[" UNICODE_SPACES "])(\\$)([a-zA-Z]{1,6}(?:[._][a-zA-Z]{1,2})?)"
         "(?=$|[" JS_SPACES "]|[" PUNCT "])",
         PCRE2_ANCHORED, "cashtag"},
        // Flags, keycaps, tag sequences (subdivision flags), then any pictograph or skin-tone
        // modifier with its variation selector, modifiers and zero-width-joined followers.
        {R_EMOJI,
         "(?:\\p{RI}{1,2}|[#*0-9]\\x{FE0F}?\\x{20E3}|\\x{1F3F4}[\\x{E0020}-\\x{E007E}]+\\x{E007F}"
         "|(?:\\p{ExtPict}|\\p{EMod})[\\x{FE0E}\\x{FE0F}]?\\p{EMod}?"
         "(?:\\x{200D}(?:\\p{ExtPict}|\\p{EMod})[\\x{FE0E}\\x{FE0F}]?\\p{EMod}?)*)",
         PCRE2_ANCHORED, "emoji"},
        // Western smileys :-) ;P =D :'( (-: and a few others (<3 ^_^ o_O -_- xD); eyes may
        // follow a letter ("thanks:)") but not a digit ("10:30").
        {R_SMILEY,
         "(?:(?<![\\p{N}:;=<>^*'])[:;=][\\-o'^]?[)(\\]\\[dDpPoO/\\\\|*3$@xX]+"
         "|(?<![\\p{L}\\p{N}_:;=])[)(\\]\\[][\\-'^]?[:;=]"
         "|(?<![\\p{L}\\p{N}_<])(?:<\\/?3+|\\^[_.\\-]?\\^|[oO0]_[oO0]|-_-|T_T|;_;|[xX]D+))"
         "(?![\\p{L}\\p{N}_])",
         0, "smiley"},
        {R_RESERVED, "(?<![\\p{L}\\p{N}_@#$])(?:RT|FAV)(?![\\p{L}\\p{N}_])", 0, "reserved word"},
        {R_NUMBER,
         "(?<![\\p{L}\\p{N}_.,:/$#@\\-])[\\-+]?[0-9]+(?:[.,:/][0-9]+)*(?![\\p{L}\\p{N}_\\-])", 0,
         "number"},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        x->re[specs[i].id] = compile(specs[i].pattern, specs[i].flags, specs[i].name, err);
        if (!x->re[specs[i].id]) return -1;
    }
    return 0;
}

// The match data, the match context with its backtracking bound, and the JIT stack.
static int match_setup(ElmEntities *x, ElmError *err) {
    int ok = 1;
    x->md = pcre2_match_data_create(16, NULL);
    x->mctx = pcre2_match_context_create(NULL);
    x->jit = pcre2_jit_stack_create(64 * 1024, 4 * 1024 * 1024, NULL);
    if (!x->md || !x->mctx) ok = 0, elm_err(err, "entities: out of memory");
    if (x->jit && x->mctx) pcre2_jit_stack_assign(x->mctx, NULL, x->jit);
    // A long run of dotted labels ("a.a.a.a...", 20 KB) makes the URL search quadratic:
    // each start position backtracks through the whole run (9 s for that post). A bound
    // on backtracking per search keeps it under a millisecond; a search that hits it
    // finds nothing more in that word. Real posts stay far below it: the conformance
    // suite and the seed tweets give the same entities with and without the bound.
    if (x->mctx) pcre2_set_match_limit(x->mctx, ELM_ENTITIES_MATCH_LIMIT);
    return ok ? 0 : -1;
}

ElmEntities *elm_extract_create(ElmError *err) {
    ElmEntities *x = calloc(1, sizeof *x);
    if (!x) {
        elm_err(err, "entities: out of memory");
        return NULL;
    }
    char *url, *ascii;
    if (url_patterns(&url, &ascii)) {
        free(url);
        free(ascii);
        free(x);
        elm_err(err, "entities: out of memory");
        return NULL;
    }
    int ok = compile_patterns(x, url, ascii, err) == 0;
    free(url);
    free(ascii);
    if (ok) ok = match_setup(x, err) == 0;
    if (!ok) {
        elm_extract_free(x);
        return NULL;
    }
    return x;
}

void elm_extract_free(ElmEntities *x) {
    if (!x) return;
    for (int i = 0; i < R_COUNT; i++) pcre2_code_free(x->re[i]);
    pcre2_match_data_free(x->md);
    pcre2_match_context_free(x->mctx);
    pcre2_jit_stack_free(x->jit);
    free(x->out.v);
    free(x->tmp.v);
    free(x->urls.v);
    free(x);
}

// ---- helpers --------------------------------------------------------------------------------

static ElmEntity *vec_push(EntVec *v) {
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 64;
        ElmEntity *nv = realloc(v->v, (size_t)cap * sizeof *nv);
        if (!nv) return NULL; // out of memory: the entity is dropped
        v->v = nv, v->cap = cap;
    }
    return &v->v[v->n++];
}

static void vec_add(EntVec *v, int type, size_t start, size_t end, size_t vstart, size_t vend,
                    size_t lstart) {
    ElmEntity *e = vec_push(v);
    if (!e) return;
    e->type = type;
    e->start = (int)start, e->end = (int)end;
    e->vstart = (int)vstart, e->vend = (int)vend;
    e->lstart = (int)lstart;
}

// Runs pattern `id` on s[0..n) from `off`; returns the ovector or NULL when there is no match.
static PCRE2_SIZE *match(ElmEntities *x, int id, const char *s, size_t n, size_t off) {
    int rc = pcre2_match(x->re[id], (PCRE2_SPTR)s, n, off, PCRE2_NO_UTF_CHECK, x->md, x->mctx);
    return rc > 0 ? pcre2_get_ovector_pointer(x->md) : NULL;
}

static int group_set(const PCRE2_SIZE *ov, int g) {
    return ov[2 * g] != PCRE2_UNSET && ov[2 * g + 1] > ov[2 * g];
}

// ---- URLs -----------------------------------------------------------------------------------

// RFC 3492 Punycode: the length of the ASCII form ("xn--" + encoding) of a label of code
// points cp[0..n); labels that are all ASCII keep their length.
static size_t punycode_length(const uint32_t *cp, size_t n) {
    enum { BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700 };
    size_t basic = 0;
    for (size_t i = 0; i < n; i++) basic += cp[i] < 0x80;
    if (basic == n) return n;
    size_t out = basic + (basic > 0);
    uint64_t code = 128, delta = 0, bias = 72;
    size_t h = basic;
    while (h < n) {
        uint64_t m = UINT64_MAX;
        for (size_t i = 0; i < n; i++)
            if (cp[i] >= code && cp[i] < m) m = cp[i];
        delta += (m - code) * (h + 1);
        code = m;
        for (size_t i = 0; i < n; i++) {
            if (cp[i] < code) delta++;
            if (cp[i] != code) continue;
            uint64_t q = delta;
            for (uint64_t k = BASE;; k += BASE) {
                uint64_t t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
                if (q < t) break;
                out++;
                q = (q - t) / (BASE - t);
            }
            out++;
            // bias adaptation
            uint64_t d = h == basic ? delta / DAMP : delta / 2;
            d += d / (h + 1);
            uint64_t k = 0;
            while (d > ((BASE - TMIN) * TMAX) / 2) d /= BASE - TMIN, k += BASE;
            bias = k + (BASE - TMIN + 1) * d / (d + SKEW);
            delta = 0;
            h++;
        }
        delta++, code++;
    }
    return 4 + out;
}

// twitter-text's host check: a host that starts with "xn--" must hold an ASCII domain, and
// every label's ASCII (Punycode) form must be 1..63 characters. Returns the ASCII length of the
// host, or 0 when it is not valid.
static size_t host_ascii_length(ElmEntities *x, const char *s, size_t d0, size_t d1) {
    if (d1 - d0 >= 4 && memcmp(s + d0, "xn--", 4) == 0 && !match(x, R_ASCII_DOMAIN, s, d1, d0))
        return 0;
    uint32_t cp[512];
    size_t total = 0, ncp = 0;
    int overflow = 0;
    for (size_t i = d0; i <= d1;) {
        if (i == d1 || s[i] == '.') {
            if (overflow) return 0;
            size_t len = punycode_length(cp, ncp);
            if (len < 1 || len > 63) return 0;
            total += len + (i < d1);
            ncp = 0;
            i++;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        uint32_t v = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
        for (int k = 1; k < len && i + (size_t)k < d1; k++) v = (v << 6) | (s[i + k] & 0x3F);
        if (ncp < sizeof cp / sizeof cp[0])
            cp[ncp++] = v;
        else
            overflow = 1; // far longer than 63 characters in any encoding
        i += (size_t)len;
    }
    return total;
}

static size_t cp_count(const char *s, size_t a, size_t b) {
    size_t n = 0;
    for (size_t i = a; i < b; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static int ascii_blank(char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

// URLs in the "word" s[w0..w1) (w1 is the end of the text or an ASCII blank, which no URL
// contains), searched from `off` (the blank before the word, which may be the preceding char).
static void find_urls_in(ElmEntities *x, const char *s, size_t off, size_t n, EntVec *v) {
    PCRE2_SIZE *ov;
    while (off <= n && (ov = match(x, R_URL, s, n, off))) {
        size_t m_end = ov[1];
        size_t b0 = ov[2], b1 = ov[3], u0 = ov[4], u1 = ov[5], d0 = ov[8], d1 = ov[9];
        int has_protocol = group_set(ov, 3), has_path = group_set(ov, 6);
        off = m_end > ov[0] ? m_end : m_end + 1;
        // the URL's length with its host in ASCII form may not exceed 4096
        size_t ascii = host_ascii_length(x, s, d0, d1);
        if (!ascii) continue;
        size_t len = (has_protocol ? 0 : 8) + cp_count(s, u0, u1) + ascii - cp_count(s, d0, d1);
        if (len > 4096) continue;
        if (!has_protocol) {
            // no URL without protocol right after - _ . /
            if (b1 > b0 && strchr("-_./", s[b1 - 1])) continue;
            // keep only the ASCII domains inside the host; the last one takes the path
            int first = v->n;
            size_t a = d0;
            PCRE2_SIZE *ao;
            while (a < d1 && (ao = match(x, R_ASCII_DOMAIN, s, d1, a))) {
                vec_add(v, ELM_ENT_URL, ao[0], ao[1], ao[0], ao[1], ao[1]);
                a = ao[1] > ao[0] ? ao[1] : ao[1] + 1;
            }
            if (v->n == first) continue;
            if (has_path) {
                ElmEntity *last = &v->v[v->n - 1];
                last->end = last->vend = last->lstart = (int)u1;
            }
            continue;
        }
        // t.co links: nothing after the slug but a query, and the slug at most 40 long
        PCRE2_SIZE *to = match(x, R_TCO, s, u1, u0);
        if (to) {
            if (to[3] - to[2] > 40) continue;
            u1 = to[1];
        }
        vec_add(v, ELM_ENT_URL, u0, u1, u0, u1, u1);
    }
}

// A URL holds a dot followed by its top-level domain and never an ASCII blank, so only the
// blank-separated words with a dot inside are searched, each as a text of its own: the same
// matches as one search over the whole text, at a fraction of the cost.
static void find_urls(ElmEntities *x, const char *s, size_t n, EntVec *v) {
    const char *dot = memchr(s, '.', n);
    while (dot) {
        size_t d = (size_t)(dot - s), w0 = d, w1 = d;
        while (w0 > 0 && !ascii_blank(s[w0 - 1])) w0--;
        while (w1 < n && !ascii_blank(s[w1])) w1++;
        int tld = 0; // a dot with something after it, inside the word
        for (size_t i = d; i + 1 < w1 && !tld; i++) tld = s[i] == '.';
        if (tld) find_urls_in(x, s, w0 > 0 ? w0 - 1 : 0, w1, v);
        dot = w1 < n ? memchr(s + w1, '.', n - w1) : NULL;
    }
}

// ---- mentions, hashtags, cashtags -----------------------------------------------------------

// The next at-sign (@ or U+FF20), hash (# or U+FF03) or dollar at or after `from`, or n.
static size_t next_sigil(const char *s, size_t n, size_t from, char ascii, unsigned char wide) {
    if (from >= n) return n;
    const char *a = memchr(s + from, ascii, n - from);
    size_t lim = a ? (size_t)(a - s) : n;
    if (wide) // U+FF20 / U+FF03 is EF BC xx
        for (const char *p = s + from; (p = memchr(p, 0xEF, (size_t)(s + lim - p))); p++)
            if (p + 2 < s + n && (unsigned char)p[1] == 0xBC && (unsigned char)p[2] == wide)
                return (size_t)(p - s);
    return lim;
}

// Mentions, hashtags and cashtags are a sigil with at most `back` code points of context
// before it. The patterns are compiled anchored and tried at each possible start, earliest
// first, never before `lo` (where the previous match ended): the leftmost match, as an
// unanchored search from `lo` would find, without scanning text that holds no sigil.
static PCRE2_SIZE *match_near(ElmEntities *x, int id, const char *s, size_t n, size_t lo, size_t at,
                              int back) {
    size_t start[8];
    int k = 0;
    size_t p = at;
    start[k++] = at;
    for (int i = 0; i < back && p > lo; i++) {
        p--;
        while (p > lo && ((unsigned char)s[p] & 0xC0) == 0x80) p--;
        start[k++] = p;
    }
    for (int i = k - 1; i >= 0; i--) {
        PCRE2_SIZE *ov = match(x, id, s, n, start[i]);
        if (ov) return ov;
    }
    return NULL;
}

static void find_mentions(ElmEntities *x, const char *s, size_t n, int lists, EntVec *v) {
    size_t off = 0, from = 0, at;
    while ((at = next_sigil(s, n, from, '@', 0xA0)) < n) {
        // before the sign: one character, or one and "RT:" (four code points)
        PCRE2_SIZE *ov = match_near(x, R_MENTION, s, n, off, at, 4);
        if (!ov) {
            from = at + 1;
            continue;
        }
        size_t sign = ov[2], name0 = ov[4], name1 = ov[5], end = ov[1];
        int has_list = group_set(ov, 3);
        off = from = end;
        if (end < n && match(x, R_MENTION_END, s, n, end)) continue;
        if (has_list && !lists) continue;
        vec_add(v, ELM_ENT_MENTION, sign, end, name0, name1, has_list ? name1 : end);
    }
}

static void find_hashtags_only(ElmEntities *x, const char *s, size_t n, EntVec *v) {
    size_t off = 0, from = 0, at;
    while ((at = next_sigil(s, n, from, '#', 0x83)) < n) {
        PCRE2_SIZE *ov = match_near(x, R_HASHTAG, s, n, off, at, 1);
        if (!ov) {
            from = at + 1;
            continue;
        }
        size_t end = ov[1];
        off = from = end;
        if (end < n && match(x, R_HASHTAG_END, s, n, end)) continue;
        vec_add(v, ELM_ENT_HASHTAG, ov[2], end, ov[4], ov[5], end);
    }
}

static void remove_url_overlaps(EntVec *tags, const EntVec *urls) {
    int k = 0;
    for (int i = 0; i < tags->n; i++) {
        const ElmEntity *t = &tags->v[i];
        int clash = 0;
        for (int j = 0; j < urls->n && !clash; j++) {
            const ElmEntity *u = &urls->v[j];
            // sorted by start, an entity is dropped when it starts inside the one before it
            clash = u->start <= t->start ? t->start < u->end : u->start < t->end;
        }
        if (!clash) tags->v[k++] = *t;
    }
    tags->n = k;
}

static void find_hashtags(ElmEntities *x, const char *s, size_t n, EntVec *v) {
    int first = v->n;
    find_hashtags_only(x, s, n, v);
    if (v->n == first) return;
    x->urls.n = 0;
    find_urls(x, s, n, &x->urls);
    if (x->urls.n == 0) return;
    EntVec tags = {v->v + first, v->n - first, v->n - first};
    remove_url_overlaps(&tags, &x->urls);
    v->n = first + tags.n;
}

static void find_cashtags(ElmEntities *x, const char *s, size_t n, EntVec *v) {
    size_t off = 0, from = 0, at;
    while ((at = next_sigil(s, n, from, '$', 0)) < n) {
        PCRE2_SIZE *ov = match_near(x, R_CASHTAG, s, n, off, at, 1);
        if (!ov) {
            from = at + 1;
            continue;
        }
        vec_add(v, ELM_ENT_CASHTAG, ov[2], ov[5], ov[4], ov[5], ov[5]);
        off = from = ov[1];
    }
}

// Emoji start with a byte that can lead U+00A9.. (C2), U+2000..3FFF (E2, E3) or an astral
// pictograph (F0), or with a keycap base [#*0-9] followed by U+FE0F or U+20E3; the anchored
// pattern is tried only there.
static void find_emoji(ElmEntities *x, const char *s, size_t n, EntVec *v) {
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        int cand = c == 0xC2 || c == 0xE2 || c == 0xE3 || c == 0xF0;
        if (!cand && (c == '#' || c == '*' || (c >= '0' && c <= '9')) && i + 3 < n)
            cand = !memcmp(s + i + 1, "\xEF\xB8\x8F", 3) || !memcmp(s + i + 1, "\xE2\x83\xA3", 3);
        PCRE2_SIZE *ov = cand ? match(x, R_EMOJI, s, n, i) : NULL;
        if (ov && ov[1] > ov[0]) {
            vec_add(v, ELM_ENT_EMOJI, ov[0], ov[1], ov[0], ov[1], ov[1]);
            i = ov[1];
            continue;
        }
        i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    }
}

static void find_simple(ElmEntities *x, int id, int type, const char *s, size_t n, EntVec *v) {
    size_t off = 0;
    PCRE2_SIZE *ov;
    while (off <= n && (ov = match(x, id, s, n, off))) {
        if (ov[1] > ov[0]) vec_add(v, type, ov[0], ov[1], ov[0], ov[1], ov[1]);
        off = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
}

// ---- public ---------------------------------------------------------------------------------

int elm_extract_urls(ElmEntities *x, const char *s, size_t n, const ElmEntity **out) {
    x->out.n = 0;
    find_urls(x, s, n, &x->out);
    *out = x->out.v;
    return x->out.n;
}

int elm_extract_mentions(ElmEntities *x, const char *s, size_t n, int lists,
                         const ElmEntity **out) {
    x->out.n = 0;
    find_mentions(x, s, n, lists, &x->out);
    *out = x->out.v;
    return x->out.n;
}

int elm_extract_hashtags(ElmEntities *x, const char *s, size_t n, const ElmEntity **out) {
    x->out.n = 0;
    find_hashtags(x, s, n, &x->out);
    *out = x->out.v;
    return x->out.n;
}

int elm_extract_cashtags(ElmEntities *x, const char *s, size_t n, const ElmEntity **out) {
    x->out.n = 0;
    find_cashtags(x, s, n, &x->out);
    *out = x->out.v;
    return x->out.n;
}

// Which bytes occur in a text decides which patterns can match at all.
enum { BC_HIGH = 1, BC_DIGIT = 2, BC_SMILE = 4, BC_RF = 8 };
#define BC_SMILES                                                                                  \
    [':'] = BC_SMILE, [';'] = BC_SMILE, ['='] = BC_SMILE, ['<'] = BC_SMILE, ['^'] = BC_SMILE,      \
    ['_'] = BC_SMILE, ['('] = BC_SMILE, [')'] = BC_SMILE, ['x'] = BC_SMILE, ['X'] = BC_SMILE
#define BC_DIGITS                                                                                  \
    ['0'] = BC_DIGIT, ['1'] = BC_DIGIT, ['2'] = BC_DIGIT, ['3'] = BC_DIGIT, ['4'] = BC_DIGIT,      \
    ['5'] = BC_DIGIT, ['6'] = BC_DIGIT, ['7'] = BC_DIGIT, ['8'] = BC_DIGIT, ['9'] = BC_DIGIT
#define BC_R16(b)                                                                                  \
    [b] = BC_HIGH, [b + 1] = BC_HIGH, [b + 2] = BC_HIGH, [b + 3] = BC_HIGH, [b + 4] = BC_HIGH,     \
    [b + 5] = BC_HIGH, [b + 6] = BC_HIGH, [b + 7] = BC_HIGH, [b + 8] = BC_HIGH, [b + 9] = BC_HIGH, \
    [b + 10] = BC_HIGH, [b + 11] = BC_HIGH, [b + 12] = BC_HIGH, [b + 13] = BC_HIGH,                \
    [b + 14] = BC_HIGH, [b + 15] = BC_HIGH
static const unsigned char byte_class[256] = {
    BC_SMILES,    BC_DIGITS,    ['R'] = BC_RF, ['F'] = BC_RF, BC_R16(0x80), BC_R16(0x90),
    BC_R16(0xA0), BC_R16(0xB0), BC_R16(0xC0),  BC_R16(0xD0),  BC_R16(0xE0), BC_R16(0xF0),
};

int elm_extract_find(ElmEntities *x, const char *s, size_t n, unsigned mask,
                     const ElmEntity **out) {
    EntVec *v = &x->tmp;
    v->n = 0;
    *out = NULL;
    if (!mask || !n) return 0;
    // which characters occur decides which patterns can match at all
    unsigned seen = 0;
    for (size_t i = 0; i < n; i++) seen |= byte_class[(unsigned char)s[i]];
    int ascii_only = !(seen & BC_HIGH), digit = seen & BC_DIGIT, smile = seen & BC_SMILE,
        upper_rf = seen & BC_RF;
    find_urls(x, s, n, v);
    if (mask & ELM_ENT_BIT(ELM_ENT_MENTION)) find_mentions(x, s, n, 1, v);
    if (mask & ELM_ENT_BIT(ELM_ENT_HASHTAG)) {
        // hashtags inside URLs are dropped below by the overlap rule
        find_hashtags_only(x, s, n, v);
    }
    if (mask & ELM_ENT_BIT(ELM_ENT_CASHTAG)) find_cashtags(x, s, n, v);
    if ((mask & ELM_ENT_BIT(ELM_ENT_EMOJI)) && !ascii_only) find_emoji(x, s, n, v);
    if ((mask & ELM_ENT_BIT(ELM_ENT_SMILEY)) && smile)
        find_simple(x, R_SMILEY, ELM_ENT_SMILEY, s, n, v);
    if ((mask & ELM_ENT_BIT(ELM_ENT_RESERVED)) && upper_rf)
        find_simple(x, R_RESERVED, ELM_ENT_RESERVED, s, n, v);
    if ((mask & ELM_ENT_BIT(ELM_ENT_NUMBER)) && digit)
        find_simple(x, R_NUMBER, ELM_ENT_NUMBER, s, n, v);
    // stable insertion sort by start (few entities per post), then drop overlaps
    for (int i = 1; i < v->n; i++) {
        ElmEntity e = v->v[i];
        int j = i - 1;
        while (j >= 0 && v->v[j].start > e.start) v->v[j + 1] = v->v[j], j--;
        v->v[j + 1] = e;
    }
    int k = 0, last_end = -1;
    for (int i = 0; i < v->n; i++) {
        if (v->v[i].start < last_end) continue;
        last_end = v->v[i].end;
        if (mask & ELM_ENT_BIT(v->v[i].type)) v->v[k++] = v->v[i];
    }
    v->n = k;
    *out = v->v;
    return k;
}
