// ingest_text.c — plain text: one post per line; blank lines are not posts.
#include "engine/data/ingest_internal.h"

#include <string.h>

int elm_ingest_read_text(const char *path, const char *data, size_t n, ElmIngestSink *sink,
                         ElmError *err) {
    (void)path;
    size_t pos = 0;
    int line = 1;
    if (n >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) pos = 3; // byte order mark
    while (pos < n) {
        const char *e = memchr(data + pos, '\n', n - pos);
        size_t end = e ? (size_t)(e - data) : n, len = end - pos;
        if (len && data[pos + len - 1] == '\r') len--;
        int blank = 1;
        for (size_t i = pos; i < pos + len && blank; i++) blank = data[i] == ' ' || data[i] == '\t';
        if (!blank) {
            ElmRawPost p;
            memset(&p, 0, sizeof p);
            p.text = data + pos, p.text_len = len;
            p.is_retweet = p.is_reply = -1;
            p.line = line;
            if (elm_ingest_emit(sink, &p, err)) return -1;
        }
        pos = end + 1;
        line++;
    }
    return 0;
}
