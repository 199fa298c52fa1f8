// vlog.c — log(x) = k ln2 + log(z) with x = 2^k z, z in [0.70, 1.41), read straight off the
// bits; log(z) = 2 atanh(s), s = (z - 1) / (z + 1), |s| <= 0.172, by its odd series to s^23
// (the next term is below 2^-60 of the sum). k ln2 is split into a high part with trailing zero
// bits (exact for |k| < 2^11) and a low part, so large k costs no accuracy. No branches and no
// tables: the loop vectorises (AVX-512 with -march=native).
#include "engine/base/vlog.h"

#include <stdint.h>
#include <string.h>

static inline double vlog_one(double x) {
    uint64_t ix;
    memcpy(&ix, &x, sizeof ix);
    // Subtracting the bits of ~sqrt(1/2) puts the split between exponents at z = 0.7071.
    uint64_t tmp = ix - 0x3fe6a09e667f3bcdULL;
    int64_t k = (int64_t)tmp >> 52;
    uint64_t iz = ix - (tmp & 0xfffULL << 52);
    double z;
    memcpy(&z, &iz, sizeof z);
    double f = z - 1.0, s = f / (2.0 + f), s2 = s * s;
    double p = 1.0 / 23;
    p = p * s2 + 1.0 / 21;
    p = p * s2 + 1.0 / 19;
    p = p * s2 + 1.0 / 17;
    p = p * s2 + 1.0 / 15;
    p = p * s2 + 1.0 / 13;
    p = p * s2 + 1.0 / 11;
    p = p * s2 + 1.0 / 9;
    p = p * s2 + 1.0 / 7;
    p = p * s2 + 1.0 / 5;
    p = p * s2 + 1.0 / 3;
    // fdlibm's arrangement: 2s = f - hfsq + s hfsq (hfsq = f^2 / 2), so
    // log z = f - (hfsq - s (hfsq + R)) with R = 2 s^2 p, f exact and the rest a correction.
    double hfsq = 0.5 * f * f;
    double r = s * (hfsq + 2.0 * s2 * p);
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    double kd = (double)k;
    return kd * ln2_hi - ((hfsq - (r + kd * ln2_lo)) - f);
}

void elm_vlog(const double *x, double *y, int n) {
    for (int i = 0; i < n; i++) y[i] = vlog_one(x[i]);
}
