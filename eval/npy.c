// npy.c — the .npy format, version 1.0: magic, header dict padded to 64 bytes, raw data.
#include "eval/npy.h"
#include "engine/base/fsutil.h"

#include <stdio.h>
#include <string.h>

int elm_npy_write(const char *path, const char *dtype, const void *data, size_t n, size_t elem,
                  ElmError *err) {
    char header[128];
    int len = snprintf(header, sizeof header,
                       "{'descr': '%s', 'fortran_order': False, 'shape': (%zu,), }", dtype, n);
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    ElmAtomicFile af;
    if (elm_atomic_open(&af, path, err)) return -1;
    unsigned short hl = (unsigned short)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, af.f);
    fputc(hl & 0xff, af.f);
    fputc(hl >> 8, af.f);
    fwrite(header, 1, (size_t)len, af.f);
    for (int i = 0; i < pad; i++) fputc(' ', af.f);
    fputc('\n', af.f);
    if (n && fwrite(data, elem, n, af.f) != n) return elm_atomic_fail(&af, err);
    return elm_atomic_commit(&af, err);
}
