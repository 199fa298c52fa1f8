// test_vlog.c — elm_vlog against libm's log: random doubles over every exponent of the normal
// range, values near 1 (where log is smallest), the ends of the range and powers of two.
#include "elmtest.h"
#include "engine/base/vlog.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

// Distance in units in the last place of the reference.
static double ulps(double got, double want) {
    if (got == want) return 0;
    return fabs(got - want) / fabs(nextafter(want, INFINITY) - want);
}

int main(void) {
    const char *seed = getenv("ELM_TEST_SEED");
    if (seed) rng = strtoull(seed, NULL, 10) | 1;
    printf("seed %llu\n", (unsigned long long)rng);
    enum { N = 1 << 20 };
    double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    int n = 0;
    while (n < N / 2) { // every exponent, random mantissa
        uint64_t b = next() & 0x7fffffffffffffffull;
        double v;
        memcpy(&v, &b, sizeof v);
        if (v >= DBL_MIN && isfinite(v)) x[n++] = v;
    }
    while (n < N - 4096) { // 1 +- small: relative accuracy where log(x) -> 0
        double d = ldexp((double)(next() >> 11) / 9007199254740992.0, -(int)(next() % 40));
        x[n++] = (next() & 1) ? 1.0 + d : 1.0 - d / 2;
    }
    for (int e = -1022; e <= 1023 && n < N; e++) x[n++] = ldexp(1.0, e);
    x[n++] = DBL_MIN, x[n++] = DBL_MAX, x[n++] = 1.0, x[n++] = M_SQRT1_2, x[n++] = M_SQRT2;
    x[n++] = nextafter(M_SQRT1_2, 0), x[n++] = nextafter(M_SQRT2, 2);
    for (int i = 0; i < 64; i++) x[n++] = 1e-10 + i; // MultinomialNB's counts + alpha
    elm_vlog(x, y, n);
    double worst = 0;
    int worst_i = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        double u = ulps(y[i], log(x[i]));
        if (u > worst) worst = u, worst_i = i;
        bad += !(u <= 2.0);
    }
    printf("%d values, worst %.2f ulp at x = %.17g (got %.17g, libm %.17g)\n", n, worst, x[worst_i],
           y[worst_i], log(x[worst_i]));
    CHECK(bad == 0, "%d of %d values beyond 2 ulp of libm", bad, n);
    // In place, odd lengths (the vector loop's tail).
    for (int len = 0; len < 40; len++) {
        double a[40], b[40];
        for (int i = 0; i < len; i++) a[i] = b[i] = 0.5 + i * 1.37;
        elm_vlog(a, a, len);
        int ok = 1;
        for (int i = 0; i < len; i++) ok &= ulps(a[i], log(b[i])) <= 2.0;
        CHECK(ok, "in place, length %d", len);
    }
    free(x), free(y);
    ELM_TEST_DONE();
}
