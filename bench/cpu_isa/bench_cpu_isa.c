// bench_cpu_isa.c — one thread, each CPU kernel per instruction set, interleaved round by round
// so the paths share the machine's load: fp32 GEMM GFLOP/s (AVX-512, AVX2+FMA, the portable
// loops) on GPT-2 124M training shapes, and the decode matrix-vector (N = 1) microseconds of each
// reduced weight format (portable, AVX2, AVX-512), and the bf16 GEMM of [train] precision = bf16
// (AVX512-BF16 against AMX tiles). Medians over the rounds. Not a test.
// Usage: bench_cpu_isa [--rounds R] [--bt BT] [--only bf16]
#include "engine/base/stats.h"
#include "engine/model/gemm.h"
#include "engine/model/gemm_bf16.h"
#include "engine/model/layers.h"
#include "engine/model/qmatmul.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define MAX_ROUNDS 64

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *rand_buf(size_t n, unsigned seed) {
    float *p = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)((double)(seed >> 8) / 16777216.0 - 0.5);
    }
    return p;
}

// A GEMM shape: the forward out (M=BT, N=OC) = inp (BT, K=C) @ W^T, or the backward's
// dweight (M=OC, N=C) = dout^T @ inp, K = BT.
typedef struct {
    const char *what;
    int M, N, K, dweight;
} Shape;

// Seconds of one call of path p (0 avx512, 1 avx2, 2 loops) on shape s.
static double time_gemm(int p, const Shape *s, const float *A, const float *B, float *C) {
    double t0 = now();
    if (s->dweight) { // C (M=OC, N=C) += dout^T (OC, BT) @ inp (BT, C): A = dout (BT, OC)
        if (p == 0) elm_gemm_avx512(s->M, s->N, s->K, A, 1, s->M, B, s->N, 1, C, s->N);
        if (p == 1) elm_gemm_avx2(s->M, s->N, s->K, A, 1, s->M, B, s->N, 1, C, s->N);
    } else { // C (BT, OC) += inp (BT, C) @ W^T, W (OC, C)
        if (p == 0) elm_gemm_avx512(s->M, s->N, s->K, A, s->K, 1, B, 1, s->K, C, s->N);
        if (p == 1) elm_gemm_avx2(s->M, s->N, s->K, A, s->K, 1, B, 1, s->K, C, s->N);
        if (p == 2) elm_matmul_forward_portable(C, A, B, NULL, 1, s->M, s->K, s->N);
    }
    return now() - t0;
}

static void bench_gemm(int rounds, int BT) {
    const Shape shapes[] = {{"qkv forward", BT, 2304, 768, 0},
                            {"attn proj forward", BT, 768, 768, 0},
                            {"fc forward", BT, 3072, 768, 0},
                            {"fc proj forward", BT, 768, 3072, 0},
                            {"fc dweight", 3072, 768, BT, 1}};
    int have[] = {elm_gemm_have_avx512(), elm_gemm_have_avx2(), 1};
    printf("fp32 GEMM, 1 thread, GFLOP/s (median of %d rounds), BT = %d\n", rounds, BT);
    printf("| shape | M x N x K | avx512 | avx2+fma | loops |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const Shape *s = &shapes[i];
        float *A = rand_buf((size_t)s->M * s->K, 1), *B = rand_buf((size_t)s->K * s->N, 2);
        float *C = calloc((size_t)s->M * s->N, sizeof(float));
        double t[3][MAX_ROUNDS];
        for (int r = -1; r < rounds; r++) // round -1 warms the caches and pages up, not counted
            for (int p = 0; p < 3; p++)
                if (have[p] && !(p == 2 && s->dweight))
                    t[p][r < 0 ? 0 : r] = time_gemm(p, s, A, B, C);
        printf("| %s | %d x %d x %d |", s->what, s->M, s->N, s->K);
        double flop = 2.0 * s->M * s->N * s->K;
        for (int p = 0; p < 3; p++) {
            if (!have[p] || (p == 2 && s->dweight))
                printf(" - |");
            else
                printf(" %.1f |", flop / elm_median(t[p], rounds) * 1e-9);
        }
        printf("\n");
        free(A), free(B), free(C);
    }
}

// Seconds of one bf16 GEMM on kernel isa, the strides of layers.c's forward (A rows, B = W^T),
// dinp (A = dout rows, B = W rows) or dweight (A = dout^T, B = inp rows); -1 when it cannot run.
static double time_gemm_bf16(ElmGemmBf16Isa isa, const Shape *s, int dinp, const float *A,
                             const float *B, float *C) {
    double t0 = now();
    int rc;
    if (s->dweight)
        rc = elm_gemm_bf16_isa(isa, s->M, s->N, s->K, A, 1, s->M, B, s->N, 1, C, s->N);
    else if (dinp)
        rc = elm_gemm_bf16_isa(isa, s->M, s->N, s->K, A, s->K, 1, B, s->N, 1, C, s->N);
    else
        rc = elm_gemm_bf16_isa(isa, s->M, s->N, s->K, A, s->K, 1, B, 1, s->K, C, s->N);
    return rc ? -1 : now() - t0;
}

static void bench_gemm_bf16(int rounds, int BT) {
    const struct {
        Shape s;
        int dinp;
    } shapes[] = {
        {{"qkv forward", BT, 2304, 768, 0}, 0},     {{"fc forward", BT, 3072, 768, 0}, 0},
        {{"fc proj forward", BT, 768, 3072, 0}, 0}, {{"fc dinp", BT, 768, 3072, 0}, 1},
        {{"fc proj dinp", BT, 3072, 768, 0}, 1},    {{"qkv dweight", 2304, 768, BT, 1}, 0},
        {{"fc dweight", 3072, 768, BT, 1}, 0},      {{"fc proj dweight", 768, 3072, BT, 1}, 0}};
    printf("\nbf16 GEMM (elm_gemm_bf16_isa), 1 thread, GFLOP/s (median of %d rounds), BT = %d\n",
           rounds, BT);
    if (!elm_gemm_bf16_amx_ready()) printf("(AMX: absent or the tile permission denied)\n");
    printf("| shape | M x N x K | avx512-bf16 | amx | amx / avx512 |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const Shape *s = &shapes[i].s;
        float *A = rand_buf((size_t)s->M * s->K, 1), *B = rand_buf((size_t)s->K * s->N, 2);
        float *C = calloc((size_t)s->M * s->N, sizeof(float));
        double t[2][MAX_ROUNDS], g[2];
        int ok[2] = {1, 1};
        for (int r = -1; r < rounds; r++)
            for (int p = 0; p < 2; p++) {
                double dt = time_gemm_bf16(p == 0 ? ELM_GEMM_BF16_AVX512 : ELM_GEMM_BF16_AMX, s,
                                           shapes[i].dinp, A, B, C);
                if (dt < 0) ok[p] = 0;
                t[p][r < 0 ? 0 : r] = dt;
            }
        printf("| %s | %d x %d x %d |", s->what, s->M, s->N, s->K);
        for (int p = 0; p < 2; p++) {
            g[p] = ok[p] ? 2.0 * s->M * s->N * s->K / elm_median(t[p], rounds) * 1e-9 : 0;
            if (ok[p])
                printf(" %.1f |", g[p]);
            else
                printf(" - |");
        }
        if (ok[0] && ok[1])
            printf(" %.2f |\n", g[1] / g[0]);
        else
            printf(" - |\n");
        free(A), free(B), free(C);
    }
}

static void bench_qmatmul(int rounds) {
    const int shapes[][2] = {{2304, 768}, {768, 768}, {3072, 768}, {768, 3072}}; // (OC, K)
    const struct {
        const char *name;
        int fmt, mode;
    } fmts[] = {{"bf16", ELM_QMM_BF16, 0},
                {"int8 act8", ELM_QMM_INT8, ELM_QMM_INT8_ACT8},
                {"int8 deq", ELM_QMM_INT8, ELM_QMM_INT8_DEQ}};
    const int isas[] = {ELM_QMM_PORTABLE, ELM_QMM_AVX2, ELM_QMM_AVX512};
    printf("\ndecode matvec (N = 1), 1 thread, microseconds per call (median of %d rounds)\n",
           rounds);
    printf("| format | OC x K | portable | avx2 | avx512 |\n|---|---|---|---|---|\n");
    for (int f = 0; f < 3; f++)
        for (int i = 0; i < 4; i++) {
            int OC = shapes[i][0], K = shapes[i][1];
            float *w = rand_buf((size_t)OC * K, 3), *x = rand_buf((size_t)K, 4);
            float *y = malloc((size_t)OC * sizeof(float));
            ElmQMat q;
            ElmError err;
            if (elm_qmatmul_pack(&q, fmts[f].fmt, w, OC, K, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                exit(1);
            }
            void *scratch = malloc(elm_qmatmul_scratch_bytes(1, K));
            double t[3][MAX_ROUNDS];
            for (int r = -1; r < rounds; r++)
                for (int a = 0; a < 3; a++) {
                    double t0 = now();
                    for (int rep = 0; rep < 20; rep++)
                        elm_qmatmul_forward(y, x, &q, NULL, 1, fmts[f].mode, isas[a], scratch);
                    t[a][r < 0 ? 0 : r] = (now() - t0) / 20;
                }
            printf("| %s | %d x %d |", fmts[f].name, OC, K);
            for (int a = 0; a < 3; a++) {
                if (elm_qmatmul_isa(fmts[f].fmt, fmts[f].mode, isas[a]) != isas[a])
                    printf(" - |");
                else
                    printf(" %.0f |", elm_median(t[a], rounds) * 1e6);
            }
            printf("\n");
            elm_qmatmul_free(&q);
            free(scratch), free(w), free(x), free(y);
        }
}

int main(int argc, char **argv) {
    int rounds = 7, BT = 256, only_bf16 = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--bt")) BT = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--only")) only_bf16 = !strcmp(argv[i + 1], "bf16");
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || BT < 1) {
        fprintf(stderr, "usage: bench_cpu_isa [--rounds 1..%d] [--bt BT] [--only bf16]\n",
                MAX_ROUNDS);
        return 2;
    }
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    if (!only_bf16) {
        bench_gemm(rounds, BT);
        bench_qmatmul(rounds);
    }
    bench_gemm_bf16(rounds, BT);
    return 0;
}
