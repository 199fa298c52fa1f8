// ingest_csv.c — twint CSV exports (tab- or comma-separated, one header row, quoted fields that
// may hold newlines), parsed with libcsv as Python's csv module reads them: spaces kept, a quote
// inside an unquoted field taken literally. Rows are fed one physical line at a time so errors
// can name the line a row starts on.
#include "engine/data/ingest_internal.h"
#include "engine/base/buf.h"

#include <csv.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { C_ID, C_TEXT, C_USER, C_CREATED, C_DATE, C_TIME, C_LANG, C_RETWEET, C_REPLY, C_COUNT };

// Header names for each column we use (lower case), in order of preference.
static const char *const column_names[C_COUNT][5] = {
    [C_ID] = {"id", "id_str", "tweet_id", NULL},
    [C_TEXT] = {"tweet", "text", "full_text", "content", "rawcontent"},
    [C_USER] = {"username", "screen_name", "user", "author", NULL},
    [C_CREATED] = {"created_at", NULL},
    [C_DATE] = {"date", NULL},
    [C_TIME] = {"time", NULL},
    [C_LANG] = {"language", "lang", NULL},
    [C_RETWEET] = {"retweet", "is_retweet", NULL},
    [C_REPLY] = {"reply_to", "in_reply_to_status_id", NULL},
};

typedef struct CsvState {
    const char *path;
    ElmIngestSink *sink;
    ElmError *err;
    int failed;
    ElmBuf row; // the current row's fields, back to back
    size_t *off, *flen;
    int nf, capf;
    int ncols; // 0 until the header row is read
    int col[C_COUNT], rank[C_COUNT];
    int row_start, pending; // line the current row started on; a row is under way
} CsvState;

static int space_never(unsigned char c) {
    (void)c;
    return 0;
}

static void on_field(void *s, size_t len, void *data) {
    CsvState *st = data;
    if (st->failed) return;
    if (st->nf == st->capf) {
        int cap = st->capf ? st->capf * 2 : 64;
        size_t *o = realloc(st->off, (size_t)cap * sizeof *o);
        if (o) st->off = o;
        size_t *l = realloc(st->flen, (size_t)cap * sizeof *l);
        if (l) st->flen = l;
        if (!o || !l) {
            st->failed = 1;
            elm_err(st->err, "%s: out of memory", st->path);
            return;
        }
        st->capf = cap;
    }
    size_t at = st->row.len;
    elm_buf_append(&st->row, s, len);
    if (st->row.oom) {
        st->failed = 1;
        elm_err(st->err, "%s: out of memory", st->path);
        return;
    }
    st->off[st->nf] = at;
    st->flen[st->nf] = len;
    st->nf++;
}

static void take_header(CsvState *st) {
    st->ncols = st->nf;
    for (int c = 0; c < C_COUNT; c++) st->col[c] = -1, st->rank[c] = 99;
    for (int i = 0; i < st->nf; i++) {
        const char *name = st->row.data + st->off[i];
        size_t n = st->flen[i];
        while (n && (*name == ' ' || *name == '\xef')) { // spaces, a UTF-8 byte order mark
            size_t skip = *name == ' ' ? 1 : (n >= 3 ? 3 : n);
            name += skip, n -= skip;
        }
        for (int c = 0; c < C_COUNT; c++)
            for (int r = 0; r < 5 && column_names[c][r]; r++)
                if (strlen(column_names[c][r]) == n &&
                    strncasecmp(column_names[c][r], name, n) == 0 && r < st->rank[c])
                    st->col[c] = i, st->rank[c] = r;
    }
}

static const char *field(const CsvState *st, int c, size_t *n) {
    int i = st->col[c];
    if (i < 0) {
        *n = 0;
        return NULL;
    }
    *n = st->flen[i];
    return st->row.data + st->off[i];
}

static int truthy(const char *s, size_t n) {
    return (n == 4 && strncasecmp(s, "true", 4) == 0) || (n == 1 && s[0] == '1');
}

// A creation time given as Unix epoch seconds or milliseconds ("1610951206000.0") becomes
// ISO 8601 UTC; anything else is kept as written, a number past the year 9999 included (it
// would not fit a time_t, and converting it would be undefined).
static size_t epoch_to_iso(const char *s, size_t n, char *out, size_t cap) {
    if (n == 0 || n > 24) return 0;
    char tmp[32];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    double v = strtod(tmp, &end);
    if (*end || !isdigit((unsigned char)tmp[0])) return 0;
    if (v > 1e11) v /= 1000.0;           // milliseconds
    if (!(v < 253402300800.0)) return 0; // 10000-01-01T00:00:00Z
    time_t t = (time_t)v;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) return 0;
    return strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void on_row(int c, void *data) {
    (void)c;
    CsvState *st = data;
    st->pending = 0;
    if (st->failed) return;
    if (st->ncols == 0) {
        take_header(st);
        if (st->col[C_TEXT] < 0) {
            st->failed = 1;
            elm_err(st->err, "%s:%d: the header has no text column (tweet, text or full_text)",
                    st->path, st->row_start);
        }
    } else if (st->nf != st->ncols) {
        st->failed = 1;
        elm_err(st->err,
                "%s:%d: the row has %d fields but the header has %d (an unbalanced quote?)",
                st->path, st->row_start, st->nf, st->ncols);
    } else {
        ElmRawPost p;
        memset(&p, 0, sizeof p);
        p.line = st->row_start;
        p.id = field(st, C_ID, &p.id_len);
        p.text = field(st, C_TEXT, &p.text_len);
        p.account = field(st, C_USER, &p.account_len);
        p.lang = field(st, C_LANG, &p.lang_len);
        char when[64];
        size_t n;
        const char *created = field(st, C_CREATED, &n);
        size_t iso = created ? epoch_to_iso(created, n, when, sizeof when) : 0;
        if (iso) {
            p.created_at = when, p.created_len = iso;
        } else if (created && n) {
            p.created_at = created, p.created_len = n;
        } else {
            size_t dn, tn;
            const char *d = field(st, C_DATE, &dn), *t = field(st, C_TIME, &tn);
            if (d && t && dn && tn && dn + tn + 2 < sizeof when) {
                memcpy(when, d, dn);
                when[dn] = ' ';
                memcpy(when + dn + 1, t, tn);
                p.created_at = when, p.created_len = dn + 1 + tn;
            } else {
                p.created_at = d, p.created_len = dn;
            }
        }
        const char *rt = field(st, C_RETWEET, &n);
        p.is_retweet = rt ? truthy(rt, n) : -1;
        const char *rp = field(st, C_REPLY, &n);
        p.is_reply = rp && n && !(n == 2 && memcmp(rp, "[]", 2) == 0) ? 1 : -1;
        if (elm_ingest_emit(st->sink, &p, st->err)) st->failed = 1;
    }
    st->nf = 0;
    st->row.len = 0;
}

int elm_ingest_read_csv(const char *path, const char *data, size_t n, ElmIngestSink *sink,
                        ElmError *err) {
    // the delimiter is the one the header line holds more of
    const char *nl = memchr(data, '\n', n);
    size_t hl = nl ? (size_t)(nl - data) : n, tabs = 0, commas = 0;
    for (size_t i = 0; i < hl; i++) tabs += data[i] == '\t', commas += data[i] == ',';
    struct csv_parser p;
    if (csv_init(&p, 0) != 0) return elm_err(err, "%s: out of memory", path);
    csv_set_delim(&p, tabs >= commas ? CSV_TAB : CSV_COMMA);
    csv_set_space_func(&p, space_never);
    CsvState st;
    memset(&st, 0, sizeof st);
    st.path = path, st.sink = sink, st.err = err;
    int line = 1;
    size_t pos = 0;
    while (pos < n && !st.failed) {
        const char *e = memchr(data + pos, '\n', n - pos);
        size_t end = e ? (size_t)(e - data) + 1 : n;
        if (!st.pending) {
            int blank = 1;
            for (size_t i = pos; i < end && blank; i++) blank = data[i] == '\n' || data[i] == '\r';
            if (!blank) st.row_start = line, st.pending = 1;
        }
        if (csv_parse(&p, data + pos, end - pos, on_field, on_row, &st) != end - pos &&
            !st.failed) {
            st.failed = 1;
            elm_err(err, "%s:%d: %s", path, line, csv_strerror(csv_error(&p)));
        }
        pos = end;
        line++;
    }
    // A last line without a newline still ends its row; a row still under way after that is
    // inside a quoted field that never closes (libcsv would take it silently).
    if (!st.failed && n && data[n - 1] != '\n' && data[n - 1] != '\r')
        csv_parse(&p, "\n", 1, on_field, on_row, &st);
    if (!st.failed && st.pending) {
        st.failed = 1;
        elm_err(err, "%s:%d: a quoted field is never closed (unbalanced quote)", path,
                st.row_start);
    }
    if (!st.failed) csv_fini(&p, on_field, on_row, &st);
    csv_free(&p);
    elm_buf_free(&st.row);
    free(st.off);
    free(st.flen);
    return st.failed ? -1 : 0;
}
