// clean.c — the cleaner: one pass over each post that decodes HTML entities, finds entities
// (extract.c), writes the kept text with whitespace collapsed, and applies the length filters.
// Buffers live in the ElmCleaner and only grow, so the loop over posts does not allocate.
#include "engine/data/clean.h"

#include "engine/base/utf8.h"

#include <stdlib.h>
#include <string.h>

struct ElmCleaner {
    ElmCleanOptions opt;
    ElmEntities *x;
    unsigned mask; // entity types with an action other than keep
    char *dec, *out;
    size_t dec_cap, out_cap;
};

void elm_clean_options_default(ElmCleanOptions *opt) {
    memset(opt, 0, sizeof *opt);
    opt->action[ELM_ENT_URL] = ELM_CLEAN_REMOVE;
    opt->action[ELM_ENT_MENTION] = ELM_CLEAN_REMOVE;
    opt->action[ELM_ENT_HASHTAG] = ELM_CLEAN_WORD;
    opt->action[ELM_ENT_RESERVED] = ELM_CLEAN_REMOVE;
    opt->html_entities = 1;
    opt->min_chars = 1;
    opt->max_chars = 100000;
}

void elm_clean_options_from_config(const ElmConfig *cfg, ElmCleanOptions *opt) {
    elm_clean_options_default(opt);
    for (int t = 0; t < ELM_ENT_COUNT; t++) {
        char key[64];
        snprintf(key, sizeof key, "clean.%s", elm_extract_entity_name(t));
        const char *v = elm_cfg_str(cfg, key);
        opt->action[t] = strcmp(v, "remove") == 0 ? ELM_CLEAN_REMOVE
                         : strcmp(v, "word") == 0 ? ELM_CLEAN_WORD
                                                  : ELM_CLEAN_KEEP;
    }
    opt->html_entities = elm_cfg_bool(cfg, "clean.html_entities");
    opt->min_chars = elm_cfg_int(cfg, "clean.min_chars");
    opt->max_chars = elm_cfg_int(cfg, "clean.max_chars");
}

ElmCleaner *elm_cleaner_new(const ElmCleanOptions *opt, ElmError *err) {
    ElmCleaner *c = calloc(1, sizeof *c);
    if (!c) {
        elm_err(err, "clean: out of memory");
        return NULL;
    }
    c->opt = *opt;
    for (int t = 0; t < ELM_ENT_COUNT; t++)
        if (opt->action[t] != ELM_CLEAN_KEEP) c->mask |= ELM_ENT_BIT(t);
    c->x = elm_extract_create(err);
    if (!c->x) {
        free(c);
        return NULL;
    }
    return c;
}

void elm_cleaner_free(ElmCleaner *c) {
    if (!c) return;
    elm_extract_free(c->x);
    free(c->dec);
    free(c->out);
    free(c);
}

// ---- HTML character references ----------------------------------------------------------------

static const struct {
    const char *name;
    const char *utf8;
} html_names[] = {
    {"amp", "&"},
    {"lt", "<"},
    {"gt", ">"},
    {"quot", "\""},
    {"apos", "'"},
    {"nbsp", "\xc2\xa0"},
    {"hellip", "\xe2\x80\xa6"},
    {"mdash", "\xe2\x80\x94"},
    {"ndash", "\xe2\x80\x93"},
    {"lsquo", "\xe2\x80\x98"},
    {"rsquo", "\xe2\x80\x99"},
    {"ldquo", "\xe2\x80\x9c"},
    {"rdquo", "\xe2\x80\x9d"},
    {"copy", "\xc2\xa9"},
    {"reg", "\xc2\xae"},
    {"trade", "\xe2\x84\xa2"},
};

size_t elm_html_decode(const char *s, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t upto = amp ? (size_t)(amp - s) : n;
        memmove(out + o, s + i, upto - i);
        o += upto - i;
        i = upto;
        if (i >= n) break;
        // s[i] == '&': a reference ends with ';' within a few characters
        size_t j = i + 1, lim = i + 12 < n ? i + 12 : n;
        while (j < lim && s[j] != ';' && s[j] != '&') j++;
        int done = 0;
        if (j < lim && s[j] == ';' && j > i + 1) {
            const char *name = s + i + 1;
            size_t len = j - i - 1;
            if (name[0] == '#') {
                unsigned long cp = 0;
                int hex = len > 1 && (name[1] == 'x' || name[1] == 'X'), ok = len > 1 + (size_t)hex;
                for (size_t k = 1 + (size_t)hex; k < len && ok; k++) {
                    char ch = name[k];
                    int d = ch >= '0' && ch <= '9'          ? ch - '0'
                            : hex && ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                            : hex && ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                                            : -1;
                    if (d < 0) ok = 0;
                    cp = cp * (hex ? 16 : 10) + (unsigned long)(d < 0 ? 0 : d);
                    if (cp > 0x10FFFF) ok = 0;
                }
                int w = ok && cp > 0 ? elm_utf8_encode((uint32_t)cp, out + o) : 0;
                if (w > 0) o += (size_t)w, done = 1;
            } else {
                for (size_t k = 0; k < sizeof html_names / sizeof html_names[0]; k++) {
                    if (strlen(html_names[k].name) != len || memcmp(html_names[k].name, name, len))
                        continue;
                    size_t w = strlen(html_names[k].utf8);
                    memcpy(out + o, html_names[k].utf8, w);
                    o += w, done = 1;
                    break;
                }
            }
        }
        if (done) {
            i = j + 1;
        } else {
            out[o++] = '&';
            i++;
        }
    }
    return o;
}

// ---- output with whitespace collapsed -------------------------------------------------------

// Length of the white-space code point at s (non-ASCII), or 0.
static int unicode_space(const unsigned char *s, size_t n) {
    if (s[0] == 0xC2 && n >= 2 && (s[1] == 0x85 || s[1] == 0xA0)) return 2;
    if (s[0] == 0xE1 && n >= 3 && s[1] == 0x9A && s[2] == 0x80) return 3; // U+1680
    if (s[0] == 0xE2 && n >= 3) {
        if (s[1] == 0x80 && (s[2] <= 0x8A || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF))
            return 3;                               // U+2000..200A, 2028, 2029, 202F
        if (s[1] == 0x81 && s[2] == 0x9F) return 3; // U+205F
    }
    if (s[0] == 0xE3 && n >= 3 && s[1] == 0x80 && s[2] == 0x80) return 3; // U+3000
    return 0;
}

typedef struct Out {
    char *p;
    size_t n;
    int space; // a space is pending
    int soft;  // an entity was removed here: a space only if it would join two words
} Out;

static int wordish(unsigned char c) { // letters and digits, any non-ASCII byte counting as one
    return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

// 1: a blank (ASCII white space or control), 2: a byte that may lead a Unicode space.
#define B8(b)                                                                                      \
    [b] = 1, [b + 1] = 1, [b + 2] = 1, [b + 3] = 1, [b + 4] = 1, [b + 5] = 1, [b + 6] = 1,         \
    [b + 7] = 1
static const unsigned char blank_class[256] = {
    B8(0x00),   B8(0x08),   B8(0x10),   B8(0x18),   [0x20] = 1,
    [0x7F] = 1, [0xC2] = 2, [0xE1] = 2, [0xE2] = 2, [0xE3] = 2,
};
#undef B8

static void emit(Out *o, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char k = blank_class[u[i]];
        if (k == 1) {
            o->space = 1;
            i++;
            continue;
        }
        if (k == 2) {
            int w = unicode_space(u + i, n - i);
            if (w) {
                o->space = 1;
                i += (size_t)w;
                continue;
            }
        }
        // a run of ordinary bytes, single spaces between words included: it is copied as is
        size_t j = i + 1;
        for (; j < n; j++) {
            unsigned char b = blank_class[u[j]];
            if (!b) continue;
            if (b == 2 ? unicode_space(u + j, n - j) != 0
                       : !(u[j] == ' ' && j + 1 < n && !blank_class[u[j + 1]]))
                break;
        }
        if (o->n &&
            (o->space || (o->soft && wordish((unsigned char)o->p[o->n - 1]) && wordish(u[i]))))
            o->p[o->n++] = ' ';
        o->space = o->soft = 0;
        memcpy(o->p + o->n, s + i, j - i);
        o->n += j - i;
        i = j;
    }
}

const char *elm_clean_text(ElmCleaner *c, const char *s, size_t n, size_t *out_len,
                           unsigned long long found[ELM_ENT_COUNT]) {
    if (n + 1 > c->out_cap || n + 1 > c->dec_cap) {
        size_t cap = (n + 1) * 2;
        char *a = realloc(c->out, cap), *b = a ? realloc(c->dec, cap) : NULL;
        if (a) c->out = a;
        if (b) c->dec = b;
        if (!a || !b) {
            *out_len = 0;
            return "";
        }
        c->out_cap = c->dec_cap = cap;
    }
    if (c->opt.html_entities && memchr(s, '&', n)) {
        n = elm_html_decode(s, n, c->dec);
        s = c->dec;
    }
    Out o = {c->out, 0, 0, 0};
    const ElmEntity *e = NULL;
    int ne = c->mask ? elm_extract_find(c->x, s, n, c->mask, &e) : 0;
    size_t pos = 0;
    for (int i = 0; i < ne; i++) {
        emit(&o, s + pos, (size_t)e[i].start - pos);
        int act = c->opt.action[e[i].type];
        if (found) found[e[i].type]++;
        if (act == ELM_CLEAN_WORD)
            emit(&o, s + e[i].vstart, (size_t)(e[i].vend - e[i].vstart));
        else if (act == ELM_CLEAN_REMOVE)
            o.soft = 1; // "a😀b" stays two words, "(@x)" becomes "()"
        else
            emit(&o, s + e[i].start, (size_t)(e[i].end - e[i].start));
        pos = (size_t)e[i].end;
    }
    emit(&o, s + pos, n - pos);
    o.p[o.n] = '\0';
    *out_len = o.n;
    return o.p;
}
