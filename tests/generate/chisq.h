// chisq.h — Pearson's chi-square goodness-of-fit test for sampled-token histograms: bins whose
// expected count is under 5 are pooled, p = Q(dof/2, chi2/2) (the regularised upper incomplete
// gamma). Used by tests/gpu/test_sampling_gpu.c; checked by tests/generate/test_chisq.c.
#ifndef ELM_CHISQ_H
#define ELM_CHISQ_H

#include <math.h>
#include <stdint.h>

// Q(a, x) = Γ(a, x) / Γ(a): the series below x < a + 1, Lentz's continued fraction above.
static inline double chisq_gamma_q(double a, double x) {
    if (x <= 0) return 1.0;
    double lg = lgamma(a);
    if (x < a + 1) {
        double term = 1.0 / a, sum = term;
        for (int n = 1; n < 100000 && fabs(term) > fabs(sum) * 1e-16; n++) {
            term *= x / (a + n);
            sum += term;
        }
        return 1.0 - sum * exp(-x + a * log(x) - lg);
    }
    double tiny = 1e-300, b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
    for (int i = 1; i < 100000; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < tiny) d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-16) break;
    }
    return exp(-x + a * log(x) - lg) * h;
}

// Upper tail probability of the chi-square distribution with dof degrees of freedom.
static inline double chisq_sf(double chi2, int dof) {
    return chisq_gamma_q(dof / 2.0, chi2 / 2.0);
}

// Observed counts obs[0..n) against probabilities q[0..n) (summing to 1) for `draws` draws.
// Bins are pooled in index order until each pool expects >= 5 (the remainder joins the last
// pool). *dof_out = pools - 1. Returns the p-value; observations in bins with q = 0 give 0.
static inline double chisq_test(const long *obs, const double *q, int n, long draws,
                                double *chi2_out, int *dof_out) {
    double chi2 = 0, e_acc = 0, o_acc = 0;
    int pools = 0;
    for (int i = 0; i < n; i++) {
        if (q[i] <= 0 && obs[i] > 0) {
            *chi2_out = INFINITY;
            *dof_out = 0;
            return 0.0;
        }
        e_acc += q[i] * draws;
        o_acc += obs[i];
        if (e_acc >= 5) {
            chi2 += (o_acc - e_acc) * (o_acc - e_acc) / e_acc;
            pools++;
            e_acc = o_acc = 0;
        }
    }
    if (e_acc > 0 || o_acc > 0) {
        // A last pool under 5 expected: count it anyway when it is not empty.
        if (e_acc > 0) chi2 += (o_acc - e_acc) * (o_acc - e_acc) / e_acc, pools++;
    }
    *chi2_out = chi2;
    *dof_out = pools - 1;
    return pools > 1 ? chisq_sf(chi2, pools - 1) : 1.0;
}

#endif
