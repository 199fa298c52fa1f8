// The chi-square test the GPU sampling harness relies on: tail probabilities at textbook
// critical values (5% and 1% points of the chi-square table), and a fair die that passes while a
// loaded one fails.
#include "elmtest.h"
#include "chisq.h"

#include <math.h>

int main(void) {
    // (critical value, dof, upper tail) from the standard chi-square table.
    static const struct {
        double x;
        int dof;
        double p;
    } table[] = {{3.841, 1, 0.05},   {6.635, 1, 0.01},     {5.991, 2, 0.05},     {18.307, 10, 0.05},
                 {23.209, 10, 0.01}, {124.342, 100, 0.05}, {135.807, 100, 0.01}, {0.0158, 1, 0.90}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        double p = chisq_sf(table[i].x, table[i].dof);
        CHECK(fabs(p - table[i].p) < 2e-3 * (table[i].p > 0.1 ? 10 : 1),
              "chi2 %g dof %d: p %g, table %g", table[i].x, table[i].dof, p, table[i].p);
    }
    // A fair die, 6000 rolls from a fixed LCG; then a die that favours 6.
    long fair[6] = {0}, loaded[6] = {0};
    double q[6] = {1 / 6.0, 1 / 6.0, 1 / 6.0, 1 / 6.0, 1 / 6.0, 1 / 6.0};
    uint64_t s = 12345;
    for (int i = 0; i < 6000; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int face = (int)((s >> 33) % 6);
        fair[face]++;
        loaded[i % 5 == 0 ? 5 : face]++;
    }
    double chi2;
    int dof;
    double p = chisq_test(fair, q, 6, 6000, &chi2, &dof);
    CHECK(p > 0.01 && dof == 5, "fair die: chi2 %g dof %d p %g", chi2, dof, p);
    p = chisq_test(loaded, q, 6, 6000, &chi2, &dof);
    CHECK(p < 1e-6, "loaded die: chi2 %g p %g", chi2, p);
    ELM_TEST_DONE();
}
