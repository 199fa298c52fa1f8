// test_forest.c — the random forest's structural promises, on seeded random sparse data:
// a forest cut by depth and tree count equals the forest grown with those settings; the grid
// search's shared fits give the same fold accuracies as fitting every combination alone;
// results do not depend on the thread count; separable data is learnt; importances sum to 1.
#include "elmtest.h"
#include "eval/forest.h"
#include "eval/gridsearch.h"
#include "eval/metrics.h"

#include <math.h>
#include <string.h>

static uint64_t rs = 12345;
static double unif(void) {
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rs >> 11) * 0x1.0p-53;
}

// n rows, F features, ~nz per row; the label leans on features 0..9 (present -> more likely 1).
static void make_data(ElmCsr *X, int *y, int n, int F, int nz) {
    elm_csr_alloc(X, n, F, (int64_t)n * nz, NULL);
    int64_t k = 0;
    for (int i = 0; i < n; i++) {
        int used[64], m = 0;
        double score = 0;
        for (int j = 0; j < nz; j++) {
            int f = unif() < 0.3 ? (int)(unif() * 10) : (int)(unif() * F);
            int dup = 0;
            for (int q = 0; q < m; q++) dup |= used[q] == f;
            if (dup) continue;
            used[m++] = f;
        }
        for (int a = 0; a < m; a++) // sort
            for (int b = a + 1; b < m; b++)
                if (used[b] < used[a]) {
                    int t = used[a];
                    used[a] = used[b], used[b] = t;
                }
        for (int q = 0; q < m; q++) {
            X->indices[k] = used[q];
            X->data[k] = 0.1 + unif();
            if (used[q] < 5) score += 1;
            if (used[q] >= 5 && used[q] < 10) score -= 1;
            k++;
        }
        X->indptr[i + 1] = k;
        y[i] = score + (unif() - 0.5) > 0;
    }
    X->nnz = k;
}

static int same(const double *a, const double *b, int n) {
    for (int i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

int main(void) {
    enum { N = 600, F = 300, NZ = 8 };
    ElmCsr X;
    int y[N];
    make_data(&X, y, N, F, NZ);
    ElmError err = {{0}};
    static double pa[2 * N], pb[2 * N];

    // 1. Cutting a forest by trees and depth = growing it with those settings.
    ElmForestOpts o;
    elm_forest_defaults(&o);
    o.seed = 7;
    o.threads = 2;
    o.n_estimators = 12;
    ElmForest full, cut;
    CHECK(elm_forest_fit(&full, &o, &X, y, 2, NULL, &err) == 0, "%s", err.msg);
    for (int depth = 1; depth <= 6; depth += 2) {
        ElmForestOpts c = o;
        c.n_estimators = 5;
        c.max_depth = depth;
        CHECK(elm_forest_fit(&cut, &c, &X, y, 2, NULL, &err) == 0, "%s", err.msg);
        elm_forest_predict_proba(&full, &X, 5, depth, pa);
        elm_forest_predict_proba(&cut, &X, 0, 0, pb);
        CHECK(same(pa, pb, 2 * N), "depth %d: cut forest differs from the grown one", depth);
        elm_forest_free(&cut);
    }
    // Thread count does not change the forest.
    ElmForestOpts one = o;
    one.threads = 1;
    CHECK(elm_forest_fit(&cut, &one, &X, y, 2, NULL, &err) == 0, "%s", err.msg);
    elm_forest_predict_proba(&full, &X, 0, 0, pa);
    elm_forest_predict_proba(&cut, &X, 0, 0, pb);
    CHECK(same(pa, pb, 2 * N), "1 thread and 2 threads grow different forests");
    elm_forest_free(&cut);
    // Importances: sum 1, the informative features first.
    double s = 0, inf = 0;
    for (int j = 0; j < F; j++) s += full.importances[j];
    for (int j = 0; j < 10; j++) inf += full.importances[j];
    CHECK(fabs(s - 1) < 1e-9, "importances sum to %g", s);
    CHECK(inf > 0.2, "informative features hold only %g of the importance", inf);
    elm_forest_free(&full);

    // 2. Fully grown trees without bootstrap, all features: the training rows are learnt
    // (except rows whose feature vectors coincide with another label's).
    ElmForestOpts p = o;
    p.bootstrap = 0;
    p.max_feat = ELM_MAXF_ALL;
    p.n_estimators = 1;
    CHECK(elm_forest_fit(&cut, &p, &X, y, 2, NULL, &err) == 0, "%s", err.msg);
    elm_forest_predict_proba(&cut, &X, 0, 0, pa);
    int pred[N];
    elm_argmax_rows(pa, N, 2, pred);
    double acc = elm_accuracy(y, pred, N);
    CHECK(acc > 0.99, "one full tree fits its training rows to %g", acc);
    elm_forest_free(&cut);

    // 3. OOB score is an accuracy.
    ElmForestOpts q = o;
    q.oob_score = 1;
    q.n_estimators = 20;
    CHECK(elm_forest_fit(&cut, &q, &X, y, 2, NULL, &err) == 0, "%s", err.msg);
    CHECK(cut.oob_score > 0.55 && cut.oob_score <= 1, "oob score %g", cut.oob_score);
    elm_forest_free(&cut);

    // 4. Grid search with shared fits = every combination fitted alone on the same folds.
    ElmGrid g = {0};
    CHECK(elm_grid_add(&g, "n_estimators", "3,6", &err) == 0, "%s", err.msg);
    CHECK(elm_grid_add(&g, "max_depth", "None,2,4", &err) == 0, "%s", err.msg);
    CHECK(elm_grid_add(&g, "min_samples_split", "5,10", &err) == 0, "%s", err.msg);
    CHECK(elm_grid_add(&g, "min_samples_leaf", "3,6", &err) == 0, "%s", err.msg);
    CHECK(elm_grid_add(&g, "criterion", "gini,entropy", &err) == 0, "%s", err.msg);
    int G = elm_grid_size(&g), best, folds = 3;
    CHECK(G == 48, "grid size %d", G);
    ElmGridResult res[48];
    CHECK(elm_grid_search(&g, &o, &X, y, 2, folds, 99, res, &best, NULL, &err) == 0, "%s", err.msg);
    int fold[N], rows[N], ytr[N], yte[N], pr[N];
    elm_stratified_folds(y, N, 2, folds, 99, fold, &err);
    int mismatches = 0;
    for (int i = 0; i < G; i += 5) { // every fifth combination, to keep the test short
        for (int f = 0; f < folds; f++) {
            int ntr = 0, nte = 0;
            for (int r = 0; r < N; r++)
                if (fold[r] != f) rows[ntr] = r, ytr[ntr++] = y[r];
            ElmCsr Xtr, Xte;
            elm_csr_take_rows(&X, rows, ntr, &Xtr, &err);
            for (int r = 0; r < N; r++)
                if (fold[r] == f) rows[nte] = r, yte[nte++] = y[r];
            elm_csr_take_rows(&X, rows, nte, &Xte, &err);
            ElmForest alone;
            elm_forest_fit(&alone, &res[i].opts, &Xtr, ytr, 2, NULL, &err);
            elm_forest_predict_proba(&alone, &Xte, 0, 0, pa);
            elm_argmax_rows(pa, nte, 2, pr);
            mismatches += elm_accuracy(yte, pr, nte) != res[i].fold_acc[f];
            elm_forest_free(&alone);
            elm_csr_free(&Xtr), elm_csr_free(&Xte);
        }
    }
    CHECK(mismatches == 0, "%d fold accuracies of shared fits differ from separate fits",
          mismatches);
    CHECK(res[best].rank == 1, "best has rank %d", res[best].rank);
    elm_grid_results_free(res, G);

    // 5. Bad grid values are refused with the axis named.
    ElmGrid b = {0};
    CHECK(elm_grid_add(&b, "min_samples_leaf", "0", &err) != 0 &&
              strstr(err.msg, "grid.min_samples_leaf"),
          "min_samples_leaf 0 accepted: %s", err.msg);
    CHECK(elm_grid_add(&b, "n_trees", "3", &err) != 0, "unknown axis accepted");
    elm_csr_free(&X);
    ELM_TEST_DONE();
}
