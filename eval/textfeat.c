// textfeat.c — tokenizer, vocabulary and weighting matching scikit-learn's vectorizers.
//
// scikit-learn lowercases (str.lower), then takes tokens with the pattern (?u)\b\w\w+\b, i.e.
// maximal runs of word characters (letters, digits, '_') at least two characters long; stop
// words go before n-grams are formed; n-grams join tokens with one space. The vocabulary is
// sorted, then pruned by document frequency, then cut to max_features by total count.
#include "eval/textfeat.h"
#include "eval/stopwords.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <locale.h>
#include <pcre2.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

void elm_textfeat_defaults(ElmTextFeatOpts *o) {
    memset(o, 0, sizeof *o);
    o->ngram_min = o->ngram_max = 1;
    o->min_df = 1;
    o->max_df = 1.0;
    o->tfidf = 1;
}

int elm_textfeat_check(const ElmTextFeatOpts *o, ElmError *err) {
    if (o->ngram_min < 1 || o->ngram_max < o->ngram_min || o->ngram_max > 8)
        return elm_err(err, "ngram range %d..%d is invalid (need 1 <= min <= max <= 8)",
                       o->ngram_min, o->ngram_max);
    if (o->min_df < 0 || o->max_df < 0) return elm_err(err, "min_df and max_df must be >= 0");
    if (o->max_features < 0) return elm_err(err, "max_features must be >= 0");
    return 0;
}

// Decodes one UTF-8 code point at s (n bytes left); returns its length, or 1 with *cp = -1 for
// an invalid byte.
static int utf8_next(const unsigned char *s, size_t n, int *cp) {
    unsigned c = s[0];
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || (size_t)len > n) return *cp = -1, 1;
    if (len == 1) return *cp = (int)c, 1;
    unsigned v = c & (0x7f >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return *cp = -1, 1;
        v = (v << 6) | (s[i] & 0x3f);
    }
    *cp = (int)v;
    return len;
}

static int utf8_put(char *out, unsigned cp) {
    if (cp < 0x80) return out[0] = (char)cp, 1;
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

// Unicode rules for non-ASCII text: lowercasing from the C.UTF-8 locale; word characters as
// Python's str.isalnum() (letters and numbers, not combining marks), tested with PCRE2.
typedef struct TextLocale {
    locale_t loc;
    pcre2_code *word;
    pcre2_match_data *md;
} TextLocale;

void *elm_textfeat_locale(void) {
    TextLocale *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    int ec;
    PCRE2_SIZE eo;
    t->word = pcre2_compile((PCRE2_SPTR) "[\\p{L}\\p{N}]", PCRE2_ZERO_TERMINATED,
                            PCRE2_UTF | PCRE2_ANCHORED, &ec, &eo, NULL);
    t->md = t->word ? pcre2_match_data_create_from_pattern(t->word, NULL) : NULL;
    if (t->loc == (locale_t)0 || !t->word || !t->md) {
        elm_textfeat_locale_free(t);
        return NULL;
    }
    return t;
}

void elm_textfeat_locale_free(void *locale) {
    TextLocale *t = locale;
    if (!t) return;
    if (t->loc != (locale_t)0) freelocale(t->loc);
    pcre2_match_data_free(t->md);
    pcre2_code_free(t->word);
    free(t);
}

static int unicode_word(TextLocale *t, int cp) {
    char b[4];
    int n = utf8_put(b, (unsigned)cp);
    return pcre2_match(t->word, (PCRE2_SPTR)b, (PCRE2_SIZE)n, 0, 0, t->md, NULL) > 0;
}

int elm_tokens_init(ElmTokens *t, ElmError *err) {
    memset(t, 0, sizeof *t);
    t->cap = 4096;
    t->max_tok = 1024;
    t->buf = malloc(t->cap);
    t->tok = malloc((size_t)t->max_tok * sizeof *t->tok);
    if (!t->buf || !t->tok) {
        elm_tokens_free(t);
        return elm_err(err, "out of memory for a tokenizer");
    }
    return 0;
}

void elm_tokens_free(ElmTokens *t) {
    free(t->buf);
    free(t->tok);
    memset(t, 0, sizeof *t);
}

int elm_tokenize(ElmTokens *t, const char *doc, int stop_words, void *locale, ElmError *err) {
    size_t n = strlen(doc);
    // Lowercasing can at most grow a code point from 1 to 4 bytes, plus one NUL per token.
    if (5 * n + 1 > t->cap) {
        size_t cap = 5 * n + 1;
        char *b = malloc(cap);
        if (!b) return elm_err(err, "out of memory tokenizing a %zu-byte document", n);
        free(t->buf);
        t->buf = b;
        t->cap = cap;
    }
    t->n = 0;
    const unsigned char *s = (const unsigned char *)doc;
    size_t pos = 0, w = 0, start = 0;
    int chars = 0; // code points in the current run of word characters
    for (;;) {
        int cp = -1, len = 0, word = 0;
        if (pos < n) {
            len = utf8_next(s + pos, n - pos, &cp);
            if (cp >= 0) {
                if (cp < 0x80) {
                    if (cp >= 'A' && cp <= 'Z') cp += 32;
                    word = (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') || cp == '_';
                } else if (locale) {
                    TextLocale *tl = locale;
                    cp = (int)towlower_l((wint_t)cp, tl->loc);
                    word = unicode_word(tl, cp);
                }
            }
        }
        if (word) {
            if (chars == 0) start = w;
            w += (size_t)utf8_put(t->buf + w, (unsigned)cp);
            chars++;
        } else if (chars > 0) {
            size_t tl = w - start;
            if (chars >= 2 && !(stop_words && elm_stopword(t->buf + start, tl))) {
                if (t->n == t->max_tok) {
                    int mt = t->max_tok * 2;
                    char **nt = realloc(t->tok, (size_t)mt * sizeof *nt);
                    if (!nt) return elm_err(err, "out of memory tokenizing");
                    t->tok = nt;
                    t->max_tok = mt;
                }
                t->buf[w++] = 0;
                t->tok[t->n++] = t->buf + start;
            } else {
                w = start;
            }
            chars = 0;
        }
        if (pos >= n) break;
        pos += (size_t)len;
    }
    return t->n;
}

// ---- n-grams of one document as term ids --------------------------------------------------

typedef struct DocTerms {
    ElmTokens tok;
    char *gram;
    size_t gram_cap;
    int32_t *ids;
    int n_ids, cap_ids;
} DocTerms;

static int docterms_init(DocTerms *d, ElmError *err) {
    memset(d, 0, sizeof *d);
    if (elm_tokens_init(&d->tok, err)) return -1;
    d->gram_cap = 1024;
    d->cap_ids = 1024;
    d->gram = malloc(d->gram_cap);
    d->ids = malloc((size_t)d->cap_ids * sizeof *d->ids);
    if (!d->gram || !d->ids) return elm_err(err, "out of memory for n-grams");
    return 0;
}

static void docterms_free(DocTerms *d) {
    elm_tokens_free(&d->tok);
    free(d->gram);
    free(d->ids);
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

// Collects the term ids of doc's n-grams (sorted, with repeats). With `add`, unseen terms join
// map; otherwise they are skipped.
static int doc_ids(DocTerms *d, const ElmTextFeatOpts *o, void *locale, const char *doc,
                   ElmTermMap *map, int add, ElmError *err) {
    int nt = elm_tokenize(&d->tok, doc, o->stop_words, locale, err);
    if (nt < 0) return -1;
    d->n_ids = 0;
    for (int ng = o->ngram_min; ng <= o->ngram_max; ng++) {
        for (int i = 0; i + ng <= nt; i++) {
            size_t len = 0;
            for (int j = 0; j < ng; j++) len += strlen(d->tok.tok[i + j]) + 1;
            if (len > d->gram_cap) {
                char *g = realloc(d->gram, len);
                if (!g) return elm_err(err, "out of memory for n-grams");
                d->gram = g;
                d->gram_cap = len;
            }
            size_t w = 0;
            for (int j = 0; j < ng; j++) {
                if (j) d->gram[w++] = ' ';
                size_t tl = strlen(d->tok.tok[i + j]);
                memcpy(d->gram + w, d->tok.tok[i + j], tl);
                w += tl;
            }
            int id =
                add ? elm_termmap_add(map, d->gram, w, err) : elm_termmap_find(map, d->gram, w);
            if (add && id < 0) return -1;
            if (id < 0) continue;
            if (d->n_ids == d->cap_ids) {
                int nc = d->cap_ids * 2;
                int32_t *ni = realloc(d->ids, (size_t)nc * sizeof *ni);
                if (!ni) return elm_err(err, "out of memory for n-grams");
                d->ids = ni;
                d->cap_ids = nc;
            }
            d->ids[d->n_ids++] = id;
        }
    }
    qsort(d->ids, (size_t)d->n_ids, sizeof *d->ids, cmp_i32);
    return 0;
}

// Appends doc's (id, count) pairs to a growing CSR of raw counts.
typedef struct CountBuilder {
    ElmCsr m;
    int64_t cap;
} CountBuilder;

static int builder_push(CountBuilder *b, const int32_t *ids, int n, int row, ElmError *err) {
    int64_t k = b->m.indptr[row];
    if (k + n > b->cap) {
        int64_t nc = (k + n) * 2;
        int32_t *ni = realloc(b->m.indices, (size_t)nc * sizeof *ni);
        double *nd = realloc(b->m.data, (size_t)nc * sizeof *nd);
        if (ni) b->m.indices = ni;
        if (nd) b->m.data = nd;
        if (!ni || !nd) return elm_err(err, "out of memory building the count matrix");
        b->cap = nc;
    }
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && ids[j] == ids[i]) j++;
        b->m.indices[k] = ids[i];
        b->m.data[k] = j - i;
        k++;
        i = j;
    }
    b->m.indptr[row + 1] = k;
    return 0;
}

static int count_docs(const ElmTextFeatOpts *o, void *locale, const char *const *docs, int n_docs,
                      ElmTermMap *map, int add, ElmCsr *out, ElmError *err) {
    DocTerms d;
    CountBuilder b = {0};
    if (docterms_init(&d, err) || elm_csr_alloc(&b.m, n_docs, 0, 1024, err)) {
        docterms_free(&d);
        return -1;
    }
    b.cap = 1024;
    for (int i = 0; i < n_docs; i++) {
        if (doc_ids(&d, o, locale, docs[i], map, add, err) ||
            builder_push(&b, d.ids, d.n_ids, i, err)) {
            docterms_free(&d);
            elm_csr_free(&b.m);
            return -1;
        }
    }
    docterms_free(&d);
    b.m.nnz = b.m.indptr[n_docs];
    b.m.n_cols = map->n;
    *out = b.m;
    return 0;
}

// ---- vocabulary --------------------------------------------------------------------------

typedef struct TermRank {
    const char *term;
    int old_id;
    int64_t df, tf;
} TermRank;

static int cmp_term(const void *a, const void *b) {
    return strcmp(((const TermRank *)a)->term, ((const TermRank *)b)->term);
}

// Most frequent first; equal totals keep alphabetical order (scikit-learn's argsort leaves
// ties unspecified).
static int cmp_tf_desc(const void *a, const void *b) {
    const TermRank *x = a, *y = b;
    if (x->tf != y->tf) return x->tf < y->tf ? 1 : -1;
    return strcmp(x->term, y->term);
}

static int weigh(const ElmTextFeat *tf, ElmCsr *X) {
    for (int r = 0; r < X->n_rows; r++) {
        double ss = 0;
        for (int64_t k = X->indptr[r]; k < X->indptr[r + 1]; k++) {
            double v = tf->opts.binary ? 1.0 : X->data[k];
            if (tf->opts.tfidf) v *= tf->idf[X->indices[k]];
            X->data[k] = v;
            ss += v * v;
        }
        if (tf->opts.tfidf && ss > 0) {
            double inv = 1.0 / sqrt(ss);
            for (int64_t k = X->indptr[r]; k < X->indptr[r + 1]; k++) X->data[k] *= inv;
        }
    }
    return 0;
}

// Renumbers the raw counts into the kept vocabulary in place (remap: old id -> new id or -1),
// rows sorted by the new ids.
static void renumber(ElmCsr *raw, const int32_t *remap, int n_docs, int kept) {
    int64_t w = 0;
    for (int row = 0; row < n_docs; row++) {
        int64_t b = raw->indptr[row], e = raw->indptr[row + 1], start = w;
        for (int64_t k = b; k < e; k++) {
            int32_t id = remap[raw->indices[k]];
            if (id < 0) continue;
            raw->indices[w] = id;
            raw->data[w] = raw->data[k];
            w++;
        }
        raw->indptr[row] = start;
        // Insertion sort: rows are short and mostly ordered.
        for (int64_t k = start + 1; k < w; k++) {
            int32_t id = raw->indices[k];
            double v = raw->data[k];
            int64_t j = k - 1;
            while (j >= start && raw->indices[j] > id) {
                raw->indices[j + 1] = raw->indices[j];
                raw->data[j + 1] = raw->data[j];
                j--;
            }
            raw->indices[j + 1] = id;
            raw->data[j + 1] = v;
        }
    }
    raw->indptr[n_docs] = w;
    raw->nnz = w;
    raw->n_cols = kept;
}

// Ranks the n_all counted terms into r (df, tf per term) and keeps those within min_df /
// max_df, the max_features most frequent of them, sorted by term. Returns how many, or -1.
static int select_terms(const ElmTextFeatOpts *o, const ElmTermMap *all, const ElmCsr *raw,
                        int n_docs, TermRank *r, ElmError *err) {
    int n_all = all->n;
    for (int i = 0; i < n_all; i++) r[i].term = all->terms[i], r[i].old_id = i;
    for (int64_t k = 0; k < raw->nnz; k++) {
        r[raw->indices[k]].df++;
        r[raw->indices[k]].tf += (int64_t)raw->data[k];
    }
    if (n_all == 0)
        return elm_err(err, "the documents have no words of two or more letters%s",
                       o->stop_words ? " besides stop words" : "");
    double max_count = o->max_df <= 1.0 ? o->max_df * n_docs : o->max_df;
    double min_count = o->min_df < 1.0 ? o->min_df * n_docs : o->min_df;
    if (max_count < min_count)
        return elm_err(err, "max_df corresponds to fewer documents than min_df");
    int kept = 0;
    for (int i = 0; i < n_all; i++)
        if (r[i].df >= min_count && r[i].df <= max_count) r[kept++] = r[i];
    if (kept == 0)
        return elm_err(err,
                       "no terms remain after min_df=%g / max_df=%g; lower min_df or raise max_df",
                       o->min_df, o->max_df);
    if (o->max_features > 0 && kept > o->max_features) {
        qsort(r, (size_t)kept, sizeof *r, cmp_tf_desc);
        kept = o->max_features;
    }
    qsort(r, (size_t)kept, sizeof *r, cmp_term);
    return kept;
}

int elm_textfeat_fit(ElmTextFeat *tf, const ElmTextFeatOpts *o, const char *const *docs, int n_docs,
                     ElmCsr *X, ElmError *err) {
    memset(tf, 0, sizeof *tf);
    memset(X, 0, sizeof *X);
    if (elm_textfeat_check(o, err)) return -1;
    if (n_docs <= 0) return elm_err(err, "no documents to build features from");
    tf->opts = *o;
    tf->locale = elm_textfeat_locale();
    ElmTermMap all;
    ElmCsr raw;
    if (elm_termmap_init(&all, err)) return -1;
    if (count_docs(o, tf->locale, docs, n_docs, &all, 1, &raw, err)) {
        elm_termmap_free(&all);
        return -1;
    }
    int n_all = all.n;
    TermRank *r = calloc((size_t)n_all + 1, sizeof *r);
    int32_t *remap = malloc(((size_t)n_all + 1) * sizeof *remap);
    int rc = -1;
    if (!r || !remap) {
        elm_err(err, "out of memory ranking %d terms", n_all);
        goto done;
    }
    int kept = select_terms(o, &all, &raw, n_docs, r, err);
    if (kept < 0) goto done;
    for (int i = 0; i < n_all; i++) remap[i] = -1;
    if (elm_termmap_init(&tf->vocab, err)) goto done;
    tf->idf = malloc((size_t)kept * sizeof *tf->idf);
    if (!tf->idf) {
        elm_err(err, "out of memory for idf");
        goto done;
    }
    for (int i = 0; i < kept; i++) {
        remap[r[i].old_id] = i;
        if (elm_termmap_add(&tf->vocab, r[i].term, strlen(r[i].term), err) != i) goto done;
        // Smooth idf: as if one extra document held every term once.
        tf->idf[i] = log((1.0 + n_docs) / (1.0 + (double)r[i].df)) + 1.0;
    }
    tf->n_terms = kept;
    renumber(&raw, remap, n_docs, kept);
    weigh(tf, &raw);
    *X = raw;
    raw.indptr = NULL, raw.indices = NULL, raw.data = NULL;
    rc = 0;
done:
    free(r);
    free(remap);
    elm_termmap_free(&all);
    elm_csr_free(&raw);
    if (rc) elm_textfeat_free(tf);
    return rc;
}

int elm_textfeat_transform(const ElmTextFeat *tf, const char *const *docs, int n_docs, ElmCsr *X,
                           ElmError *err) {
    if (count_docs(&tf->opts, tf->locale, docs, n_docs, (ElmTermMap *)&tf->vocab, 0, X, err))
        return -1;
    X->n_cols = tf->n_terms;
    return weigh(tf, X);
}

int elm_textfeat_from_terms(ElmTextFeat *tf, const ElmTextFeatOpts *o, const char *const *terms,
                            int n_terms, ElmError *err) {
    memset(tf, 0, sizeof *tf);
    if (elm_textfeat_check(o, err)) return -1;
    if (o->tfidf) return elm_err(err, "a saved vocabulary carries no idf (tfidf must be off)");
    tf->opts = *o;
    if (elm_termmap_init(&tf->vocab, err)) return -1;
    for (int i = 0; i < n_terms; i++) {
        size_t len = strlen(terms[i]);
        if (elm_termmap_find(&tf->vocab, terms[i], len) >= 0) {
            elm_textfeat_free(tf);
            return elm_err(err, "the vocabulary holds \"%s\" twice", terms[i]);
        }
        if (elm_termmap_add(&tf->vocab, terms[i], len, err) != i) {
            elm_textfeat_free(tf);
            return -1;
        }
    }
    tf->n_terms = n_terms;
    tf->locale = elm_textfeat_locale();
    return 0;
}

void elm_textfeat_free(ElmTextFeat *tf) {
    elm_termmap_free(&tf->vocab);
    free(tf->idf);
    elm_textfeat_locale_free(tf->locale);
    memset(tf, 0, sizeof *tf);
}

const char *elm_textfeat_term(const ElmTextFeat *tf, int id) {
    return tf->vocab.terms[id];
}
