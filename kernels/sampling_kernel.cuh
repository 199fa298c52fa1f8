// sampling_kernel.cuh — the GPU sampler's kernel (see sampling.h), in a header so that
// tests/kernels/test_sampling_emu.sh can also compile it on the CPU against a thread-per-lane
// emulation of the few CUDA primitives it uses (tests/kernels/cuda_emu.h). Included by
// sampling.cu only.
#ifndef ELM_SAMPLING_KERNEL_CUH
#define ELM_SAMPLING_KERNEL_CUH

#ifndef ELM_CUDA_EMU
#include "kernels/cuda_common.cuh"
#endif
#include "kernels/sampling.h"

#include <math.h>
#include <stdint.h>

#define SB 1024   // threads per block (32 warps)
#define NBIN 2048 // radix histogram bins (11 bits)

struct SampleShared {
    float hist[NBIN];
    float f[32];
    double d[32];
    int i[32];
    int sel_bin;
    float sel_above;
    int tok;
    float raw;
    int ties_kept;
};

__device__ __forceinline__ uint64_t d_splitmix64(uint64_t x) {
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// elm_sample_uniform, bit for bit.
__device__ __forceinline__ double d_uniform(uint64_t seed, uint64_t index, uint64_t position) {
    uint64_t h = d_splitmix64(d_splitmix64(d_splitmix64(seed) + index) + position);
    return (double)(h >> 11) * 0x1.0p-53;
}

// Order-preserving map of floats to unsigned integers (larger float -> larger key).
__device__ __forceinline__ uint32_t fkey(float f) {
    uint32_t b = __float_as_uint(f);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// ---- block reductions (blockDim.x == SB); each ends with a barrier so buffers can be reused --

__device__ float block_max(float v, float *buf) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = elm_warp_max(v);
    if (lane == 0) buf[warp] = v;
    __syncthreads();
    v = elm_warp_max(buf[lane]);
    __syncthreads();
    return v;
}

__device__ float block_sumf(float v, float *buf) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = elm_warp_sum(v);
    if (lane == 0) buf[warp] = v;
    __syncthreads();
    v = elm_warp_sum(buf[lane]);
    __syncthreads();
    return v;
}

__device__ int block_sumi(int v, int *buf) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0) buf[warp] = v;
    __syncthreads();
    v = buf[lane];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    return v;
}

// Exclusive prefix sum in thread order; *total gets the sum of all.
template <typename T> __device__ T block_excl_scan(T v, T *buf, T *total) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    T x = v;
    for (int o = 1; o < 32; o <<= 1) {
        T n = __shfl_up_sync(0xffffffffu, x, o);
        if (lane >= o) x += n;
    }
    T excl = __shfl_up_sync(0xffffffffu, x, 1);
    if (lane == 0) excl = 0;
    if (lane == 31) buf[warp] = x;
    __syncthreads();
    if (warp == 0) {
        T y = buf[lane];
        for (int o = 1; o < 32; o <<= 1) {
            T n = __shfl_up_sync(0xffffffffu, y, o);
            if (lane >= o) y += n;
        }
        buf[lane] = y;
    }
    __syncthreads();
    T before = (warp > 0 ? buf[warp - 1] : (T)0) + excl;
    *total = buf[31];
    __syncthreads();
    return before;
}

// ---- the values each pass recomputes from the (modified) logits row -------------------------

struct RowView {
    const float *x; // logits after penalties and bans
    int V;
    float inv_t;
    float mx;      // largest z
    uint32_t kkey; // top-k: keep fkey(z) >= kkey (0 = keep all alive)
    __device__ float z(int t) const { return x[t] * inv_t; }
    __device__ bool alive(int t) const {
        float v = z(t);
        return v > -INFINITY && fkey(v) >= kkey;
    }
    // Unnormalised probability after top-k (0 for removed tokens).
    __device__ float e(int t) const { return alive(t) ? __expf(z(t) - mx) : 0.0f; }
};

struct CountKey { // top-k: every alive token weighs 1, keyed by z
    const RowView *r;
    __device__ void operator()(int t, uint32_t &k, float &w) const {
        float v = r->z(t);
        k = fkey(v);
        w = v > -INFINITY ? 1.0f : 0.0f;
    }
};

struct MassKey { // top-p: tokens weigh their probability, keyed by it
    const RowView *r;
    __device__ void operator()(int t, uint32_t &k, float &w) const {
        w = r->e(t);
        k = __float_as_uint(w);
    }
};

// Radix selection over tokens with weight > 0: the largest key whose weight counted from the
// top (keys above plus its own) reaches `target`; the smallest key when the total stays below.
// *above = the weight of larger keys, *at = the weight of the key itself. Three passes.
template <typename KW>
__device__ uint32_t radix_select(const KW &kw, int V, float target, float *above_out, float *at_out,
                                 SampleShared &sh) {
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int shifts[3] = {21, 10, 0}, bits[3] = {11, 11, 10};
    uint32_t prefix = 0, mask = 0;
    float above = 0.0f, at = 0.0f;
#pragma unroll
    for (int ps = 0; ps < 3; ps++) {
        const int shift = shifts[ps], nb = 1 << bits[ps];
        for (int b = tid; b < nb; b += SB) sh.hist[b] = 0.0f;
        __syncthreads();
        for (int t = tid; t < V; t += SB) {
            uint32_t k;
            float w;
            kw(t, k, w);
            if (w > 0.0f && (k & mask) == prefix) atomicAdd(&sh.hist[(k >> shift) & (nb - 1)], w);
        }
        __syncthreads();
        if (warp == 0) {
            // Lane l sums bins hi, hi-1, ..., hi-per+1: lane 0 holds the largest keys.
            const int per = nb / 32, hi = nb - 1 - lane * per;
            float s = 0.0f;
            for (int i = 0; i < per; i++) s += sh.hist[hi - i];
            float inc = s;
            for (int o = 1; o < 32; o <<= 1) {
                float n = __shfl_up_sync(0xffffffffu, inc, o);
                if (lane >= o) inc += n;
            }
            float excl = inc - s;
            unsigned reach = __ballot_sync(0xffffffffu, s > 0.0f && above + inc >= target);
            unsigned nonzero = __ballot_sync(0xffffffffu, s > 0.0f);
            // (nonzero is never 0: the prefix selected so far always holds weight.)
            int pick = reach ? __ffs(reach) - 1 : nonzero ? 31 - __clz(nonzero) : 0;
            if (lane == pick) {
                float acc = above + excl, last_acc = acc;
                int sel = -1, last = hi;
                for (int i = 0; i < per; i++) {
                    float h = sh.hist[hi - i];
                    if (h <= 0.0f) continue;
                    if (reach && acc + h >= target) {
                        sel = hi - i;
                        break;
                    }
                    last = hi - i, last_acc = acc;
                    acc += h;
                }
                if (sel < 0) sel = last, acc = last_acc; // below target (or rounding): lowest
                sh.sel_bin = sel;
                sh.sel_above = acc;
            }
        }
        __syncthreads();
        const int b = sh.sel_bin;
        above = sh.sel_above;
        at = sh.hist[b];
        prefix |= (uint32_t)b << shift;
        mask |= (uint32_t)(nb - 1) << shift;
        __syncthreads();
    }
    *above_out = above;
    *at_out = at;
    return prefix;
}

__global__ void __launch_bounds__(SB, 1)
    sample_kernel(ElmCuSampleParams p, float *logits, long ld, int V, const int32_t *ctxids,
                  int ctx_ld, const int *ctx_len, const uint64_t *index, const int *pos,
                  const uint8_t *live, float *scratch, int32_t *tok_out, float *logprob_out) {
    __shared__ SampleShared sh;
    const int r = blockIdx.x, tid = threadIdx.x;
    if (!live[r]) return;
    float *x = logits + (long)r * ld;
    const int32_t *ctx = ctxids + (long)r * ctx_ld;
    float *orig = scratch + (long)r * ctx_ld;
    const int L = ctx_len[r];

    // log-sum-exp of the raw row, for the log-probability.
    float m0 = -INFINITY;
    for (int t = tid; t < V; t += SB) m0 = fmaxf(m0, x[t]);
    m0 = block_max(m0, sh.f);
    float s0 = 0.0f;
    for (int t = tid; t < V; t += SB) s0 += __expf(x[t] - m0);
    const float lse = m0 + logf(block_sumf(s0, sh.f));

    // Banned token, then step 1 (repetition penalty over distinct context tokens), then step 2.
    if (tid == 0 && p.ban_token >= 0 && p.ban_token < V) x[p.ban_token] = -INFINITY;
    __syncthreads();
    for (int i = tid; i < L; i += SB) {
        int t = ctx[i];
        orig[i] = t >= 0 && t < V ? x[t] : 0.0f;
    }
    __syncthreads();
    if (p.repetition_penalty != 1.0f) {
        for (int i = tid; i < L; i += SB) {
            int t = ctx[i];
            if (t < 0 || t >= V) continue;
            bool first = true;
            for (int j = 0; j < i && first; j++) first = ctx[j] != t;
            if (first) {
                float v = orig[i];
                x[t] = v > 0.0f ? v / p.repetition_penalty : v * p.repetition_penalty;
            }
        }
        __syncthreads();
    }
    const int n = p.no_repeat_ngram;
    if (n > 0 && L >= n - 1 && L >= 1) {
        const int32_t *tail = ctx + L - (n - 1);
        for (int i = tid; i + n <= L; i += SB) {
            bool match = true;
            for (int k = 0; k < n - 1 && match; k++) match = ctx[i + k] == tail[k];
            int t = ctx[i + n - 1];
            if (match && t >= 0 && t < V) x[t] = -INFINITY;
        }
        __syncthreads();
    }

    int tok = -1;
    if (p.temperature == 0.0f) {
        // Greedy: the largest value, lowest id on ties.
        float bv = -INFINITY;
        int bi = -1;
        for (int t = tid; t < V; t += SB)
            if (x[t] > -INFINITY && (bi < 0 || x[t] > bv)) bv = x[t], bi = t;
        for (int o = 16; o > 0; o >>= 1) {
            float ov = __shfl_xor_sync(0xffffffffu, bv, o);
            int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (oi >= 0 && (bi < 0 || ov > bv || (ov == bv && oi < bi))) bv = ov, bi = oi;
        }
        if ((tid & 31) == 0) sh.f[tid >> 5] = bv, sh.i[tid >> 5] = bi;
        __syncthreads();
        if (tid == 0) {
            for (int w = 1; w < 32; w++)
                if (sh.i[w] >= 0 && (bi < 0 || sh.f[w] > bv || (sh.f[w] == bv && sh.i[w] < bi)))
                    bv = sh.f[w], bi = sh.i[w];
            sh.tok = bi;
        }
        __syncthreads();
        tok = sh.tok;
    } else {
        RowView rv;
        rv.x = x, rv.V = V, rv.inv_t = 1.0f / p.temperature, rv.kkey = 0;
        // Step 3: alive count and the largest z.
        float mz = -INFINITY;
        int alive = 0;
        for (int t = tid; t < V; t += SB) {
            float v = rv.z(t);
            if (v > -INFINITY) alive++, mz = fmaxf(mz, v);
        }
        mz = block_max(mz, sh.f);
        alive = block_sumi(alive, sh.i);
        rv.mx = mz;
        if (alive > 0) {
            // Step 4: top-k keeps every token at least as large as the k-th largest.
            if (p.top_k > 0 && p.top_k < alive) {
                float above, at;
                CountKey ck = {&rv};
                rv.kkey = radix_select(ck, V, (float)p.top_k, &above, &at, sh);
            }
            // Step 5: top-p over the survivors' probabilities.
            float cut = 0.0f; // keep e > cut, and the first ties_kept tokens with e == cut
            int ties = 0, ties_kept = 0;
            if (p.top_p < 1.0f) {
                float S = 0.0f;
                for (int t = tid; t < V; t += SB) S += rv.e(t);
                S = block_sumf(S, sh.f);
                float above, at;
                MassKey mk = {&rv};
                uint32_t k = radix_select(mk, V, p.top_p * S, &above, &at, sh);
                cut = __uint_as_float(k);
                ties = (int)rintf(at / cut);
                if (tid == 0) {
                    int j = 0;
                    while (j < ties && above + (float)j * cut < p.top_p * S) j++;
                    sh.ties_kept = j;
                }
                __syncthreads();
                ties_kept = sh.ties_kept;
            }
            // Step 6: walk ids upwards. Thread i owns ids [i*chunk, (i+1)*chunk).
            const int chunk = (V + SB - 1) / SB, t0 = tid * chunk,
                      t1 = t0 + chunk < V ? t0 + chunk : V;
            const bool part_ties = p.top_p < 1.0f && ties_kept < ties;
            int tie_base = 0;
            if (part_ties) {
                int mine = 0, total;
                for (int t = t0; t < t1; t++) mine += rv.e(t) == cut;
                tie_base = block_excl_scan<int>(mine, sh.i, &total);
            }
            double mass = 0.0;
            int last = -1, tie_j = tie_base;
            for (int t = t0; t < t1; t++) {
                float e = rv.e(t);
                bool keep = e > cut || (p.top_p < 1.0f && e == cut && e > 0.0f &&
                                        (!part_ties || tie_j < ties_kept));
                if (p.top_p < 1.0f && e == cut) tie_j++;
                if (keep) mass += (double)e, last = t;
            }
            double total;
            double base = block_excl_scan<double>(mass, sh.d, &total);
            const double target = d_uniform(p.seed, index[r], (uint64_t)pos[r]) * total;
            if (tid == 0) sh.tok = 0x7fffffff, sh.sel_bin = -1;
            __syncthreads();
            if (last >= 0) atomicMax(&sh.sel_bin, last);
            if (mass > 0.0 && base + mass > target) {
                // The first such thread wins: its walk finds the token inside its ids.
                double cum = 0.0;
                tie_j = tie_base;
                for (int t = t0; t < t1; t++) {
                    float e = rv.e(t);
                    bool keep = e > cut || (p.top_p < 1.0f && e == cut && e > 0.0f &&
                                            (!part_ties || tie_j < ties_kept));
                    if (p.top_p < 1.0f && e == cut) tie_j++;
                    if (!keep) continue;
                    cum += (double)e;
                    if (base + cum > target) {
                        atomicMin(&sh.tok, t);
                        break;
                    }
                }
            }
            __syncthreads();
            tok = sh.tok != 0x7fffffff ? sh.tok : sh.sel_bin;
        }
    }
    // The log-probability under the raw row: the original value if a penalty changed it.
    if (tid == 0) sh.raw = tok >= 0 ? x[tok] : 0.0f;
    __syncthreads();
    if (tok >= 0)
        for (int i = tid; i < L; i += SB)
            if (ctx[i] == tok) sh.raw = orig[i];
    __syncthreads();
    if (tid == 0) {
        tok_out[r] = tok;
        logprob_out[r] = tok >= 0 ? sh.raw - lse : 0.0f;
    }
}

#endif
