// test_steer.c — keyword steering's logit bonus (engine/generate/steer.h) on hand-made keyword
// forms and seeded random contexts, against a direct reading of the rule: token t gets +bonus
// once when some form's first j tokens (j < its length) end the context and its token j + 1
// is t; elm_steer_bonus reports exactly that bonus for every token.
#include "elmtest.h"
#include "engine/generate/steer.h"
#include "engine/base/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V 12

// The rule, spelled out: is t the next token of a form in progress after ctx?
static int wanted(const ElmSteer *s, const int32_t *ctx, int n, int32_t t) {
    for (int f = 0; f < s->n_forms; f++)
        for (int j = 0; j < s->len[f]; j++) {
            if (j > n || s->ids[f][j] != t) continue;
            int match = 1;
            for (int i = 0; i < j; i++) match &= ctx[n - j + i] == s->ids[f][i];
            if (match) return 1;
        }
    return 0;
}

int main(void) {
    int32_t f0[] = {3, 4, 5}, f1[] = {3, 4, 7}, f2[] = {9}, f3[] = {4, 4};
    int32_t *ids[] = {f0, f1, f2, f3};
    int len[] = {3, 3, 1, 2};
    ElmSteer s = {.n_forms = 4, .ids = ids, .len = len, .bonus = 2.5f, .n_keywords = 2};
    uint64_t rng = 42;
    int fails = 0, cases = 0;
    for (int c = 0; c < 2000; c++) {
        int32_t ctx[8];
        int n = (int)elm_rng_below(&rng, 9);
        // Mostly tokens of the forms, so that partial keywords occur often.
        for (int i = 0; i < n; i++)
            ctx[i] = (int32_t)elm_rng_below(&rng, 2) ? 3 + (int32_t)elm_rng_below(&rng, 3)
                                                     : (int32_t)elm_rng_below(&rng, V);
        float row[V], base[V];
        for (int t = 0; t < V; t++) row[t] = base[t] = (float)elm_rng_unif(&rng) * 4 - 2;
        elm_steer_apply(&s, row, V, ctx, n);
        for (int t = 0; t < V; t++) {
            float bonus = wanted(&s, ctx, n, t) ? s.bonus : 0.0f, want = base[t] + bonus;
            float b = elm_steer_bonus(&s, ctx, n, t);
            int ok = row[t] == want && b == bonus;
            if (!ok && fails++ < 5)
                CHECK(ok, "case %d token %d: got %g (bonus %g), want %g", c, t, row[t], b, want);
            cases++;
        }
    }
    // No keywords, or a zero bonus: the logits are left alone.
    float row[V] = {0};
    ElmSteer none = {0};
    int32_t ctx[1] = {3};
    elm_steer_apply(&none, row, V, ctx, 1);
    elm_steer_apply(NULL, row, V, ctx, 1);
    s.bonus = 0;
    elm_steer_apply(&s, row, V, ctx, 1);
    for (int t = 0; t < V; t++) CHECK(row[t] == 0, "token %d changed without keywords", t);
    CHECK(fails == 0, "%d of %d token cases wrong", fails, cases);
    ELM_TEST_DONE();
}
