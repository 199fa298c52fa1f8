// The decode path's own kernels (kernels/gpu/decode_kernels.cuh) run on the CPU through
// cuda_emu.h: row embedding, KV-cache stores (exact), decode attention with one and with three
// splits (plus the merge) against a double reference, for head sizes 16 (gpt2-tiny), 64
// (124M) and 64 with 16 heads (355M), rows of one slot at several positions and a context
// that fills the cache. Outputs are poisoned (NaN) first. Built by test_sampling_emu.sh.
#include "cuda_emu.h"

#include "kernels/gpu/decode_kernels.cuh"

#include <vector>

static uint64_t rng = 0x9988776655443322ull;
static uint64_t next_u64() {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}
static float unif() { // [-1, 1)
    return (float)((next_u64() >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static std::vector<bf16> rand_bf16(size_t n, std::vector<float> &host) {
    std::vector<bf16> b(n);
    host.resize(n);
    for (size_t i = 0; i < n; i++) {
        b[i] = __float2bfloat16(unif());
        host[i] = __bfloat162float(b[i]);
    }
    return b;
}

static double relerr(const std::vector<bf16> &got, const std::vector<double> &ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        float g = __bfloat162float(got[i]);
        if (!std::isfinite(g)) return INFINITY;
        num += (g - ref[i]) * (g - ref[i]);
        den += ref[i] * ref[i];
    }
    return sqrt(num / den);
}

static int failures;

static void check_embed() {
    const int V = 200, T = 30, C = 48, n = 9;
    std::vector<float> hwte, hwpe;
    std::vector<bf16> wte = rand_bf16((size_t)V * C, hwte), wpe = rand_bf16((size_t)T * C, hwpe);
    std::vector<int> tok(n), pos(n);
    for (int r = 0; r < n; r++) tok[r] = (int)(next_u64() % V), pos[r] = (int)(next_u64() % T);
    std::vector<bf16> x((size_t)n * C, __float2bfloat16(NAN));
    for (int r = 0; r < n; r++)
        emu_run_block((unsigned)r, 64, [&] {
            embed_kernel(x.data(), wte.data(), wpe.data(), tok.data(), pos.data(), C);
        });
    std::vector<double> ref((size_t)n * C);
    for (int r = 0; r < n; r++)
        for (int c = 0; c < C; c++)
            ref[(size_t)r * C + c] =
                (double)hwte[(size_t)tok[r] * C + c] + hwpe[(size_t)pos[r] * C + c];
    double e = relerr(x, ref);
    printf("embed: rel err %.2e\n", e);
    if (!(e <= 1e-2)) failures++;
}

static void check_attention(int C, int NH) {
    const int slots = 3, cap = 70, n = 5, hs = C / NH;
    const size_t csz = (size_t)slots * NH * cap * hs;
    std::vector<float> hk, hv, hqkv;
    std::vector<bf16> kc = rand_bf16(csz, hk), vc = rand_bf16(csz, hv);
    std::vector<bf16> qkv = rand_bf16((size_t)n * 3 * C, hqkv);
    // Rows 0 and 3 are one slot at consecutive positions; row 1 fills the cache.
    int slot[5] = {0, 1, 2, 0, 2}, pos[5] = {20, cap - 1, 0, 21, 45};
    for (int r = 0; r < n; r++)
        emu_run_block((unsigned)r, 64, [&] {
            kv_store_kernel(kc.data(), vc.data(), qkv.data(), slot, pos, C, NH, cap);
        });
    int bad = 0;
    for (int r = 0; r < n; r++)
        for (int c = 0; c < C; c++) {
            int h = c / hs, d = c % hs;
            size_t at = (((size_t)slot[r] * NH + h) * cap + pos[r]) * hs + d;
            hk[at] = hqkv[(size_t)r * 3 * C + C + c];
            hv[at] = hqkv[(size_t)r * 3 * C + 2 * C + c];
        }
    for (size_t i = 0; i < csz; i++)
        bad += __bfloat162float(kc[i]) != hk[i] || __bfloat162float(vc[i]) != hv[i];
    printf("kv store C %d NH %d: %d cache values differ\n", C, NH, bad);
    if (bad) failures++;
    std::vector<double> ref((size_t)n * C), sc(cap);
    for (int r = 0; r < n; r++)
        for (int h = 0; h < NH; h++) {
            const float *q = &hqkv[(size_t)r * 3 * C + h * hs];
            size_t base = ((size_t)slot[r] * NH + h) * cap * hs;
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j <= pos[r]; j++) {
                double s = 0;
                for (int d = 0; d < hs; d++) s += (double)q[d] * hk[base + (size_t)j * hs + d];
                sc[j] = s / sqrt((double)hs);
                mx = sc[j] > mx ? sc[j] : mx;
            }
            for (int j = 0; j <= pos[r]; j++) sum += sc[j] = exp(sc[j] - mx);
            for (int d = 0; d < hs; d++) {
                double o = 0;
                for (int j = 0; j <= pos[r]; j++) o += sc[j] * hv[base + (size_t)j * hs + d];
                ref[(size_t)r * C + h * hs + d] = o / sum;
            }
        }
    for (int nsplit = 1; nsplit <= 3; nsplit += 2) {
        std::vector<bf16> out((size_t)n * C, __float2bfloat16(NAN));
        std::vector<float> part((size_t)n * NH * nsplit * (hs + 2), NAN);
        int chunk = (cap + nsplit - 1) / nsplit;
        float scale = 1.0f / sqrtf((float)hs);
        for (int r = 0; r < n; r++)
            for (int h = 0; h < NH; h++)
                for (int sp = 0; sp < nsplit; sp++)
                    emu_run_block3((unsigned)r, (unsigned)h, (unsigned)sp, ATT_WARPS * 32, [&] {
                        attention_kernel(out.data(), part.data(), qkv.data(), 3 * C, kc.data(),
                                         vc.data(), slot, pos, C, NH, cap, nsplit, chunk, scale);
                    });
        if (nsplit > 1)
            for (int r = 0; r < n; r++)
                for (int h = 0; h < NH; h++)
                    emu_run_block3((unsigned)r, (unsigned)h, 0, 128, [&] {
                        attention_combine_kernel(out.data(), part.data(), C, NH, nsplit);
                    });
        double e = relerr(out, ref);
        printf("attention C %d NH %d splits %d: rel err %.2e\n", C, NH, nsplit, e);
        if (!(e <= 1e-2)) failures++;
    }
}

int main() {
    check_embed();
    check_attention(64, 4);
    check_attention(768, 12);
    check_attention(1024, 16);
    printf("%s\n", failures ? "FAILED" : "all within bounds");
    return failures ? 1 : 0;
}
