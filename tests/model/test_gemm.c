// test_gemm.c — elm's fp32 GEMM (engine/model/gemm.h), each instruction set the CPU has
// (AVX-512, AVX2+FMA; else skipped with a message), against a double reference, every element,
// on fixed and random odd shapes, the four stride layouts (A rows or columns, B rows or columns,
// padded rows, C accumulated into): within fp32 summation error; padding of C untouched; the
// same bits with one thread as with all.
#include "elmtest.h"

#include "engine/model/gemm.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef int (*Gemm)(int M, int N, int K, const float *A, ptrdiff_t ars, ptrdiff_t acs,
                    const float *B, ptrdiff_t brs, ptrdiff_t bcs, float *C, ptrdiff_t ldc);

static uint64_t rng = 0x6e33f32ull;
static uint64_t next(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return rng >> 11;
}
static float frand(void) { // uniform in [-1, 1)
    return (float)((double)next() / 9007199254740992.0 * 2.0 - 1.0);
}

// FORWARD: A (M,K) rows, B = W^T with W (N,K); DINP: A rows, B (K,N) rows; DWEIGHT: A = X^T
// with X (K,M), B rows; BOTH_T: A = X^T, B = W^T. Rows padded by `pad` floats.
enum { FORWARD, DINP, DWEIGHT, BOTH_T };
static const char *layout_name[] = {"forward", "dinp", "dweight", "both transposed"};

static void strides(int layout, int M, int N, int K, int pad, ptrdiff_t s[4]) {
    int at = layout == DWEIGHT || layout == BOTH_T, bt = layout == FORWARD || layout == BOTH_T;
    if (at)
        s[0] = 1, s[1] = M + pad;
    else
        s[0] = K + pad, s[1] = 1;
    if (bt)
        s[2] = 1, s[3] = K + pad;
    else
        s[2] = N + pad, s[3] = 1;
}

static double worst;

static void check_one(Gemm gemm, const char *isa, int layout, int M, int N, int K, int pad) {
    ptrdiff_t s[4];
    strides(layout, M, N, K, pad, s);
    int at = s[0] == 1, bt = s[2] == 1;
    size_t na = (size_t)(at ? K : M) * (size_t)((at ? M : K) + pad);
    size_t nb = (size_t)(bt ? N : K) * (size_t)((bt ? K : N) + pad);
    ptrdiff_t ldc = N + pad;
    size_t nc = (size_t)M * ldc;
    float *A = malloc(na * 4), *B = malloc(nb * 4), *C = malloc(nc * 4), *C0 = malloc(nc * 4);
    for (size_t i = 0; i < na; i++) A[i] = frand() * (i % 5 == 0 ? 8.0f : 1.0f);
    for (size_t i = 0; i < nb; i++) B[i] = 0.05f * frand();
    for (size_t i = 0; i < nc; i++) C[i] = C0[i] = 0.01f * frand();
    int rc = gemm(M, N, K, A, s[0], s[1], B, s[2], s[3], C, ldc);
    CHECK(rc == 0, "%s %s %dx%dx%d: rc %d", isa, layout_name[layout], M, N, K, rc);
    int bad = 0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double exact = C0[(size_t)i * ldc + j], mag = fabs(exact);
            for (int k = 0; k < K; k++) {
                double p = (double)A[i * s[0] + k * s[1]] * B[k * s[2] + j * s[3]];
                exact += p, mag += fabs(p);
            }
            double got = C[(size_t)i * ldc + j], e = fabs(got - exact) / (mag + 1e-30);
            if (e > worst) worst = e;
            if (e > (K + 2) * 0x1p-23 && bad++ < 3)
                CHECK(0, "%s %s %dx%dx%d [%d][%d]: got %.9g exact %.9g", isa, layout_name[layout],
                      M, N, K, i, j, got, exact);
        }
    }
    CHECK(bad == 0, "%s %s %dx%dx%d: %d elements out of bounds", isa, layout_name[layout], M, N, K,
          bad);
    int touched = 0;
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++) touched += C[(size_t)i * ldc + j] != C0[(size_t)i * ldc + j];
    CHECK(touched == 0, "%s %s %dx%dx%d: %d padding elements written", isa, layout_name[layout], M,
          N, K, touched);
#ifdef _OPENMP
    // Each element is summed by one thread in a fixed order: one thread gives the same bits.
    float *C1 = malloc(nc * 4);
    memcpy(C1, C0, nc * 4);
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    gemm(M, N, K, A, s[0], s[1], B, s[2], s[3], C1, ldc);
    omp_set_num_threads(threads);
    CHECK(memcmp(C, C1, nc * 4) == 0, "%s %s %dx%dx%d: 1 thread differs from %d", isa,
          layout_name[layout], M, N, K, threads);
    free(C1);
#endif
    free(A), free(B), free(C), free(C0);
}

static int check_isa(Gemm gemm, const char *isa) {
    const int dims[] = {1, 5, 17, 65, 100};
    int n = 0;
    for (int layout = FORWARD; layout <= BOTH_T; layout++) {
        for (int a = 0; a < 5; a++)
            for (int b = 0; b < 5; b++)
                for (int c = 0; c < 5; c++, n++)
                    check_one(gemm, isa, layout, dims[a], dims[b], dims[c], (a + b + c) % 3);
        // Past the kernels' blocks: k panels (256), tasks of 128 / 256 rows, 24 / 48 columns.
        check_one(gemm, isa, layout, 300, 97, 513, 1);
        check_one(gemm, isa, layout, 257, 49, 257, 0);
        check_one(gemm, isa, layout, 64, 768, 768, 0);
        for (int r = 0; r < 6; r++, n++) // random odd shapes
            check_one(gemm, isa, layout, 1 + 2 * (int)(next() % 200), 1 + 2 * (int)(next() % 100),
                      1 + 2 * (int)(next() % 300), (int)(next() % 3));
        n += 3;
    }
    return n;
}

int main(void) {
    const struct {
        Gemm gemm;
        int (*have)(void);
        const char *name;
    } isas[] = {{elm_gemm_avx512, elm_gemm_have_avx512, "avx512"},
                {elm_gemm_avx2, elm_gemm_have_avx2, "avx2+fma"}};
    for (int i = 0; i < 2; i++) {
        if (!isas[i].have()) {
            printf("skipped: %s: this CPU lacks the instructions\n", isas[i].name);
            CHECK(isas[i].gemm(1, 1, 1, NULL, 1, 1, NULL, 1, 1, NULL, 1) == -1,
                  "%s runs without the instructions", isas[i].name);
            continue;
        }
        worst = 0;
        int n = check_isa(isas[i].gemm, isas[i].name);
        printf("%s: %d products, worst |err| / (|c0| + sum|a b|) %.3g\n", isas[i].name, n, worst);
    }
    printf("elm_gemm runs %s here\n", elm_gemm_isa_name());
    ELM_TEST_DONE();
}
