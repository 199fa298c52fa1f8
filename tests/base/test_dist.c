// test_dist.c — ElmDist's collectives against what each rank can compute by itself: sums of
// seeded per-rank values (every element), variable-size gathers (every byte, a rank sending
// nothing), float blocks reduce-scattered, all-gathered and gathered (1, 7 and 1001 floats,
// uneven over the ranks), broadcast, agreement (who failed, which message, sticky). Plain
// (ctest) it checks the one-process fallback; tests/base/test_dist_launch.sh runs it under `mpirun
// -np 1/2/3` too, and in its "timeout" and "kill" modes (a rank that hangs, a rank that dies).
#include "elmtest.h"
#include "engine/base/dist.h"
#include "engine/base/rng.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// Rank r's values: seeded by r, so every rank can compute every other rank's.
static double value(int r, size_t i) {
    uint64_t s = elm_rng_mix(0x5eedull + (uint64_t)r * 1000003u + i);
    return (double)(s % 1000000) / 1000.0 - 500.0;
}

// Rank r's gather payload: r * 37 % 11 bytes (rank 0 sends none), byte k = r + k.
static size_t payload(int r, unsigned char *out) {
    size_t n = (size_t)((unsigned)r * 37u % 11u);
    for (size_t k = 0; k < n; k++) out[k] = (unsigned char)(r + k);
    return n;
}

static void check_sums(ElmDist *d, int rank, int size) {
    enum { N = 1000 };
    double v[N], want;
    float w[N];
    for (size_t i = 0; i < N; i++) v[i] = value(rank, i), w[i] = (float)(rank + 1) * 0.5f;
    ElmError e = {{0}};
    CHECK(elm_dist_sum_f64(d, v, N, &e) == 0, "sum_f64: %s", e.msg);
    CHECK(elm_dist_sum_f32(d, w, N, &e) == 0, "sum_f32: %s", e.msg);
    int bad = 0, badf = 0;
    for (size_t i = 0; i < N; i++) {
        want = 0;
        for (int r = 0; r < size; r++) want += value(r, i); // exact: integers over 1000
        bad += v[i] < want - 1e-6 || v[i] > want + 1e-6;
        badf += w[i] != (float)size * (float)(size + 1) * 0.25f;
    }
    CHECK(bad == 0, "%d of %d summed doubles wrong on rank %d", bad, N, rank);
    CHECK(badf == 0, "%d of %d summed floats wrong on rank %d", badf, N, rank);
}

static void check_gathers(ElmDist *d, int rank, int size) {
    unsigned char mine[16], want[16];
    size_t n = payload(rank, mine), counts[16] = {0};
    char *all = NULL;
    ElmError e = {{0}};
    for (int k = 0; k < 2; k++) { // gather to rank size-1, then all-gather
        int root = size - 1, rc;
        if (k == 0)
            rc = elm_dist_gather(d, mine, n, root, &all, counts, &e);
        else
            rc = elm_dist_allgather(d, mine, n, &all, counts, &e);
        CHECK(rc == 0, "gather %d: %s", k, e.msg);
        if (k == 0 && rank != root) {
            CHECK(all == NULL, "rank %d got a gather meant for %d", rank, root);
            continue;
        }
        const unsigned char *at = (const unsigned char *)all;
        for (int r = 0; all && r < size; r++) {
            size_t m = payload(r, want);
            CHECK(counts[r] == m, "rank %d's count %zu, want %zu", r, counts[r], m);
            CHECK(memcmp(at, want, m) == 0, "rank %d's bytes differ (gather %d)", r, k);
            at += m;
        }
        free(all);
        all = NULL;
    }
}

// Rank r's float at index i: small integers, so every sum over ranks is exact.
static float fval(int r, size_t i) {
    return (float)((uint64_t)(r + 1) * 131u + i % 1009u) - 600.0f;
}

// The blocks of n floats over size ranks as ZeRO-1 cuts them (balanced, the first n % size one
// longer): a rank past n holds an empty block.
static void blocks(size_t n, int size, size_t *counts, size_t *offs) {
    size_t at = 0;
    for (int r = 0; r < size; r++) {
        counts[r] = n / (size_t)size + ((size_t)r < n % (size_t)size);
        offs[r] = at, at += counts[r];
    }
}

// reduce-scatter, all-gather and gather of float blocks, sizes not divisible by the ranks:
// every element against what each rank can compute.
static void check_blocks(ElmDist *d, int rank, int size) {
    static const size_t sizes[] = {1, 7, 1001};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k], counts[16], offs[16];
        blocks(n, size, counts, offs);
        float *v = malloc(n * sizeof *v), *all = malloc(n * sizeof *all);
        CHECK(v && all, "out of memory");
        if (!v || !all) return;
        ElmError e = {{0}};
        for (size_t i = 0; i < n; i++) v[i] = fval(rank, i);
        CHECK(elm_dist_reduce_scatter_f32(d, v, counts, &e) == 0, "reduce-scatter: %s", e.msg);
        int bad = 0;
        for (size_t i = offs[rank]; i < offs[rank] + counts[rank]; i++) {
            float want = 0;
            for (int r = 0; r < size; r++) want += fval(r, i);
            bad += v[i] != want;
        }
        CHECK(bad == 0, "reduce-scatter of %zu: %d of rank %d's %zu wrong", n, bad, rank,
              counts[rank]);
        // all-gather: this rank's block holds its values, the rest junk until the exchange.
        for (size_t i = 0; i < n; i++) v[i] = -1e9f;
        for (size_t i = offs[rank]; i < offs[rank] + counts[rank]; i++) v[i] = fval(rank, i);
        CHECK(elm_dist_allgather_f32(d, v, counts, &e) == 0, "all-gather: %s", e.msg);
        bad = 0;
        for (int r = 0; r < size; r++)
            for (size_t i = offs[r]; i < offs[r] + counts[r]; i++) bad += v[i] != fval(r, i);
        CHECK(bad == 0, "all-gather of %zu: %d wrong on rank %d", n, bad, rank);
        // gather to the last rank, from a buffer of the block alone.
        int root = size - 1;
        for (size_t i = 0; i < counts[rank]; i++) all[i] = fval(rank, offs[rank] + i);
        for (size_t i = 0; i < n; i++) v[i] = -1e9f;
        CHECK(elm_dist_gather_f32(d, all, rank == root ? v : NULL, counts, root, &e) == 0,
              "gather: %s", e.msg);
        bad = 0;
        for (int r = 0; rank == root && r < size; r++)
            for (size_t i = offs[r]; i < offs[r] + counts[r]; i++) bad += v[i] != fval(r, i);
        CHECK(bad == 0, "gather of %zu: %d wrong on root %d", n, bad, root);
        free(v), free(all);
    }
}

static void check_bcast_agree(ElmDist *d, int rank, int size) {
    ElmError e = {{0}};
    char text[32];
    snprintf(text, sizeof text, "from rank %d", rank);
    CHECK(elm_dist_bcast(d, text, sizeof text, size - 1, &e) == 0, "bcast: %s", e.msg);
    char want[32];
    snprintf(want, sizeof want, "from rank %d", size - 1);
    CHECK(strcmp(text, want) == 0, "rank %d got \"%s\"", rank, text);
    CHECK(elm_dist_barrier(d, &e) == 0, "barrier: %s", e.msg);
    CHECK(elm_dist_agree(d, 0, &e) == 0, "agree on success failed: %s", e.msg);
    // The last rank fails: everyone gets its message with its rank (rank 0's is as is).
    int fails = rank == size - 1;
    if (fails) snprintf(e.msg, sizeof e.msg, "disk full on rank %d", rank);
    CHECK(elm_dist_agree(d, fails ? -1 : 0, &e) == -1, "agree missed a failure on rank %d", rank);
    char msg[128];
    if (size == 1)
        snprintf(msg, sizeof msg, "disk full on rank 0");
    else
        snprintf(msg, sizeof msg, "rank %d: disk full on rank %d", size - 1, size - 1);
    CHECK(strcmp(e.msg, msg) == 0, "agreed message \"%s\", want \"%s\"", e.msg, msg);
    CHECK(size == 1 || elm_dist_failed_together(d), "failure not marked as shared");
    e.msg[0] = 0; // alone an agreement is the rank's own status; in a job, the failure sticks
    int rc = elm_dist_agree(d, 0, &e);
    CHECK(size == 1 ? rc == 0 : rc == -1 && strcmp(e.msg, msg) == 0, "a later agreement: %d \"%s\"",
          rc, e.msg);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    ElmError e = {{0}};
    ElmDist *d = elm_dist_open(&e);
    CHECK(d != NULL, "open: %s", e.msg);
    if (!d) ELM_TEST_DONE();
    int rank = elm_dist_rank(d), size = elm_dist_size(d);
    CHECK(rank >= 0 && rank < size && size <= 16, "rank %d of %d", rank, size);
    if (!strcmp(mode, "timeout") || !strcmp(mode, "kill")) {
        // The last rank hangs (sleeps past the timeout) or dies; the others wait in a barrier.
        if (rank == size - 1) {
            if (!strcmp(mode, "kill")) raise(SIGKILL);
            sleep(20);
        }
        int rc = elm_dist_barrier(d, &e);
        fprintf(stderr, "rank %d: barrier %s%s\n", rank, rc ? "failed: " : "passed", e.msg);
        elm_dist_close(d);
        return rc ? 3 : 0;
    }
    check_sums(d, rank, size);
    check_gathers(d, rank, size);
    check_blocks(d, rank, size);
    CHECK(elm_dist_agree(NULL, 0, &e) == 0, "alone: agreement failed");
    check_bcast_agree(d, rank, size);
    printf("rank %d of %d (%s): ", rank, size, elm_dist_library(d) ? "mpi" : "alone");
    elm_dist_close(d);
    ELM_TEST_DONE();
}
