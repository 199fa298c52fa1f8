// test_faults_fsutil.c — ElmAtomicFile when writes fail (issue #21: every write failure names the
// file and the OS reason, and leaves the previous good file in place), without root: a small
// RLIMIT_FSIZE makes write(2) fail with EFBIG ("File too large") as a full disk does with ENOSPC.
// Cases: a whole-buffer write; a failure stdio reports only at the commit's flush, with errno
// changed in between (the reason must be the write's, not errno's); elm_atomic_fail after a
// failed fwrite; a ".part" (kept, named); and elm_remove_atomic_temps removing only the
// temporaries of killed writers.
#include "elmtest.h"
#include "engine/base/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static struct rlimit saved;

static void limit(rlim_t bytes) {
    struct rlimit r = saved;
    r.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &r);
}

static void unlimit(void) {
    setrlimit(RLIMIT_FSIZE, &saved);
}

// The names in dir, sorted, joined by spaces.
static void list_dir(const char *dir, char *out, size_t cap) {
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            strncat(out, names[i]->d_name, cap - strlen(out) - 2);
            strncat(out, " ", cap - strlen(out) - 1);
        }
        free(names[i]);
    }
    free(names);
}

static int holds(const char *path, const char *text) {
    char *data;
    size_t n;
    ElmError e;
    if (elm_read_file(path, &data, &n, &e)) return 0;
    int same = n == strlen(text) && memcmp(data, text, n) == 0;
    free(data);
    return same;
}

static int says(const ElmError *e, const char *path) {
    return strstr(e->msg, path) && strstr(e->msg, strerror(EFBIG));
}

static void touch(const char *dir, const char *name) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f) fclose(f);
}

int main(void) {
    signal(SIGXFSZ, SIG_IGN); // an over-limit write then fails with EFBIG instead of killing us
    getrlimit(RLIMIT_FSIZE, &saved);
    char dir[] = "/tmp/elm-faults-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[4096], ls[4096];
    snprintf(path, sizeof path, "%s/out.json", dir);
    const char *good = "{\"good\": true}\n";
    static char big[1 << 16];
    memset(big, 'x', sizeof big);
    ElmError e = {{0}};

    // A whole buffer that does not fit: the error names the file and the reason; the good file
    // stays, no temporary is left.
    CHECK(elm_write_file_atomic(path, good, strlen(good), &e) == 0, "%s", e.msg);
    limit(4096);
    CHECK(elm_write_file_atomic(path, big, sizeof big, &e) != 0, "a write over the limit fails");
    unlimit();
    CHECK(says(&e, path), "the error names the file and the reason: %s", e.msg);
    CHECK(holds(path, good), "the previous file is intact");
    list_dir(dir, ls, sizeof ls);
    CHECK(strcmp(ls, "out.json ") == 0, "no temporary is left: %s", ls);

    // Small writes whose failure stdio reports only at the commit, errno changed since.
    ElmAtomicFile af;
    CHECK(elm_atomic_open(&af, path, &e) == 0, "%s", e.msg);
    limit(4096);
    for (int i = 0; i < 2000; i++) fprintf(af.f, "line %d of a file too big for the limit\n", i);
    errno = ENOENT;
    int rc = elm_atomic_commit(&af, &e);
    unlimit();
    CHECK(rc != 0, "the commit fails");
    CHECK(says(&e, path) && !strstr(e.msg, strerror(ENOENT)),
          "the reason is the failed write's, not errno's at the commit: %s", e.msg);
    CHECK(holds(path, good), "the previous file is intact after a failed commit");
    list_dir(dir, ls, sizeof ls);
    CHECK(strcmp(ls, "out.json ") == 0, "no temporary is left after the commit: %s", ls);

    // elm_atomic_fail after a failed fwrite.
    CHECK(elm_atomic_open(&af, path, &e) == 0, "%s", e.msg);
    limit(4096);
    size_t put = fwrite(big, 1, sizeof big, af.f);
    errno = 0;
    rc = elm_atomic_fail(&af, &e);
    unlimit();
    CHECK(put < sizeof big && rc == -1, "fwrite falls short (%zu) and elm_atomic_fail fails", put);
    CHECK(says(&e, path), "elm_atomic_fail names the file and the reason: %s", e.msg);
    CHECK(af.f == NULL && holds(path, good), "the file is closed, the good one intact");

    // A ".part": kept with what was written, the error names it.
    char part[4200];
    snprintf(part, sizeof part, "%s.part", path);
    CHECK(elm_atomic_open_part(&af, path, &e) == 0, "%s", e.msg);
    limit(4096);
    CHECK(elm_atomic_write(&af, big, sizeof big, &e) != 0, "the write to the .part fails");
    unlimit();
    CHECK(says(&e, part), "the error names the .part: %s", e.msg);
    CHECK(elm_atomic_commit(&af, &e) != 0 && says(&e, part), "so does the commit: %s", e.msg);
    CHECK(elm_file_exists(part) && holds(path, good), "the .part stays, the good file too");
    unlink(part);

    // The temporaries of killed writers go, nothing else.
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0755);
    const char *names[] = {"a.json.tmp.123", "b.tmp.x",       "c.tmp.",
                           "d.jsonl.part",   "f.tmp.12.json", "g.tmp.1.tmp.22"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) touch(dir, names[i]);
    touch(sub, "e.bin.tmp.99");
    touch(sub, "keep.bin");
    CHECK(elm_remove_atomic_temps(dir, &e) == 0, "%s", e.msg);
    list_dir(dir, ls, sizeof ls);
    CHECK(strcmp(ls, "b.tmp.x c.tmp. d.jsonl.part f.tmp.12.json out.json sub ") == 0,
          "left in the folder: %s", ls);
    list_dir(sub, ls, sizeof ls);
    CHECK(strcmp(ls, "keep.bin ") == 0, "left in the subfolder: %s", ls);

    elm_rmtree(dir, &e);
    ELM_TEST_DONE();
}
