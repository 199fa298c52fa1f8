// test_gemm_bf16.c — elm_gemm_bf16 (engine/model/gemm_bf16.h) against double references, every
// element, on odd shapes and the three layouts training uses (forward, dinp, dweight): within
// fp32 summation error of the exact product of the bf16-rounded factors, and within bf16's
// rounding bound of the fp32 product. Both kernels, AVX512-BF16 and (where the CPU has it and Linux
// grants the tiles) AMX: each against the references, AMX against AVX512 to fp32 rounding, and
// AMX on 1 and 2 threads bit for bit. Skipped (77) where the CPU lacks AVX512-BF16.
#include "elmtest.h"

#include "engine/model/bf16.h"
#include "engine/model/gemm_bf16.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static double worst_tight[3], worst_true[3], worst_cross;
static const char *isa_name[] = {"auto", "avx512", "amx"};
static int have_amx;

// C (M, ldc) against c0 + the double products of A and B (strides s), every element; the
// normalised errors of each element into e_scale (may be NULL).
static void check_c(ElmGemmBf16Isa isa, int layout, int M, int N, int K, const float *A,
                    const float *B, const ptrdiff_t s[4], const float *C0, const float *C,
                    ptrdiff_t ldc, double *e_scale) {
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
            if (e_scale) e_scale[(size_t)i * N + j] = scale;
            if (e1 > worst_tight[isa]) worst_tight[isa] = e1;
            if (e2 > worst_true[isa]) worst_true[isa] = e2;
            if ((e1 > 1e-5 || e2 > 1e-2) && bad++ < 3)
                CHECK(0, "%s %s %dx%dx%d [%d][%d]: got %.9g c0 + bf16-exact %.9g fp32-exact %.9g",
                      isa_name[isa], layout_name[layout], M, N, K, i, j, got, c0 + rounded,
                      c0 + exact);
        }
    }
    CHECK(bad == 0, "%s %s %dx%dx%d: %d elements out of bounds", isa_name[isa], layout_name[layout],
          M, N, K, bad);
    // Columns past N of C (the padding) are untouched.
    int touched = 0;
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++) touched += C[(size_t)i * ldc + j] != C0[(size_t)i * ldc + j];
    CHECK(touched == 0, "%s %s %dx%dx%d: %d padding elements written", isa_name[isa],
          layout_name[layout], M, N, K, touched);
}

// AMX on the inputs of the AVX512 result Cv: against the references, against Cv (both within
// 1e-5 of the scale, so within 2e-5 of each other), and the same bits on 1 and 2 threads.
static void check_amx(int layout, int M, int N, int K, const float *A, const float *B,
                      const ptrdiff_t s[4], const float *C0, const float *Cv, ptrdiff_t ldc) {
    size_t nc = (size_t)M * ldc;
    float *C1 = malloc(nc * 4), *C2 = malloc(nc * 4);
    double *scale = malloc((size_t)M * N * sizeof(double));
    memcpy(C1, C0, nc * 4);
    memcpy(C2, C0, nc * 4);
    omp_set_num_threads(1);
    int rc1 = elm_gemm_bf16_isa(ELM_GEMM_BF16_AMX, M, N, K, A, s[0], s[1], B, s[2], s[3], C1, ldc);
    omp_set_num_threads(2);
    int rc2 = elm_gemm_bf16_isa(ELM_GEMM_BF16_AMX, M, N, K, A, s[0], s[1], B, s[2], s[3], C2, ldc);
    CHECK(rc1 == 0 && rc2 == 0, "amx %s %dx%dx%d: rc %d %d", layout_name[layout], M, N, K, rc1,
          rc2);
    check_c(ELM_GEMM_BF16_AMX, layout, M, N, K, A, B, s, C0, C2, ldc, scale);
    CHECK(memcmp(C1, C2, nc * 4) == 0, "amx %s %dx%dx%d: 1 and 2 threads differ",
          layout_name[layout], M, N, K);
    int bad = 0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double d = fabs((double)C2[(size_t)i * ldc + j] - Cv[(size_t)i * ldc + j]) /
                       scale[(size_t)i * N + j];
            if (d > worst_cross) worst_cross = d;
            if (d > 2e-5 && bad++ < 3)
                CHECK(0, "amx %s %dx%dx%d [%d][%d]: %.9g against avx512 %.9g", layout_name[layout],
                      M, N, K, i, j, C2[(size_t)i * ldc + j], Cv[(size_t)i * ldc + j]);
        }
    }
    free(C1);
    free(C2);
    free(scale);
}

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
    int rc = elm_gemm_bf16_isa(ELM_GEMM_BF16_AVX512, M, N, K, A, s[0], s[1], B, s[2], s[3], C, ldc);
    CHECK(rc == 0, "%s %dx%dx%d: rc %d", layout_name[layout], M, N, K, rc);
    check_c(ELM_GEMM_BF16_AVX512, layout, M, N, K, A, B, s, C0, C, ldc, NULL);
    if (have_amx) check_amx(layout, M, N, K, A, B, s, C0, C, ldc);
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
    have_amx = elm_gemm_bf16_amx_ready();
    if (!have_amx)
        printf("AMX kernel skipped: this CPU lacks AMX-BF16 or Linux denied the tile data "
               "permission (arch_prctl ARCH_REQ_XCOMP_PERM)\n");
    const int dims[] = {1, 3, 17, 65, 100};
    int n = 0;
    for (int layout = FORWARD; layout <= DWEIGHT; layout++) {
        for (int a = 0; a < 5; a++)
            for (int b = 0; b < 5; b++)
                for (int c = 0; c < 5; c++, n++)
                    check_one(layout, dims[a], dims[b], dims[c], (a + b + c) % 3);
        // Past the kernels' blocks: k panels (256 k), tasks of 256 rows, the 48-column tiles.
        check_one(layout, 300, 97, 513, 1);
        check_one(layout, 257, 49, 257, 0);
        check_one(layout, 64, 768, 768, 0);
        check_one(layout, 70, 45, 1700, 1); // two of the AMX kernel's passes (1024 k each)
        // AMX by rows (packed A over 1 MiB): one pass, then three, ragged everywhere.
        check_one(layout, 600, 45, 1000, 1);
        check_one(layout, 530, 33, 2100, 0);
        check_one(layout, 64, 96, 64, 2); // whole 32 x 32 blocks only: C's tiles in place
        n += 7;
    }
    for (int isa = ELM_GEMM_BF16_AVX512;
         isa <= (have_amx ? ELM_GEMM_BF16_AMX : ELM_GEMM_BF16_AVX512); isa++)
        printf("%s, %d products: worst |err| / (|c0| + sum|a b|): %.3g against the bf16-rounded "
               "factors, %.3g against fp32\n",
               isa_name[isa], n, worst_tight[isa], worst_true[isa]);
    if (have_amx)
        printf("amx against avx512: worst |diff| / (|c0| + sum|a b|) %.3g; 1 and 2 threads the "
               "same bits\n",
               worst_cross);
    ELM_TEST_DONE();
}
