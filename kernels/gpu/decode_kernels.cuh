// decode_kernels.cuh — the decode path's own kernels (see decode.h): row embedding, KV-cache
// stores, split-K decode attention and its merge. In a header so that
// tests/kernels/test_sampling_emu.sh can also compile them on the CPU against
// tests/kernels/cuda_emu.h. Included by decode.cu only.
#ifndef ELM_DECODE_KERNELS_CUH
#define ELM_DECODE_KERNELS_CUH

#ifndef ELM_CUDA_EMU
#include "kernels/cuda_common.cuh"
#endif

#include <math.h>

#define ATT_WARPS 4
#define ATT_MAX_HS 128
#define ATT_CHUNK_MIN 64 // fewest positions a split handles
#define ATT_SPLIT_MAX 16

// x (n, C) = wte[tok[r]] + wpe[pos[r]], summed in fp32.
__global__ void embed_kernel(bf16 *x, const bf16 *wte, const bf16 *wpe, const int *tok,
                             const int *pos, int C) {
    int r = blockIdx.x;
    const bf16 *we = wte + (long)tok[r] * C, *pe = wpe + (long)pos[r] * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x)
        x[(long)r * C + c] = __float2bfloat16(__bfloat162float(we[c]) + __bfloat162float(pe[c]));
}

// The k and v thirds of qkv row r go to position pos[r] of slot slot[r], head-major.
__global__ void kv_store_kernel(bf16 *kc, bf16 *vc, const bf16 *qkv, const int *slot,
                                const int *pos, int C, int NH, int cap) {
    int r = blockIdx.x, hs = C / NH;
    const bf16 *src = qkv + (long)r * 3 * C + C;
    for (int i = threadIdx.x; i < 2 * C; i += blockDim.x) {
        int which = i / C, c = i - which * C, h = c / hs, d = c - h * hs;
        long at = (((long)slot[r] * NH + h) * cap + pos[r]) * hs + d;
        (which ? vc : kc)[at] = src[i];
    }
}

// One block per (row, head, split): 4 warps take the split's positions in turn, each keeping an
// online softmax (running max m, sum l, weighted values o) over its positions; the warps are
// merged in shared memory. With one split the block writes the output; otherwise it writes
// (o, m, l) for attention_combine_kernel. Lane i holds channels i, i+32, i+64, i+96 of q.
__global__ void __launch_bounds__(ATT_WARPS * 32)
    attention_kernel(bf16 *out, float *part, const bf16 *q, long ldq, const bf16 *kc,
                     const bf16 *vc, const int *slot, const int *pos, int C, int NH, int cap,
                     int nsplit, int chunk, float scale) {
    __shared__ float wo[ATT_WARPS][ATT_MAX_HS];
    __shared__ float wm[ATT_WARPS], wl[ATT_WARPS];
    const int r = blockIdx.x, h = blockIdx.y, sp = blockIdx.z, hs = C / NH;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int len = pos[r] + 1, j0 = sp * chunk, j1 = min(len, j0 + chunk);
    const long base = ((long)slot[r] * NH + h) * cap * hs;
    float qf[4], o[4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int c = lane + 32 * i;
        qf[i] = c < hs ? __bfloat162float(q[(long)r * ldq + h * hs + c]) * scale : 0.0f;
        o[i] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;
    for (int j = j0 + warp; j < j1; j += ATT_WARPS) {
        const bf16 *k = kc + base + (long)j * hs, *v = vc + base + (long)j * hs;
        float s = 0.0f;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int c = lane + 32 * i;
            if (c < hs) s += qf[i] * __bfloat162float(k[c]);
        }
        s = elm_warp_sum(s);
        float mn = fmaxf(m, s), corr = __expf(m - mn), p = __expf(s - mn);
        l = l * corr + p;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int c = lane + 32 * i;
            o[i] = o[i] * corr + (c < hs ? p * __bfloat162float(v[c]) : 0.0f);
        }
        m = mn;
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int c = lane + 32 * i;
        if (c < hs) wo[warp][c] = o[i];
    }
    if (lane == 0) wm[warp] = m, wl[warp] = l;
    __syncthreads();
    for (int c = threadIdx.x; c < hs; c += blockDim.x) {
        float M = -INFINITY;
        for (int w = 0; w < ATT_WARPS; w++) M = fmaxf(M, wm[w]);
        float L = 0.0f, O = 0.0f;
        if (M > -INFINITY)
            for (int w = 0; w < ATT_WARPS; w++) {
                float f = wl[w] > 0.0f ? __expf(wm[w] - M) : 0.0f;
                L += wl[w] * f;
                O += wo[w][c] * f;
            }
        if (nsplit == 1) {
            out[(long)r * C + h * hs + c] = __float2bfloat16(O / L);
        } else {
            float *pp = part + (((long)r * NH + h) * nsplit + sp) * (hs + 2);
            pp[c] = O;
            if (c == 0) pp[hs] = M, pp[hs + 1] = L;
        }
    }
}

// Merges the splits of (row, head): out = sum_s o_s e^{m_s - M} / sum_s l_s e^{m_s - M}.
__global__ void attention_combine_kernel(bf16 *out, const float *part, int C, int NH, int nsplit) {
    const int r = blockIdx.x, h = blockIdx.y, hs = C / NH;
    const float *pp = part + ((long)r * NH + h) * nsplit * (hs + 2);
    float M = -INFINITY;
    for (int s = 0; s < nsplit; s++)
        if (pp[s * (hs + 2) + hs + 1] > 0.0f) M = fmaxf(M, pp[s * (hs + 2) + hs]);
    for (int c = threadIdx.x; c < hs; c += blockDim.x) {
        float L = 0.0f, O = 0.0f;
        for (int s = 0; s < nsplit; s++) {
            const float *ps = pp + s * (hs + 2);
            if (ps[hs + 1] <= 0.0f) continue;
            float f = __expf(ps[hs] - M);
            L += ps[hs + 1] * f;
            O += ps[c] * f;
        }
        out[(long)r * C + h * hs + c] = __float2bfloat16(O / L);
    }
}

#endif
