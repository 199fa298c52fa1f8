// fuzz_util.h — what the file-reading harnesses share: the input written to a temporary file.
// Included by tests/fuzz/fuzz_*.c.
#ifndef ELM_FUZZ_UTIL_H
#define ELM_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// Writes data to one file per process (under $TMPDIR or /tmp, named for the process and
// `ext`) and returns its path, or NULL when it cannot be written.
static const char *fuzz_write_tmp(const unsigned char *data, size_t size, const char *ext) {
    static char path[512];
    if (!path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/elm-fuzz-%ld%s", dir && dir[0] ? dir : "/tmp",
                 (long)getpid(), ext);
    }
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    int ok = fwrite(data, 1, size, f) == size;
    ok = fclose(f) == 0 && ok;
    return ok ? path : NULL;
}

#endif
