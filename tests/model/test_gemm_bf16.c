// test_gemm_bf16.c — elm_gemm_bf16 (engine/model/gemm_bf16.h) against double references, every
// element, on odd shapes and the three layouts training uses (forward, dinp, dweight): within
// fp32 summation error of the exact product of the bf16-rounded factors, and within bf16's
// rounding bound of the fp32 product. Skipped (77) where the CPU lacks AVX512-BF16.
#include "elmtest.h"

#include "engine/model/bf16.h"
#include "engine/model/gemm_bf16.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng = 0x5eedbf16ull;
static float frand(void) { // uniform in [-1, 1)
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static double round_bf16(float x) {
    return elm_bf16_to_float(elm_bf16_from_float(x));
}

enum { FORWARD, DINP, DWEIGHT };
static const char *layout_name[] = {"forward", "dinp", "dweight"};

// The strides of a layout: FORWARD: A (M,K) rows, B = W^T with W (N,K); DINP: A (M,K) rows,
// B (K,N) rows; DWEIGHT: A = X^T with X (K,M), B (K,N) rows. Rows padded by `pad` floats.
static void strides(int layout, int M, int N, int K, int pad, ptrdiff_t s[4]) {
    if (layout == DWEIGHT)
        s[0] = 1, s[1] = M + pad;
    else
        s[0] = K + pad, s[1] = 1;
    if (layout == FORWARD)
        s[2] = 1, s[3] = K + pad;
    else
        s[2] = N + pad, s[3] = 1;
}

static double worst_tight, worst_true;

static void check_one(int layout, int M, int N, int K, int pad) {
    ptrdiff_t s[4];
    strides(layout, M, N, K, pad, s);
    size_t na = (size_t)(layout == DWEIGHT ? K : M) * (size_t)((layout == DWEIGHT ? M : K) + pad);
    size_t nb = (size_t)(layout == FORWARD ? N : K) * (size_t)((layout == FORWARD ? K : N) + pad);
    ptrdiff_t ldc = N + pad;
    float *A = malloc(na * sizeof(float)), *B = malloc(nb * sizeof(float));
    float *C = malloc((size_t)M * ldc * sizeof(float)), *C0 = malloc((size_t)M * ldc * 4);
    for (size_t i = 0; i < na; i++) A[i] = frand() * (i % 5 == 0 ? 8.0f : 1.0f);
    for (size_t i = 0; i < nb; i++) B[i] = 0.05f * frand();
    for (size_t i = 0; i < (size_t)M * ldc; i++) C[i] = C0[i] = 0.01f * frand();
    int rc = elm_gemm_bf16(M, N, K, A, s[0], s[1], B, s[2], s[3], C, ldc);
    CHECK(rc == 0, "%s %dx%dx%d: rc %d", layout_name[layout], M, N, K, rc);
    int bad = 0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double exact = 0, rounded = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                float a = A[i * s[0] + k * s[1]], b = B[k * s[2] + j * s[3]];
                exact += (double)a * b;
                rounded += round_bf16(a) * round_bf16(b);
                mag += fabs((double)a * b);
            }
            // C = C0 + the product: normalised by what is summed, |C0| + sum |a b|.
            double c0 = C0[(size_t)i * ldc + j], got = C[(size_t)i * ldc + j];
            double scale = mag + fabs(c0) + 1e-30, e1 = fabs(got - (c0 + rounded)) / scale,
                   e2 = fabs(got - (c0 + exact)) / scale;
            if (e1 > worst_tight) worst_tight = e1;
            if (e2 > worst_true) worst_true = e2;
            if ((e1 > 1e-5 || e2 > 1e-2) && bad++ < 3)
                CHECK(0, "%s %dx%dx%d [%d][%d]: got %.9g c0 + bf16-exact %.9g fp32-exact %.9g",
                      layout_name[layout], M, N, K, i, j, got, c0 + rounded, c0 + exact);
        }
    }
    CHECK(bad == 0, "%s %dx%dx%d: %d elements out of bounds", layout_name[layout], M, N, K, bad);
    // Columns past N of C (the padding) are untouched.
    int touched = 0;
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++) touched += C[(size_t)i * ldc + j] != C0[(size_t)i * ldc + j];
    CHECK(touched == 0, "%s %dx%dx%d: %d padding elements written", layout_name[layout], M, N, K,
          touched);
    free(A);
    free(B);
    free(C);
    free(C0);
}

int main(void) {
    if (!elm_bf16_cpu_has()) {
        printf("skipped: this CPU lacks AVX512-BF16 (vdpbf16ps)\n");
        return 77;
    }
    const int dims[] = {1, 3, 17, 65, 100};
    int n = 0;
    for (int layout = FORWARD; layout <= DWEIGHT; layout++) {
        for (int a = 0; a < 5; a++)
            for (int b = 0; b < 5; b++)
                for (int c = 0; c < 5; c++, n++)
                    check_one(layout, dims[a], dims[b], dims[c], (a + b + c) % 3);
        // Past the kernel's blocks: k panels (256 k), tasks of 256 rows, the 48-column tiles.
        check_one(layout, 300, 97, 513, 1);
        check_one(layout, 257, 49, 257, 0);
        check_one(layout, 64, 768, 768, 0);
        n += 3;
    }
    printf(
        "%d products: worst |err| / (|c0| + sum|a b|): %.3g against the bf16-rounded factors, %.3g "
        "against fp32\n",
        n, worst_tight, worst_true);
    ELM_TEST_DONE();
}
