// fsutil.h — files the safe way: atomic writes (temp + fsync + rename), folders, whole-file reads
// that see through gzip, the clock.
#ifndef ELM_FSUTIL_H
#define ELM_FSUTIL_H

#include "engine/base/error.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

// An output file written under a temporary name and renamed into place on commit, so a failed
// run never leaves a half-written file where a good one is expected.
typedef struct ElmAtomicFile {
    FILE *f;
    char path[4096];
    char tmp[4096];
    int part; // opened by elm_atomic_open_part
} ElmAtomicFile;

int elm_atomic_open(ElmAtomicFile *af, const char *path, ElmError *err);
// The same under the fixed temporary name "<path>.part", for an output written over a long
// run (a look at the folder shows it under way). Its write errors name the ".part", and a
// commit that fails leaves the ".part" in place with what was written so far.
int elm_atomic_open_part(ElmAtomicFile *af, const char *path, ElmError *err);
// Reopens the "<path>.part" an earlier run left, cut to its first `keep` bytes, to append to
// (a resumed run); then as elm_atomic_open_part.
int elm_atomic_reopen_part(ElmAtomicFile *af, const char *path, long long keep, ElmError *err);
// Flushes and fsyncs what was written so far (mid-write); the error names the temporary file.
int elm_atomic_sync(ElmAtomicFile *af, ElmError *err);
// Flushes, fsyncs, renames into place and fsyncs the folder. Closes the file either way.
int elm_atomic_commit(ElmAtomicFile *af, ElmError *err);
// Closes and removes the temporary file (safe to call after a commit, then a no-op).
void elm_atomic_abort(ElmAtomicFile *af);
// Writes a whole buffer atomically.
int elm_write_file_atomic(const char *path, const void *data, size_t n, ElmError *err);

// mkdir -p.
int elm_mkdirs(const char *path, ElmError *err);
int elm_file_exists(const char *path);
int elm_is_dir(const char *path);

// Reads a whole file; gzip files are decompressed transparently (truncated gzip is an error).
// The buffer is NUL-terminated (not counted in *n). Caller frees.
int elm_read_file(const char *path, char **data, size_t *n, ElmError *err);

// "<out_dir>/<name>/<rel>" into out.
void elm_path_join(char *out, size_t cap, const char *a, const char *b);

// Wall-clock seconds (monotonic).
double elm_now(void);

// Removes a file, or a folder and everything in it; a missing path is not an error.
int elm_rmtree(const char *path, ElmError *err);

#endif
