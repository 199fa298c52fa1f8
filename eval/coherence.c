// coherence.c — word (co-)occurrence counts over documents or sliding windows, and the three
// coherence measures built on them. eps = 1e-12 as in gensim.
#include "eval/coherence.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-12

typedef struct Counts {
    double *single; // (R)
    double *pair;   // (R, R), symmetric
    double windows;
} Counts;

// Boolean occurrence counts of the R relevant words (rel[w] >= 0) in windows of `size` tokens
// (0 = whole documents). Like gensim, a document shorter than the window is one window, and
// sliding windows skip documents with no relevant word.
static int count_windows(const ElmTokDocs *docs, const int *rel, int R, int size, Counts *c) {
    c->single = calloc((size_t)R, sizeof *c->single);
    c->pair = calloc((size_t)R * R, sizeof *c->pair);
    int *seen = calloc((size_t)R, sizeof *seen), *present = malloc((size_t)R * sizeof *present);
    c->windows = 0;
    if (!c->single || !c->pair || !seen || !present) {
        free(seen), free(present);
        return -1;
    }
    int stamp = 0;
    for (int d = 0; d < docs->n; d++) {
        const int32_t *t = docs->tok[d];
        int L = docs->len[d];
        if (size > 0) {
            int any = 0;
            for (int i = 0; i < L && !any; i++) any = t[i] >= 0 && rel[t[i]] >= 0;
            if (!any) continue;
        }
        int w = size > 0 && L > size ? size : L;
        int n_win = size > 0 && L > size ? L - size + 1 : 1;
        for (int s = 0; s < n_win; s++) {
            stamp++;
            int np = 0;
            for (int i = s; i < s + w; i++) {
                if (t[i] < 0 || rel[t[i]] < 0) continue;
                int r = rel[t[i]];
                if (seen[r] == stamp) continue;
                seen[r] = stamp;
                present[np++] = r;
            }
            for (int a = 0; a < np; a++) {
                c->single[present[a]] += 1;
                for (int b = 0; b < np; b++)
                    if (a != b) c->pair[(size_t)present[a] * R + present[b]] += 1;
            }
            c->windows += 1;
        }
    }
    for (int r = 0; r < R; r++) c->pair[(size_t)r * R + r] = c->single[r];
    free(seen), free(present);
    return 0;
}

static void counts_free(Counts *c) {
    free(c->single), free(c->pair);
}

static double npmi_of(const Counts *c, int R, int a, int b) {
    double N = c->windows > 0 ? c->windows : 1;
    double pab = c->pair[(size_t)a * R + b] / N, pa = c->single[a] / N, pb = c->single[b] / N;
    if (pa <= 0 || pb <= 0) return 0;
    return log((pab + EPS) / (pa * pb)) / -log(pab + EPS);
}

int elm_coherence(const ElmTokDocs *docs, int V, const int *topics, int k, int n, double *umass,
                  double *npmi, double *c_v, ElmError *err) {
    int *rel = malloc((size_t)V * sizeof *rel), R = 0;
    if (!rel) return elm_err(err, "out of memory for coherence");
    for (int w = 0; w < V; w++) rel[w] = -1;
    for (int i = 0; i < k * n; i++)
        if (rel[topics[i]] < 0) rel[topics[i]] = R++;
    Counts doc = {0}, w10 = {0}, w110 = {0};
    int rc = -1;
    if ((umass && count_windows(docs, rel, R, 0, &doc)) ||
        (npmi && count_windows(docs, rel, R, 10, &w10)) ||
        (c_v && count_windows(docs, rel, R, 110, &w110))) {
        elm_err(err, "out of memory for coherence counts");
        goto done;
    }
    double *vi = malloc((size_t)n * sizeof *vi), *vs = malloc((size_t)n * sizeof *vs);
    if (!vi || !vs) {
        free(vi), free(vs);
        elm_err(err, "out of memory for coherence");
        goto done;
    }
    for (int t = 0; t < k; t++) {
        const int *top = topics + (size_t)t * n;
        if (umass) {
            // One-preceding pairs (w_i, w_j), j < i: log P(w_i, w_j) / P(w_j).
            double s = 0;
            int m = 0;
            double N = doc.windows;
            for (int i = 1; i < n; i++)
                for (int j = 0; j < i; j++) {
                    int a = rel[top[i]], b = rel[top[j]];
                    double pj = doc.single[b] / N;
                    s += pj > 0 ? log((doc.pair[(size_t)a * R + b] / N + EPS) / pj) : 0;
                    m++;
                }
            umass[t] = m ? s / m : 0;
        }
        if (npmi) {
            double s = 0;
            int m = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if (i != j) s += npmi_of(&w10, R, rel[top[i]], rel[top[j]]), m++;
            npmi[t] = m ? s / m : 0;
        }
        if (c_v) {
            // Context vectors over the topic's words: v_i[j] = NPMI(w_i, w_j); the set's vector
            // is their sum; the topic scores the mean cosine of each v_i with it.
            for (int j = 0; j < n; j++) vs[j] = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) vs[j] += npmi_of(&w110, R, rel[top[i]], rel[top[j]]);
            double s = 0;
            for (int i = 0; i < n; i++) {
                double dot = 0, ni = 0, ns = 0;
                for (int j = 0; j < n; j++) {
                    vi[j] = npmi_of(&w110, R, rel[top[i]], rel[top[j]]);
                    dot += vi[j] * vs[j];
                    ni += vi[j] * vi[j];
                    ns += vs[j] * vs[j];
                }
                s += ni > 0 && ns > 0 ? dot / sqrt(ni * ns) : 0;
            }
            c_v[t] = s / n;
        }
    }
    free(vi), free(vs);
    rc = 0;
done:
    counts_free(&doc), counts_free(&w10), counts_free(&w110);
    free(rel);
    return rc;
}
