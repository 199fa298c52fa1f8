// fetch_html.c — Mastodon's status HTML as plain text, and HTML entities decoded (X's texts).
// A small scanner, not a parser: Mastodon sends sanitised HTML (p, br, a, span), so tags are
// dropped, line breaks kept, and the text inside links (their URL, split over spans) joined.
#include "engine/data/fetch_internal.h"

#include "engine/base/utf8.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct HtmlEntity {
    const char *name;
    unsigned cp;
} HtmlEntity;

static const HtmlEntity html_entities[] = {
    {"amp", '&'},      {"lt", '<'},        {"gt", '>'},       {"quot", '"'},     {"apos", '\''},
    {"nbsp", 0xA0},    {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013}, {"lsquo", 0x2018},
    {"rsquo", 0x2019}, {"ldquo", 0x201C},  {"rdquo", 0x201D}, {"laquo", 0xAB},   {"raquo", 0xBB},
    {"copy", 0xA9},    {"reg", 0xAE},      {"trade", 0x2122}, {"euro", 0x20AC},  {"pound", 0xA3},
    {"deg", 0xB0},     {"middot", 0xB7},   {"bull", 0x2022},  {"times", 0xD7},   {NULL, 0},
};

static void html_put_utf8(ElmBuf *b, unsigned cp) {
    char u[4];
    int k = cp ? elm_utf8_encode(cp, u) : 0;
    if (k == 0) k = elm_utf8_encode(ELM_UTF8_REPLACEMENT, u);
    elm_buf_append(b, u, (size_t)k);
}

// The entity at s[0] == '&' (within n bytes): its code point into *cp and its length, or 0.
static size_t html_entity(const char *s, size_t n, unsigned *cp) {
    size_t semi = 1;
    while (semi < n && semi < 12 && s[semi] != ';') semi++;
    if (semi >= n || s[semi] != ';' || semi < 2) return 0;
    if (s[1] == '#') {
        int hex = semi > 2 && (s[2] == 'x' || s[2] == 'X');
        unsigned long v = 0;
        size_t i = hex ? 3 : 2;
        if (i >= semi) return 0;
        for (; i < semi; i++) {
            char c = s[i];
            int d = c >= '0' && c <= '9'          ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                  : -1;
            if (d < 0) return 0;
            v = v * (hex ? 16 : 10) + (unsigned long)d;
            if (v > 0x10FFFF) v = 0x110000; // stays out of range, never overflows
        }
        *cp = (unsigned)v;
        return semi + 1;
    }
    for (const HtmlEntity *e = html_entities; e->name; e++)
        if (strlen(e->name) == semi - 1 && memcmp(e->name, s + 1, semi - 1) == 0) {
            *cp = e->cp;
            return semi + 1;
        }
    return 0;
}

void elm_fetch_html_unescape(const char *s, size_t n, ElmBuf *out) {
    elm_buf_append(out, "", 0);
    for (size_t i = 0; i < n;) {
        unsigned cp;
        size_t k = s[i] == '&' ? html_entity(s + i, n - i, &cp) : 0;
        if (k) {
            html_put_utf8(out, cp);
            i += k;
            continue;
        }
        size_t j = i + 1;
        while (j < n && s[j] != '&') j++;
        elm_buf_append(out, s + i, j - i);
        i = j;
    }
}

// The tag's name (after '<' and an optional '/') matches `name` (case-insensitive).
static int html_tag_is(const char *tag, size_t len, const char *name) {
    size_t i = 1 + (len > 1 && tag[1] == '/');
    size_t k = strlen(name);
    if (i + k > len || strncasecmp(tag + i, name, k) != 0) return 0;
    char c = i + k < len ? tag[i + k] : '>';
    return c == '>' || c == ' ' || c == '/' || c == '\t' || c == '\n' || c == '\r';
}

// Appends a line break unless the text is empty or already ends in `breaks` of them; spaces
// before a break go.
static void html_break(ElmBuf *b, int breaks) {
    while (b->len > 0 && b->data[b->len - 1] == ' ') b->len--;
    if (b->len == 0) return;
    int have = 0;
    while (have < breaks && (size_t)have < b->len && b->data[b->len - 1 - have] == '\n') have++;
    for (; have < breaks; have++) elm_buf_append(b, "\n", 1);
}

void elm_fetch_html_text(const char *html, size_t n, ElmBuf *out) {
    ElmBuf raw = {0}; // text with the tags dropped, entities still escaped
    elm_buf_append(&raw, "", 0);
    for (size_t i = 0; i < n;) {
        if (html[i] != '<') {
            size_t j = i + 1;
            while (j < n && html[j] != '<') j++;
            for (size_t k = i; k < j; k++) { // source line breaks are spaces in HTML
                int nl = html[k] == '\n' || html[k] == '\r';
                if (nl && (raw.len == 0 || raw.data[raw.len - 1] == '\n')) continue;
                elm_buf_append(&raw, nl ? " " : html + k, 1);
            }
            i = j;
            continue;
        }
        if (n - i >= 4 && memcmp(html + i, "<!--", 4) == 0) {
            const char *end = memmem(html + i + 4, n - i - 4, "-->", 3);
            i = end ? (size_t)(end - html) + 3 : n;
            continue;
        }
        const char *gt = memchr(html + i, '>', n - i);
        size_t len = gt ? (size_t)(gt - (html + i)) + 1 : n - i;
        const char *tag = html + i;
        if (html_tag_is(tag, len, "br")) {
            while (raw.len > 0 && raw.data[raw.len - 1] == ' ') raw.len--;
            elm_buf_append(&raw, "\n", 1);
        } else if (html_tag_is(tag, len, "p") || html_tag_is(tag, len, "div") ||
                   html_tag_is(tag, len, "blockquote"))
            html_break(&raw, 2);
        else if (html_tag_is(tag, len, "li"))
            html_break(&raw, 1);
        i += len;
    }
    elm_buf_append(out, "", 0);
    size_t a = 0, b = raw.len;
    while (a < b && (raw.data[a] == ' ' || raw.data[a] == '\n')) a++;
    while (b > a && (raw.data[b - 1] == ' ' || raw.data[b - 1] == '\n')) b--;
    elm_fetch_html_unescape(raw.data + a, b - a, out);
    elm_buf_free(&raw);
}
