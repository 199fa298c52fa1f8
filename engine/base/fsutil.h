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
// Write through f (fwrite, fprintf...) or elm_atomic_write. Every write error names the file
// and the OS reason of the first write that failed ("…: write failed: No space left on device"),
// however late stdio reports it, and leaves the file at path as it was.
typedef struct ElmAtomicSink ElmAtomicSink;
typedef struct ElmAtomicFile {
    FILE *f;
    char path[4096];
    char tmp[4096];
    int part;            // opened by elm_atomic_open_part
    ElmAtomicSink *sink; // under f: the descriptor and the first write error
} ElmAtomicFile;

// The temporary of elm_atomic_open is "<path>.tmp.<pid>".
#define ELM_ATOMIC_TMP ".tmp."

int elm_atomic_open(ElmAtomicFile *af, const char *path, ElmError *err);
// The same under the fixed temporary name "<path>.part", for an output written over a long
// run (a look at the folder shows it under way). Its write errors name the ".part", and a
// commit that fails leaves the ".part" in place with what was written so far.
int elm_atomic_open_part(ElmAtomicFile *af, const char *path, ElmError *err);
// Reopens the "<path>.part" an earlier run left, cut to its first `keep` bytes, to append to
// (a resumed run); then as elm_atomic_open_part.
int elm_atomic_reopen_part(ElmAtomicFile *af, const char *path, long long keep, ElmError *err);
// Writes n bytes; on failure the error names the file and the reason (then abort the file).
int elm_atomic_write(ElmAtomicFile *af, const void *data, size_t n, ElmError *err);
// For a write through af->f that failed: fills err with the file and the reason, aborts the
// file and returns -1.
int elm_atomic_fail(ElmAtomicFile *af, ElmError *err);
// Flushes and fsyncs what was written so far (mid-write); the error names the temporary file.
int elm_atomic_sync(ElmAtomicFile *af, ElmError *err);
// Flushes, fsyncs, renames into place and fsyncs the folder. Closes the file either way.
int elm_atomic_commit(ElmAtomicFile *af, ElmError *err);
// Closes and removes the temporary file (safe to call after a commit, then a no-op).
void elm_atomic_abort(ElmAtomicFile *af);
// Copies the file `from` (read as elm_read_file reads it) to `to`, written atomically.
int elm_copy_file(const char *from, const char *to, ElmError *err);
// Writes a whole buffer atomically.
int elm_write_file_atomic(const char *path, const void *data, size_t n, ElmError *err);
// Removes, in dir and its subfolders, the temporaries elm_atomic_open left behind when its
// process was killed ("NAME.tmp.PID"); only for a folder no live writer uses (a locked run
// folder). ".part" files stay: they hold work to resume.
int elm_remove_atomic_temps(const char *dir, ElmError *err);
// fsync of a file or folder; a file system that cannot fsync folders is not an error.
int elm_fsync_path(const char *path, ElmError *err);

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
// s with glob's special characters escaped into out, so that glob() matches a literal path (a
// folder named "a[1]") as itself.
void elm_glob_escape(const char *s, char *out, size_t cap);

#endif
