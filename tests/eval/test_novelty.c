// test_novelty.c — the novelty index against brute force on random texts over a small
// vocabulary: longest common word run with any one reference text and n-gram overlap.
#include "elmtest.h"
#include "eval/novelty.h"

#include <string.h>

static const char *vocab[] = {"the",  "Moon",  "bread", "run",  "easy", "miles", "rise", "dough",
                              "cold", "night", "stars", "rest", "it's", "café",  "42",   "slow"};

static int make(char *out, int *words, int n) {
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        words[i] = rand() % 16;
        strcat(out, vocab[words[i]]);
        strcat(out, (rand() % 5) ? " " : ", ");
    }
    return n;
}

static int lower_eq(int a, int b) {
    return a == b;
}

int main(void) {
    srand(3);
    ElmError e = {{0}};
    for (int trial = 0; trial < 30; trial++) {
        int nref = 1 + rand() % 40, ng = 1 + rand() % 4;
        ElmNovelty *nv = elm_novelty_new(ng, &e);
        CHECK(nv != NULL, "%s", e.msg);
        static int ref[64][40];
        int reflen[64];
        char text[2048];
        for (int r = 0; r < nref; r++) {
            reflen[r] = make(text, ref[r], 1 + rand() % 30);
            CHECK(elm_novelty_add(nv, text, &e) == 0, "%s", e.msg);
        }
        for (int q = 0; q < 40; q++) {
            int cand[40];
            int n = make(text, cand, 1 + rand() % 30);
            ElmNoveltyScore s = elm_novelty_score(nv, text);
            // Brute force: longest common run inside one reference, and n-gram hits.
            int best = 0, hits = 0;
            for (int r = 0; r < nref; r++)
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < reflen[r]; j++) {
                        int k = 0;
                        while (i + k < n && j + k < reflen[r] &&
                               lower_eq(cand[i + k], ref[r][j + k]))
                            k++;
                        if (k > best) best = k;
                    }
            for (int i = 0; i + ng <= n; i++) {
                int found = 0;
                for (int r = 0; r < nref && !found; r++)
                    for (int j = 0; j + ng <= reflen[r] && !found; j++)
                        found = memcmp(cand + i, ref[r] + j, sizeof(int) * (size_t)ng) == 0;
                hits += found;
            }
            double ov = n - ng + 1 > 0 ? (double)hits / (n - ng + 1) : 0;
            CHECK(s.words == n, "words %d vs %d", s.words, n);
            CHECK(s.longest_run == best, "run %d vs %d", s.longest_run, best);
            CHECK(s.ngram_overlap == ov, "overlap %f vs %f", s.ngram_overlap, ov);
        }
        elm_novelty_free(nv);
    }
    // Case-insensitive words, punctuation ignored.
    ElmNovelty *nv = elm_novelty_new(2, &e);
    elm_novelty_add(nv, "Patience is the secret ingredient!", &e);
    ElmNoveltyScore s = elm_novelty_score(nv, "patience, IS THE secret... sauce");
    CHECK(s.longest_run == 4 && s.words == 5, "run %d words %d", s.longest_run, s.words);
    elm_novelty_free(nv);
    ELM_TEST_DONE();
}
