// The GPU sampler's kernel source (kernels/sampling_kernel.cuh) run on the CPU through
// cuda_emu.h, against engine/generate/sample.h on the same logits, contexts and uniforms: greedy,
// penalties and n-gram bans, temperature, top-k (with ties at the k-th value), top-p (with ties
// at the cut), the story-mode ban, and rows that are not live. Built and run by
// test_sampling_emu.sh (no GPU needed); the same checks run on a GPU in tests/gpu.
#include "cuda_emu.h"

#include "kernels/sampling_kernel.cuh"

extern "C" {
#include "engine/generate/sample.h"
}

static uint64_t rng = 0x1234567887654321ull;
static uint64_t next_u64() {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}
static float unif() { // [-1, 1)
    return (float)((next_u64() >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

struct Case {
    const char *name;
    ElmSampleParams p;
    int ban;
};

int main() {
    const Case cases[] = {
        {"greedy", {0.0f, 0, 1.0f, 1.0f, 0}, -1},
        {"greedy + penalty + 3-gram", {0.0f, 0, 1.0f, 1.3f, 3}, -1},
        {"temperature 0.8", {0.8f, 0, 1.0f, 1.0f, 0}, -1},
        {"top-k 6 (ties at the k-th)", {1.0f, 6, 1.0f, 1.0f, 0}, -1},
        {"top-p 0.6 (ties at the cut)", {1.0f, 0, 0.6f, 1.0f, 0}, -1},
        {"defaults", {0.9f, 40, 0.95f, 1.1f, 3}, -1},
        {"story ban + 1-gram + top-p 0.3", {1.2f, 0, 0.3f, 1.5f, 1}, 7},
    };
    const int R = 7, V = 3000, L = 24;
    int failures = 0;
    for (const Case &cs : cases) {
        float *x = (float *)malloc(sizeof(float) * R * V);
        float *orig = (float *)malloc(sizeof(float) * R * V);
        int32_t *ctx = (int32_t *)malloc(sizeof(int32_t) * R * L);
        int len[R], pos[R];
        uint64_t index[R];
        uint8_t live[R];
        int32_t tok[R];
        float lp[R], scratch[R * L];
        for (int r = 0; r < R; r++) {
            float *row = x + (size_t)r * V;
            float sd = r % 2 ? 1.0f : 3.0f;
            for (int t = 0; t < V; t++) row[t] = unif() * sd * 2;
            // Exact ties among the largest values: several tokens share the top and 4th values.
            float top = 2.5f * sd, fourth = 2.2f * sd;
            for (int k = 0; k < 3; k++) row[next_u64() % V] = top;
            for (int k = 0; k < 4; k++) row[next_u64() % V] = fourth;
            len[r] = 6 + (int)(next_u64() % (L - 6));
            for (int i = 0; i < len[r]; i++)
                ctx[r * L + i] = i % 4 < 2 ? (int32_t)(i % 4 + 100) : (int32_t)(next_u64() % V);
            ctx[r * L + len[r] - 1] = 100;  // the tail repeats a bigram start: 2/3-gram bans
            row[100] = top, row[101] = top; // ... of likely tokens
            // Every third row: six equal dominant tokens (about 1/6 of the mass each), so greedy
            // picks the lowest id, top-k 6 keeps them all and top-p cuts inside the tie.
            if (r % 3 == 0)
                for (int k = 0; k < 6; k++) row[200 + 37 * k] = 6.0f * sd;
            pos[r] = (int)(next_u64() % 64);
            index[r] = 500 + (uint64_t)r;
            live[r] = r != 3;
            tok[r] = 12345;
        }
        memcpy(orig, x, sizeof(float) * R * V);
        ElmCuSampleParams gp = {
            cs.p.temperature,     cs.p.top_k, cs.p.top_p, cs.p.repetition_penalty,
            cs.p.no_repeat_ngram, cs.ban,     99};
        for (int r = 0; r < R; r++)
            emu_run_block((unsigned)r, SB, [&] {
                sample_kernel(gp, x, V, V, ctx, L, len, index, pos, live, scratch, tok, lp);
            });
        ElmError err = {{0}};
        ElmSampler s;
        if (elm_sampler_init(&s, &cs.p, V, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        int same = 0, n = 0, lp_bad = 0;
        for (int r = 0; r < R; r++) {
            if (!live[r]) {
                if (tok[r] != 12345)
                    failures++, printf("%s: row %d not live but written\n", cs.name, r);
                continue;
            }
            float *row = orig + (size_t)r * V;
            double mx = -INFINITY, sum = 0;
            for (int t = 0; t < V; t++) mx = row[t] > mx ? row[t] : mx;
            for (int t = 0; t < V; t++) sum += exp(row[t] - mx);
            float banned = 0;
            if (cs.ban >= 0) banned = row[cs.ban], row[cs.ban] = -INFINITY;
            double u = elm_sample_uniform(99, index[r], (uint64_t)pos[r]);
            int32_t t = elm_sampler_pick(&s, row, ctx + r * L, len[r], u, NULL);
            if (cs.ban >= 0) row[cs.ban] = banned;
            n++;
            same += t == tok[r];
            if (t != tok[r])
                printf("  %s row %d: CPU %d, emulated GPU %d\n", cs.name, r, t, tok[r]);
            if (t >= 0 && t == tok[r] && fabs(row[t] - mx - log(sum) - lp[r]) > 1e-3) lp_bad++;
        }
        printf("%-32s %d/%d tokens equal, %d log-probability mismatches\n", cs.name, same, n,
               lp_bad);
        if (same != n || lp_bad) failures++;
        elm_sampler_free(&s);
        free(x), free(orig), free(ctx);
    }
    printf("%s\n", failures ? "FAILED" : "all equal");
    return failures ? 1 : 0;
}
