// test_qmatmul.c — the bf16 / int8 matrix products (engine/model/qmatmul.h) against a double
// reference of the fp32 product, every element, on random shapes (odd K, N = 1, odd OC): each
// format within the bound its rounding implies, each implementation (the portable loops always,
// AVX2+FMA and AVX-512 where the CPU has them, else skipped with a message) within fp32 summation
// error of the exact product of the rounded factors, and a row's output the same alone as in a
// batch.
#include "elmtest.h"

#include "engine/model/qmatmul.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x1234abcdull;
static float frand(void) { // uniform in [-1, 1)
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

// The factors as the format rounds them: bf16 x and w; int8 act8 s_r x_q and s_o w_q; int8 deq
// x and s_o w_q. Returns into xr (N, K) and wr (OC, K).
static void rounded(int fmt, int mode, const ElmQMat *q, const float *x, int N, int K, double *xr,
                    double *wr) {
    for (int o = 0; o < q->OC; o++)
        for (int k = 0; k < K; k++)
            wr[(size_t)o * K + k] = fmt == ELM_QMM_BF16
                                        ? elm_qmatmul_from_bf16(q->bf16[(size_t)o * q->Kp + k])
                                        : (double)q->scale[o] * q->q[(size_t)o * q->Kp + k];
    for (int r = 0; r < N; r++) {
        const float *xrow = x + (size_t)r * K;
        float mx = 0;
        for (int k = 0; k < K; k++) mx = fmaxf(mx, fabsf(xrow[k]));
        float s = mx > 0 ? mx / 127.0f : 1.0f;
        for (int k = 0; k < K; k++) {
            double v = xrow[k];
            if (fmt == ELM_QMM_BF16) v = elm_qmatmul_from_bf16(elm_qmatmul_to_bf16(xrow[k]));
            if (fmt == ELM_QMM_INT8 && mode == ELM_QMM_INT8_ACT8)
                v = (double)s * (double)lrintf(xrow[k] * (1.0f / s));
            xr[(size_t)r * K + k] = v;
        }
    }
}

// One shape, format, mode and implementation: every element checked twice (see the header).
static void check_one(int N, int K, int OC, int fmt, int mode, int isa) {
    const char *name = elm_qmatmul_isa_name(fmt, mode, isa);
    float *x = malloc(sizeof(float) * N * K), *w = malloc(sizeof(float) * OC * K);
    float *b = malloc(sizeof(float) * OC), *y = malloc(sizeof(float) * N * OC);
    float *y1 = malloc(sizeof(float) * OC);
    double *xr = malloc(sizeof(double) * N * K), *wr = malloc(sizeof(double) * OC * K);
    for (int i = 0; i < N * K; i++) x[i] = frand() * (i % 7 == 0 ? 4.0f : 1.0f);
    if (N > 2) memset(x + K, 0, sizeof(float) * K); // an all-zero row (its scale is 1)
    for (int i = 0; i < OC * K; i++) w[i] = 0.05f * frand();
    if (OC > 2) memset(w + K, 0, sizeof(float) * K); // an all-zero output channel
    for (int i = 0; i < OC; i++) b[i] = frand();
    ElmQMat q;
    ElmError err;
    CHECK(elm_qmatmul_pack(&q, fmt, w, OC, K, &err) == 0, "%s", err.msg);
    void *scratch = malloc(elm_qmatmul_scratch_bytes(N, K));
    elm_qmatmul_forward(y, x, &q, b, N, mode, isa, scratch);
    rounded(fmt, mode, &q, x, N, K, xr, wr);
    int bad_fmt = 0, bad_sum = 0;
    double worst_fmt = 0;
    for (int r = 0; r < N; r++) {
        float mx = 0;
        for (int k = 0; k < K; k++) mx = fmaxf(mx, fabsf(x[(size_t)r * K + k]));
        double s_r = mx > 0 ? mx / 127.0 : 1.0;
        for (int o = 0; o < OC; o++) {
            double ref = b[o], exact = b[o], abs_sum = 0, sx = 0, sw = 0;
            for (int k = 0; k < K; k++) {
                double xv = x[(size_t)r * K + k], wv = w[(size_t)o * K + k];
                ref += xv * wv;
                exact += xr[(size_t)r * K + k] * wr[(size_t)o * K + k];
                abs_sum += fabs(xr[(size_t)r * K + k] * wr[(size_t)o * K + k]) + fabs(xv * wv);
                sx += fabs(xv), sw += fabs(wv);
            }
            double got = y[(size_t)r * OC + o], s_o = fmt == ELM_QMM_INT8 ? q.scale[o] : 0;
            // the format: bf16 products within 2^-8 relative; int8 per element within half a step
            double bound = fmt == ELM_QMM_BF16 ? 0x1p-8 * abs_sum
                           : mode == ELM_QMM_INT8_DEQ
                               ? 0.5 * s_o * sx
                               : 0.5 * s_o * sx + 0.5 * s_r * sw + 0.25 * s_o * s_r * K;
            // the kernel: fp32 sums of the rounded products, in any order
            double sum_bound = (K + 2) * 0x1p-23 * (abs_sum + fabs(b[o])) + 1e-30;
            if (fabs(got - ref) > bound + sum_bound) bad_fmt++;
            if (fabs(got - exact) > sum_bound) bad_sum++;
            if (bound > 0 && fabs(got - ref) / bound > worst_fmt)
                worst_fmt = fabs(got - ref) / bound;
        }
    }
    CHECK(bad_fmt == 0, "%s fmt %d mode %d N %d K %d OC %d: %d outputs outside the format bound",
          name, fmt, mode, N, K, OC, bad_fmt);
    CHECK(bad_sum == 0, "%s fmt %d mode %d N %d K %d OC %d: %d outputs off the exact product", name,
          fmt, mode, N, K, OC, bad_sum);
    // the last row alone gives the same output as in the batch, bit for bit
    elm_qmatmul_forward(y1, x + (size_t)(N - 1) * K, &q, b, 1, mode, isa, scratch);
    CHECK(memcmp(y1, y + (size_t)(N - 1) * OC, sizeof(float) * OC) == 0,
          "%s fmt %d mode %d N %d K %d OC %d: row alone differs from row in the batch", name, fmt,
          mode, N, K, OC);
    elm_qmatmul_free(&q);
    free(scratch), free(x), free(w), free(b), free(y), free(y1), free(xr), free(wr);
}

// The int8 x int8 product is exact in integers: every implementation gives the same bits. With
// `extreme`, every x_q and w_q is +-127 with the same signs, the largest pair sums there are
// (2 * 127 * 127, where a saturating int16 step would show).
static void check_act8_bits(int N, int K, int OC, int isa, int extreme) {
    float *x = malloc(sizeof(float) * N * K), *w = malloc(sizeof(float) * OC * K);
    float *y0 = malloc(sizeof(float) * N * OC), *y1 = malloc(sizeof(float) * N * OC);
    for (int i = 0; i < N * K; i++) x[i] = extreme ? ((i % K) % 3 ? 1.0f : -1.0f) : frand();
    for (int i = 0; i < OC * K; i++) w[i] = extreme ? ((i % K) % 3 ? 0.5f : -0.5f) : frand();
    ElmQMat q;
    ElmError err;
    CHECK(elm_qmatmul_pack(&q, ELM_QMM_INT8, w, OC, K, &err) == 0, "%s", err.msg);
    void *scratch = malloc(elm_qmatmul_scratch_bytes(N, K));
    elm_qmatmul_forward(y0, x, &q, NULL, N, ELM_QMM_INT8_ACT8, ELM_QMM_PORTABLE, scratch);
    elm_qmatmul_forward(y1, x, &q, NULL, N, ELM_QMM_INT8_ACT8, isa, scratch);
    CHECK(memcmp(y0, y1, sizeof(float) * N * OC) == 0, "act8 N %d K %d OC %d: %s != portable", N, K,
          OC, elm_qmatmul_isa_name(ELM_QMM_INT8, ELM_QMM_INT8_ACT8, isa));
    if (extreme) // the exact sum: K products of 127 * 127, scaled by (1/127) * (0.5/127)
        CHECK(fabsf(y1[0] - 0.5f * K) <= 1e-6f * K, "act8 extreme K %d: %s gives %g, not %g", K,
              elm_qmatmul_isa_name(ELM_QMM_INT8, ELM_QMM_INT8_ACT8, isa), y1[0], 0.5 * K);
    elm_qmatmul_free(&q);
    free(scratch), free(x), free(w), free(y0), free(y1);
}

static void check_bf16_rounding(void) {
    CHECK(elm_qmatmul_to_bf16(1.0f) == 0x3f80, "1.0 -> %04x", elm_qmatmul_to_bf16(1.0f));
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0)
    CHECK(elm_qmatmul_to_bf16(1.0f + 0x1p-8f) == 0x3f80, "tie -> %04x",
          elm_qmatmul_to_bf16(1.0f + 0x1p-8f));
    CHECK(elm_qmatmul_to_bf16(1.0f + 0x1p-8f + 0x1p-20f) == 0x3f81, "above tie -> %04x",
          elm_qmatmul_to_bf16(1.0f + 0x1p-8f + 0x1p-20f));
    CHECK(isnan(elm_qmatmul_from_bf16(elm_qmatmul_to_bf16(NAN))), "NaN stays NaN");
}

int main(void) {
    check_bf16_rounding();
    int shapes[][3] = {{1, 1, 1},    {1, 7, 5},    {1, 33, 17},  {2, 64, 64},  {3, 100, 9},
                       {4, 65, 4},   {5, 127, 31}, {7, 129, 33}, {9, 200, 3},  {16, 257, 13},
                       {1, 768, 67}, {33, 96, 7},  {8, 3072, 5}, {1, 31, 1000}};
    int n_shapes = sizeof shapes / sizeof shapes[0];
    for (int i = 0; i < 6; i++) { // and random ones
        rng = rng * 6364136223846793005ull + 1;
        shapes[i][0] = 1 + (int)((rng >> 40) % 20);
        shapes[i][1] = 1 + (int)((rng >> 20) % 300);
        shapes[i][2] = 1 + (int)((rng >> 50) % 70);
    }
    const struct {
        int fmt, mode;
    } paths[] = {
        {ELM_QMM_BF16, 0}, {ELM_QMM_INT8, ELM_QMM_INT8_DEQ}, {ELM_QMM_INT8, ELM_QMM_INT8_ACT8}};
    const int isas[] = {ELM_QMM_PORTABLE, ELM_QMM_AVX2, ELM_QMM_AVX512};
    const char *isa_names[] = {"portable", "avx2+fma", "avx512"};
    for (int p = 0; p < 3; p++) {
        int fmt = paths[p].fmt, mode = paths[p].mode;
        for (int i = 0; i < 3; i++) {
            if (elm_qmatmul_isa(fmt, mode, isas[i]) != isas[i]) {
                printf("skipped: %s (fmt %d mode %d): this CPU lacks the instructions\n",
                       isa_names[i], fmt, mode);
                continue;
            }
            printf("checking %s (fmt %d mode %d)\n", elm_qmatmul_isa_name(fmt, mode, isas[i]), fmt,
                   mode);
            for (int s = 0; s < n_shapes; s++)
                check_one(shapes[s][0], shapes[s][1], shapes[s][2], fmt, mode, isas[i]);
            if (fmt == ELM_QMM_INT8 && mode == ELM_QMM_INT8_ACT8 && isas[i] != ELM_QMM_PORTABLE)
                for (int s = 0; s < n_shapes; s++)
                    for (int extreme = 0; extreme < 2; extreme++)
                        check_act8_bits(shapes[s][0], shapes[s][1], shapes[s][2], isas[i], extreme);
        }
    }
    ELM_TEST_DONE();
}
