// test_gemm_few.c — the few-row fp32 product (engine/model/gemm_few.h) against a double
// reference, every element, on fixed and seeded random shapes (1-40 rows, C with and without a
// 16-lane tail, OC not a multiple of the three-row groups), with and without a bias: within fp32
// summation error. Each row's result is the same bits computed alone, among N rows and with one
// thread. Skipped with a message where the CPU lacks AVX-512F.
#include "elmtest.h"

#include "engine/model/gemm_few.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return rng >> 11;
}
static float frand(void) { // uniform in [-1, 1)
    return (float)((double)next() / 9007199254740992.0 * 2.0 - 1.0);
}

static double worst;
static int shapes;

static void set_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

static void check_shape(int N, int OC, int C, int with_bias) {
    size_t nx = (size_t)N * C, nw = (size_t)OC * C, no = (size_t)N * OC;
    float *x = malloc(nx * 4 + 4), *w = malloc(nw * 4 + 4), *b = malloc((size_t)OC * 4 + 4);
    float *out = malloc(no * 4 + 4), *one = malloc((size_t)OC * 4 + 4), *out1 = malloc(no * 4 + 4);
    for (size_t i = 0; i < nx; i++) x[i] = frand() * (i % 7 == 0 ? 4.0f : 1.0f);
    for (size_t i = 0; i < nw; i++) w[i] = 0.05f * frand();
    for (int i = 0; i < OC; i++) b[i] = frand();
    const float *bias = with_bias ? b : NULL;
    for (size_t i = 0; i < no; i++) out[i] = out1[i] = NAN; // every element must be written
    set_threads(2);
    CHECK(elm_gemm_few(N, OC, C, x, w, bias, out) == 0, "%d x %d x %d", N, OC, C);
    int bad = 0, moved = 0;
    for (int r = 0; r < N; r++) {
        for (int o = 0; o < OC; o++) {
            double s = 0, mag = 0;
            for (int i = 0; i < C; i++) {
                double p = (double)x[(size_t)r * C + i] * w[(size_t)o * C + i];
                s += p, mag += fabs(p);
            }
            if (bias) s += bias[o], mag += fabs(bias[o]);
            double e = fabs(out[(size_t)r * OC + o] - s) / (mag + 1e-30);
            if (!(e <= (C + 2) * 0x1p-23)) bad++; // also catches NaN (an element never written)
            if (e > worst) worst = e;
        }
        // this row alone, on one thread: the same bits
        set_threads(1);
        elm_gemm_few(1, OC, C, x + (size_t)r * C, w, bias, one);
        if (memcmp(one, out + (size_t)r * OC, (size_t)OC * 4)) moved++;
    }
    set_threads(1);
    elm_gemm_few(N, OC, C, x, w, bias, out1);
    CHECK(bad == 0, "%d x %d x %d bias %d: %d elements past (C + 2) 2^-23, worst %.3g", N, OC, C,
          with_bias, bad, worst);
    CHECK(moved == 0, "%d x %d x %d: %d rows differ from the row alone", N, OC, C, moved);
    CHECK(memcmp(out, out1, no * 4) == 0, "%d x %d x %d: 1 and 2 threads differ", N, OC, C);
    shapes++;
    free(x), free(w), free(b), free(out), free(one), free(out1);
}

int main(void) {
    if (!elm_gemm_few_have()) {
        printf("skipped: this CPU has no AVX-512F (elm_gemm_few returns -1)\n");
        float o = 0;
        CHECK(elm_gemm_few(1, 1, 1, &o, &o, NULL, &o) == -1, "refuses without AVX-512F");
        ELM_TEST_DONE();
    }
    // GPT-2 124M's decode shapes at 1 and 8 rows, then the edges
    static const int fixed[][3] = {{1, 2304, 768}, {8, 768, 3072}, {8, 50257, 64}, {1, 1, 1},
                                   {9, 4, 16},     {17, 5, 17},    {63, 7, 15},    {3, 2, 0}};
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
        for (int with_bias = 0; with_bias < 2; with_bias++)
            check_shape(fixed[k][0], fixed[k][1], fixed[k][2], with_bias);
    for (int k = 0; k < 60; k++)
        check_shape(1 + (int)(next() % 40), 1 + (int)(next() % 70), 1 + (int)(next() % 300),
                    (int)(next() % 2));
    float o = 0;
    CHECK(elm_gemm_few(0, 5, 5, &o, &o, NULL, &o) == 0 && o == 0, "no rows: nothing written");
    printf("%d shapes: worst |err| / (|bias| + sum|x w|) %.3g (bound (C + 2) 2^-23)\n", shapes,
           worst);
    ELM_TEST_DONE();
}
