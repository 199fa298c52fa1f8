// json_line.c — a small strict reader for flat JSON objects (see json_line.h). It exists for
// speed: cJSON builds a tree with a malloc per value, which was ~15% of `elm clean`'s time.
#include "engine/base/json_line.h"

#include "engine/base/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct Parser {
    const char *p, *end;
    char *out; // next free byte of the buffer
    const char *error;
} Parser;

static void ws(Parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int fail(Parser *ps, const char *why) {
    if (!ps->error) ps->error = why;
    return -1;
}

static int hex4(const char *s, uint32_t *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        *v = *v * 16 + (uint32_t)d;
    }
    return 0;
}

// Decodes the string at ps->p (at its opening quote) into ps->out, NUL-terminated.
static int string(Parser *ps, const char **val, size_t *len) {
    ps->p++;
    char *o = ps->out;
    *val = o;
    for (;;) {
        const char *q = ps->p;
        while (q < ps->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) q++;
        memcpy(o, ps->p, (size_t)(q - ps->p));
        o += q - ps->p;
        ps->p = q;
        if (q >= ps->end) return fail(ps, "a string is never closed");
        if (*q == '"') break;
        if ((unsigned char)*q < 0x20) return fail(ps, "a control character inside a string");
        if (q + 1 >= ps->end) return fail(ps, "a string is never closed");
        char e = q[1];
        ps->p = q + 2;
        switch (e) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '/':
            *o++ = '/';
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            uint32_t cp;
            if (ps->end - ps->p < 4 || hex4(ps->p, &cp)) return fail(ps, "a bad \\u escape");
            ps->p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u' &&
                    !hex4(ps->p + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    ps->p += 6;
                } else {
                    cp = ELM_UTF8_REPLACEMENT;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = ELM_UTF8_REPLACEMENT;
            }
            o += elm_utf8_encode(cp, o);
            break;
        }
        default:
            return fail(ps, "a bad escape in a string");
        }
    }
    ps->p++; // closing quote
    *len = (size_t)(o - *val);
    *o++ = '\0';
    ps->out = o;
    return 0;
}

static int value(Parser *ps, int depth, const char **sval, size_t *slen);

static int literal(Parser *ps, const char *word) {
    size_t l = strlen(word);
    if ((size_t)(ps->end - ps->p) < l || memcmp(ps->p, word, l)) return fail(ps, "bad JSON value");
    ps->p += l;
    return 0;
}

static int number(Parser *ps) {
    const char *s = ps->p;
    if (ps->p < ps->end && *ps->p == '-') ps->p++;
    const char *d = ps->p;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    if (ps->p == d) return fail(ps, "bad JSON value");
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        const char *f = ps->p;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
        if (ps->p == f) return fail(ps, "bad number");
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
        const char *x = ps->p;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
        if (ps->p == x) return fail(ps, "bad number");
    }
    return ps->p > s ? 0 : -1;
}

// Parses members of an object (ps->p after '{'); for the top level (keys != NULL) records the
// wanted string values.
static int object(Parser *ps, int depth, const char *const *keys, int nkeys, const char **vals,
                  size_t *lens) {
    ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        ws(ps);
        if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected a key");
        const char *key;
        size_t klen;
        if (string(ps, &key, &klen)) return -1;
        ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') return fail(ps, "expected ':'");
        ps->p++;
        ws(ps);
        const char *sv = NULL;
        size_t sl = 0;
        if (value(ps, depth + 1, &sv, &sl)) return -1;
        for (int i = 0; keys && i < nkeys; i++)
            if (strlen(keys[i]) == klen && memcmp(keys[i], key, klen) == 0)
                vals[i] = sv, lens[i] = sl;
        ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return 0;
        }
        return fail(ps, "expected ',' or '}'");
    }
}

static int array(Parser *ps, int depth) {
    ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return 0;
    }
    for (;;) {
        ws(ps);
        const char *sv;
        size_t sl;
        if (value(ps, depth + 1, &sv, &sl)) return -1;
        ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return 0;
        }
        return fail(ps, "expected ',' or ']'");
    }
}

static int value(Parser *ps, int depth, const char **sval, size_t *slen) {
    *sval = NULL, *slen = 0;
    if (depth > 64) return fail(ps, "nested too deeply");
    if (ps->p >= ps->end) return fail(ps, "a value is missing");
    switch (*ps->p) {
    case '"':
        return string(ps, sval, slen);
    case '{':
        ps->p++;
        return object(ps, depth, NULL, 0, NULL, NULL);
    case '[':
        ps->p++;
        return array(ps, depth);
    case 't':
        return literal(ps, "true");
    case 'f':
        return literal(ps, "false");
    case 'n':
        return literal(ps, "null");
    default:
        return number(ps);
    }
}

int elm_json_line_fields(ElmJsonLine *jl, const char *s, size_t n, const char *const *keys,
                         int nkeys, const char **vals, size_t *lens) {
    for (int i = 0; i < nkeys; i++) vals[i] = NULL, lens[i] = 0;
    jl->error = NULL;
    // decoded strings never outgrow their source, plus one NUL each
    if (n + n / 2 + 16 > jl->cap) {
        size_t cap = (n + n / 2 + 16) * 2;
        char *b = realloc(jl->buf, cap);
        if (!b) {
            jl->error = "out of memory";
            return -1;
        }
        jl->buf = b, jl->cap = cap;
    }
    Parser ps = {s, s + n, jl->buf, NULL};
    ws(&ps);
    if (ps.p >= ps.end || *ps.p != '{') {
        jl->error = "expected a JSON object";
        return -1;
    }
    ps.p++;
    if (object(&ps, 0, keys, nkeys, vals, lens)) {
        jl->error = ps.error ? ps.error : "malformed JSON";
        return -1;
    }
    ws(&ps);
    if (ps.p != ps.end) {
        jl->error = "unexpected text after the object";
        return -1;
    }
    return 0;
}

void elm_json_line_free(ElmJsonLine *jl) {
    free(jl->buf);
    jl->buf = NULL;
    jl->cap = 0;
}
