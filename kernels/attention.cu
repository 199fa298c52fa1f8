// attention.cu — causal flash attention, forward and backward, versions 1 (scalar) and 2 (tensor
// cores). See attention.h. Scores are kept in the log2 domain inside the kernels (exp2 is one
// instruction): s2 = q.k * scale * log2(e); lse is stored in natural log.
#include "kernels/attention.h"
#include "kernels/cuda_ctx_impl.cuh"
#include "kernels/mma.cuh"

#include <float.h>

#define ATT_TILE 64
#define LOG2E 1.4426950408889634f
#define LN2 0.6931471805599453f
#define V1_MAX_HS 128

// Element pointers into the packed qkv (B,T,3C) for batch b, position t, head h.
__device__ __forceinline__ long qkv_row(int b, int t, int T, int C) {
    return ((long)b * T + t) * 3 * C;
}

// ---- version 1: one thread per row, scalar fp32 ------------------------------------------------
// Forward: a block of 64 threads = 64 queries of one (b, h); K and V tiles of 64 keys staged in
// shared memory (fp32); running max m, sum l and output o per thread (online softmax).
__global__ void attn_fwd_v1(bf16 *out, float *lse, const bf16 *qkv, int T, int C, int NH) {
    extern __shared__ float v1_smem[];
    int HS = C / NH, b = blockIdx.z, h = blockIdx.y;
    float *ks = v1_smem, *vs = v1_smem + ATT_TILE * HS;
    int q = blockIdx.x * ATT_TILE + threadIdx.x;
    float scale = rsqrtf((float)HS) * LOG2E;
    float qv[V1_MAX_HS], o[V1_MAX_HS];
    for (int d = 0; d < HS; d++) {
        qv[d] = q < T ? __bfloat162float(qkv[qkv_row(b, q, T, C) + h * HS + d]) * scale : 0.0f;
        o[d] = 0.0f;
    }
    float m = -FLT_MAX, l = 0.0f;
    int kend = min(T, (blockIdx.x + 1) * ATT_TILE);
    for (int k0 = 0; k0 < kend; k0 += ATT_TILE) {
        __syncthreads();
        for (int i = threadIdx.x; i < ATT_TILE * HS; i += blockDim.x) {
            int r = i / HS, d = i % HS, k = k0 + r;
            long base = k < T ? qkv_row(b, k, T, C) + h * HS + d : 0;
            ks[i] = k < T ? __bfloat162float(qkv[base + C]) : 0.0f;
            vs[i] = k < T ? __bfloat162float(qkv[base + 2 * C]) : 0.0f;
        }
        __syncthreads();
        for (int j = 0; j < ATT_TILE; j++) {
            int k = k0 + j;
            if (k > q || k >= T) break;
            float s = 0.0f;
            for (int d = 0; d < HS; d++) s += qv[d] * ks[j * HS + d];
            if (s > m) {
                float corr = exp2f(m - s);
                l = l * corr + 1.0f;
                for (int d = 0; d < HS; d++) o[d] = o[d] * corr + vs[j * HS + d];
                m = s;
            } else {
                float p = exp2f(s - m);
                l += p;
                for (int d = 0; d < HS; d++) o[d] += p * vs[j * HS + d];
            }
        }
    }
    if (q < T) {
        for (int d = 0; d < HS; d++)
            out[((long)b * T + q) * C + h * HS + d] = __float2bfloat16(o[d] / l);
        lse[((long)b * NH + h) * T + q] = (m + log2f(l)) * LN2;
    }
}

// D[b,h,t] = dO . O over the head's channels: the softmax-backward row term. One warp per row.
__global__ void attn_bwd_d(float *D, const bf16 *dout, const bf16 *out, int B, int T, int C,
                           int NH) {
    int HS = C / NH, lane = threadIdx.x & 31;
    long row = blockIdx.x * (long)(blockDim.x / 32) + threadIdx.x / 32; // over (b, t, h)
    if (row >= (long)B * T * NH) return;
    int h = (int)(row % NH);
    long bt = row / NH;
    int b = (int)(bt / T), t = (int)(bt % T);
    const bf16 *po = out + bt * C + h * HS, *pd = dout + bt * C + h * HS;
    float s = 0.0f;
    for (int d = lane; d < HS; d += 32) s += __bfloat162float(po[d]) * __bfloat162float(pd[d]);
    s = elm_warp_sum(s);
    if (lane == 0) D[((long)b * NH + h) * T + t] = s;
}

// Backward dK, dV: one thread per key; Q and dO tiles of the queries at or after the key tile.
__global__ void attn_bwd_dkdv_v1(bf16 *dqkv, const bf16 *dout, const bf16 *qkv, const float *lse,
                                 const float *D, int T, int C, int NH) {
    extern __shared__ float v1_smem[];
    int HS = C / NH, b = blockIdx.z, h = blockIdx.y;
    float *qs = v1_smem, *dos = v1_smem + ATT_TILE * HS;
    float *ls = dos + ATT_TILE * HS, *ds_ = ls + ATT_TILE;
    int key = blockIdx.x * ATT_TILE + threadIdx.x;
    float scale = rsqrtf((float)HS);
    float kv[V1_MAX_HS], vv[V1_MAX_HS], dk[V1_MAX_HS], dv[V1_MAX_HS];
    for (int d = 0; d < HS; d++) {
        long base = key < T ? qkv_row(b, key, T, C) + h * HS + d : 0;
        kv[d] = key < T ? __bfloat162float(qkv[base + C]) : 0.0f;
        vv[d] = key < T ? __bfloat162float(qkv[base + 2 * C]) : 0.0f;
        dk[d] = dv[d] = 0.0f;
    }
    for (int q0 = blockIdx.x * ATT_TILE; q0 < T; q0 += ATT_TILE) {
        __syncthreads();
        for (int i = threadIdx.x; i < ATT_TILE * HS; i += blockDim.x) {
            int r = i / HS, d = i % HS, q = q0 + r;
            qs[i] = q < T ? __bfloat162float(qkv[qkv_row(b, q, T, C) + h * HS + d]) : 0.0f;
            dos[i] = q < T ? __bfloat162float(dout[((long)b * T + q) * C + h * HS + d]) : 0.0f;
        }
        for (int r = threadIdx.x; r < ATT_TILE; r += blockDim.x) {
            int q = q0 + r;
            ls[r] = q < T ? lse[((long)b * NH + h) * T + q] : 0.0f;
            ds_[r] = q < T ? D[((long)b * NH + h) * T + q] : 0.0f;
        }
        __syncthreads();
        if (key >= T) continue;
        for (int r = 0; r < ATT_TILE; r++) {
            int q = q0 + r;
            if (q >= T) break;
            if (q < key) continue;
            float s = 0.0f, dp = 0.0f;
            for (int d = 0; d < HS; d++) {
                s += qs[r * HS + d] * kv[d];
                dp += dos[r * HS + d] * vv[d];
            }
            float p = __expf(s * scale - ls[r]);
            float dsv = p * (dp - ds_[r]) * scale;
            for (int d = 0; d < HS; d++) {
                dv[d] += p * dos[r * HS + d];
                dk[d] += dsv * qs[r * HS + d];
            }
        }
    }
    if (key < T)
        for (int d = 0; d < HS; d++) {
            long base = qkv_row(b, key, T, C) + h * HS + d;
            dqkv[base + C] = __float2bfloat16(dk[d]);
            dqkv[base + 2 * C] = __float2bfloat16(dv[d]);
        }
}

// Backward dQ: one thread per query; K and V tiles of the keys up to the query tile.
__global__ void attn_bwd_dq_v1(bf16 *dqkv, const bf16 *dout, const bf16 *qkv, const float *lse,
                               const float *D, int T, int C, int NH) {
    extern __shared__ float v1_smem[];
    int HS = C / NH, b = blockIdx.z, h = blockIdx.y;
    float *ks = v1_smem, *vs = v1_smem + ATT_TILE * HS;
    int q = blockIdx.x * ATT_TILE + threadIdx.x;
    float scale = rsqrtf((float)HS);
    float qv[V1_MAX_HS], dov[V1_MAX_HS], dq[V1_MAX_HS];
    float l = 0.0f, dd = 0.0f;
    for (int d = 0; d < HS; d++) {
        qv[d] = q < T ? __bfloat162float(qkv[qkv_row(b, q, T, C) + h * HS + d]) : 0.0f;
        dov[d] = q < T ? __bfloat162float(dout[((long)b * T + q) * C + h * HS + d]) : 0.0f;
        dq[d] = 0.0f;
    }
    if (q < T) l = lse[((long)b * NH + h) * T + q], dd = D[((long)b * NH + h) * T + q];
    int kend = min(T, (blockIdx.x + 1) * ATT_TILE);
    for (int k0 = 0; k0 < kend; k0 += ATT_TILE) {
        __syncthreads();
        for (int i = threadIdx.x; i < ATT_TILE * HS; i += blockDim.x) {
            int r = i / HS, d = i % HS, k = k0 + r;
            long base = k < T ? qkv_row(b, k, T, C) + h * HS + d : 0;
            ks[i] = k < T ? __bfloat162float(qkv[base + C]) : 0.0f;
            vs[i] = k < T ? __bfloat162float(qkv[base + 2 * C]) : 0.0f;
        }
        __syncthreads();
        if (q >= T) continue;
        for (int j = 0; j < ATT_TILE; j++) {
            int k = k0 + j;
            if (k > q) break;
            float s = 0.0f, dp = 0.0f;
            for (int d = 0; d < HS; d++) {
                s += qv[d] * ks[j * HS + d];
                dp += dov[d] * vs[j * HS + d];
            }
            float p = __expf(s * scale - l);
            float dsv = p * (dp - dd) * scale;
            for (int d = 0; d < HS; d++) dq[d] += dsv * ks[j * HS + d];
        }
    }
    if (q < T)
        for (int d = 0; d < HS; d++)
            dqkv[qkv_row(b, q, T, C) + h * HS + d] = __float2bfloat16(dq[d]);
}

// ---- version 2: tensor cores ------------------------------------------------------------------
#define V2_WARPS 4
#define V2_THREADS (V2_WARPS * 32)

// Stages rows [r0, r0+64) of one head's q, k or v (part 0, 1, 2) — or of a (B,T,C) tensor when
// part < 0 — into shared memory [64][HS+8], zero rows past T. 16-byte cp.async chunks.
template <int HS>
__device__ __forceinline__ void att_load_tile(bf16 *s, const bf16 *src, int part, int b, int h,
                                              int r0, int T, int C) {
    constexpr int CPR = HS / 8;
    for (int ch = threadIdx.x; ch < ATT_TILE * CPR; ch += V2_THREADS) {
        int r = ch / CPR, c = (ch % CPR) * 8, t = r0 + r;
        bf16 *dst = s + r * (HS + 8) + c;
        if (t < T) {
            const bf16 *g = part >= 0 ? src + qkv_row(b, t, T, C) + part * C + h * HS + c
                                      : src + ((long)b * T + t) * C + h * HS + c;
            elm_cp_async16(dst, g);
        } else {
            *(uint4 *)dst = make_uint4(0, 0, 0, 0);
        }
    }
}

template <int HS>
__global__ void __launch_bounds__(V2_THREADS)
    attn_fwd_v2(bf16 *out, float *lse, const bf16 *qkv, int T, int C, int NH) {
    extern __shared__ __align__(16) unsigned char att_smem[];
    constexpr int SLD = HS + 8, KS = HS / 16, NT = HS / 8;
    // Q, then K/V double-buffered: the next tile's copy overlaps this tile's math.
    bf16 *qs = (bf16 *)att_smem, *kv_smem = qs + ATT_TILE * SLD;
    // Causal blocks differ in work (query tile qt visits qt + 1 key tiles): heaviest first.
    const int b = blockIdx.z, h = blockIdx.y, qt = gridDim.x - 1 - blockIdx.x;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t4 = lane & 3;
    const int mat = lane >> 3, mr = lane & 7;
    const int q0 = qt * ATT_TILE;
    const float scale = rsqrtf((float)HS) * LOG2E;

    att_load_tile<HS>(qs, qkv, 0, b, h, q0, T, C);
    att_load_tile<HS>(kv_smem, qkv, 1, b, h, 0, T, C);
    att_load_tile<HS>(kv_smem + ATT_TILE * SLD, qkv, 2, b, h, 0, T, C);
    elm_cp_async_commit();
    elm_cp_async_wait<0>();
    __syncthreads();
    uint32_t qf[KS][4];
#pragma unroll
    for (int kk = 0; kk < KS; kk++)
        elm_ldsm_x4(qf[kk], qs + (warp * 16 + mr + (mat & 1) * 8) * SLD + kk * 16 + (mat >> 1) * 8);

    float o[NT][4], m[2] = {-FLT_MAX, -FLT_MAX}, l[2] = {0.0f, 0.0f};
#pragma unroll
    for (int j = 0; j < NT; j++) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.0f;
    const int row0 = q0 + warp * 16 + g; // this thread's rows: row0 and row0 + 8

    for (int kt = 0; kt <= qt; kt++) {
        const int k0 = kt * ATT_TILE;
        const bf16 *ks = kv_smem + (kt & 1) * 2 * ATT_TILE * SLD, *vs = ks + ATT_TILE * SLD;
        if (kt < qt) { // prefetch tile kt+1 into the other buffer (freed by the last barrier)
            bf16 *nk = kv_smem + ((kt + 1) & 1) * 2 * ATT_TILE * SLD;
            att_load_tile<HS>(nk, qkv, 1, b, h, k0 + ATT_TILE, T, C);
            att_load_tile<HS>(nk + ATT_TILE * SLD, qkv, 2, b, h, k0 + ATT_TILE, T, C);
            elm_cp_async_commit();
            elm_cp_async_wait<1>(); // tile kt has landed; kt+1 may still be in flight
        } else {
            elm_cp_async_wait<0>();
        }
        __syncthreads();

        float s[8][4];
#pragma unroll
        for (int j = 0; j < 8; j++) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < KS; kk++)
#pragma unroll
            for (int np = 0; np < 4; np++) { // K stored [key][hs] = B as [n][k]
                uint32_t r[4];
                elm_ldsm_x4(r,
                            ks + (np * 16 + mr + (mat >> 1) * 8) * SLD + kk * 16 + (mat & 1) * 8);
                uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
                elm_mma_bf16(s[2 * np], qf[kk], b0);
                elm_mma_bf16(s[2 * np + 1], qf[kk], b1);
            }
        // Scale, mask (causal and past T) and the running row max.
        float mx[2] = {m[0], m[1]};
#pragma unroll
        for (int j = 0; j < 8; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int row = row0 + (e >> 1) * 8, col = k0 + j * 8 + 2 * t4 + (e & 1);
                float v = (col <= row && col < T) ? s[j][e] * scale : -FLT_MAX;
                s[j][e] = v;
                mx[e >> 1] = fmaxf(mx[e >> 1], v);
            }
#pragma unroll
        for (int r = 0; r < 2; r++) {
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
        }
        float corr[2] = {exp2f(m[0] - mx[0]), exp2f(m[1] - mx[1])};
        m[0] = mx[0], m[1] = mx[1];
        l[0] *= corr[0], l[1] *= corr[1];
#pragma unroll
        for (int j = 0; j < NT; j++) {
            o[j][0] *= corr[0], o[j][1] *= corr[0];
            o[j][2] *= corr[1], o[j][3] *= corr[1];
        }
        // P = exp2(s - m) as bf16 A fragments (the C layout of two n-tiles is one A tile).
        uint32_t pf[4][4];
#pragma unroll
        for (int j = 0; j < 8; j++) {
            float p0 = s[j][0] == -FLT_MAX ? 0.0f : exp2f(s[j][0] - m[0]);
            float p1 = s[j][1] == -FLT_MAX ? 0.0f : exp2f(s[j][1] - m[0]);
            float p2 = s[j][2] == -FLT_MAX ? 0.0f : exp2f(s[j][2] - m[1]);
            float p3 = s[j][3] == -FLT_MAX ? 0.0f : exp2f(s[j][3] - m[1]);
            l[0] += p0 + p1, l[1] += p2 + p3;
            pf[j / 2][(j & 1) * 2 + 0] = elm_pack_bf16(p0, p1);
            pf[j / 2][(j & 1) * 2 + 1] = elm_pack_bf16(p2, p3);
        }
        // O += P V; V stored [key][hs] = B as [k][n]: transposed ldmatrix.
#pragma unroll
        for (int kk = 0; kk < 4; kk++)
#pragma unroll
            for (int np = 0; np < NT / 2; np++) {
                uint32_t r[4];
                elm_ldsm_x4_t(r,
                              vs + (kk * 16 + mr + (mat & 1) * 8) * SLD + np * 16 + (mat >> 1) * 8);
                uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
                elm_mma_bf16(o[2 * np], pf[kk], b0);
                elm_mma_bf16(o[2 * np + 1], pf[kk], b1);
            }
        __syncthreads(); // this buffer is refilled by the prefetch two tiles on
    }
#pragma unroll
    for (int r = 0; r < 2; r++) {
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
    }
#pragma unroll
    for (int r = 0; r < 2; r++) {
        int row = row0 + r * 8;
        if (row >= T) continue;
        float inv = 1.0f / l[r];
        bf16 *po = out + ((long)b * T + row) * C + h * HS;
#pragma unroll
        for (int j = 0; j < NT; j++) {
            __nv_bfloat162 v = __floats2bfloat162_rn(o[j][2 * r] * inv, o[j][2 * r + 1] * inv);
            *(__nv_bfloat162 *)(po + j * 8 + 2 * t4) = v;
        }
        if (t4 == 0) lse[((long)b * NH + h) * T + row] = (m[r] + log2f(l[r])) * LN2;
    }
}

// Backward, FlashAttention-2 order: block = one key tile of one (b, h); warp w owns keys
// k0 + 16w .. +15 and accumulates their dK, dV in registers while walking the query tiles
// q0 >= k0. Transposed products are computed directly: S^T = K Q^T, dP^T = V dO^T, so P^T and
// dS^T come out in the A layout for dV += P^T dO and dK += dS^T Q. dQ += dS K needs dS by query
// rows: dS^T goes through shared memory and dQ is added to an fp32 buffer with atomics.
template <int HS>
__global__ void __launch_bounds__(V2_THREADS)
    attn_bwd_v2(float *dq_acc, bf16 *dqkv, const bf16 *dout, const bf16 *qkv, const float *lse,
                const float *D, int T, int C, int NH) {
    extern __shared__ __align__(16) unsigned char att_smem[];
    constexpr int SLD = HS + 8, KS = HS / 16, NT = HS / 8, DSLD = ATT_TILE + 8;
    // K, V; then Q, dO, lse, D double-buffered (the next query tile's copy overlaps this one's
    // math); dS^T [key][query] for the dQ product.
    bf16 *ks = (bf16 *)att_smem, *vs = ks + ATT_TILE * SLD, *qbuf = vs + ATT_TILE * SLD;
    bf16 *dss = qbuf + 4 * ATT_TILE * SLD;          // two (Q, dO) pairs before it
    float *lbuf = (float *)(dss + ATT_TILE * DSLD); // two (lse, D) pairs
    const int b = blockIdx.z, h = blockIdx.y, kt = blockIdx.x;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t4 = lane & 3;
    const int mat = lane >> 3, mr = lane & 7;
    const int k0 = kt * ATT_TILE;
    const float scale = rsqrtf((float)HS);

    // Query tile starting at q0 into buffer `buf`: Q and dO by cp.async, lse and D by plain loads.
    auto load_q_tile = [&](int buf, int q0) {
        bf16 *q_s = qbuf + buf * 2 * ATT_TILE * SLD;
        att_load_tile<HS>(q_s, qkv, 0, b, h, q0, T, C);
        att_load_tile<HS>(q_s + ATT_TILE * SLD, dout, -1, b, h, q0, T, C);
        float *l_s = lbuf + buf * 2 * ATT_TILE;
        for (int r = threadIdx.x; r < ATT_TILE; r += V2_THREADS) {
            int q = q0 + r;
            l_s[r] = q < T ? lse[((long)b * NH + h) * T + q] * LOG2E : 0.0f;
            l_s[ATT_TILE + r] = q < T ? D[((long)b * NH + h) * T + q] : 0.0f;
        }
    };
    att_load_tile<HS>(ks, qkv, 1, b, h, k0, T, C);
    att_load_tile<HS>(vs, qkv, 2, b, h, k0, T, C);
    load_q_tile(0, k0);
    elm_cp_async_commit();

    float dk[NT][4], dv[NT][4];
#pragma unroll
    for (int j = 0; j < NT; j++)
#pragma unroll
        for (int e = 0; e < 4; e++) dk[j][e] = dv[j][e] = 0.0f;
    const int key0 = k0 + warp * 16 + g; // this thread's keys: key0 and key0 + 8

    for (int q0 = k0, it = 0; q0 < T; q0 += ATT_TILE, it++) {
        const int buf = it & 1;
        if (q0 + ATT_TILE < T) { // the other buffer was freed by the last barrier
            load_q_tile(buf ^ 1, q0 + ATT_TILE);
            elm_cp_async_commit();
            elm_cp_async_wait<1>();
        } else {
            elm_cp_async_wait<0>();
        }
        __syncthreads();
        const bf16 *qs = qbuf + buf * 2 * ATT_TILE * SLD, *dos = qs + ATT_TILE * SLD;
        const float *ls = lbuf + buf * 2 * ATT_TILE, *dd = ls + ATT_TILE;

        // S^T (16 keys x 64 queries) and dP^T, both with B = (Q or dO) stored [query][hs].
        float st[8][4], dpt[8][4];
#pragma unroll
        for (int j = 0; j < 8; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) st[j][e] = dpt[j][e] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < KS; kk++) {
            uint32_t kf[4], vf[4];
            elm_ldsm_x4(kf, ks + (warp * 16 + mr + (mat & 1) * 8) * SLD + kk * 16 + (mat >> 1) * 8);
            elm_ldsm_x4(vf, vs + (warp * 16 + mr + (mat & 1) * 8) * SLD + kk * 16 + (mat >> 1) * 8);
#pragma unroll
            for (int np = 0; np < 4; np++) {
                uint32_t r[4];
                int off = (np * 16 + mr + (mat >> 1) * 8) * SLD + kk * 16 + (mat & 1) * 8;
                elm_ldsm_x4(r, qs + off);
                uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
                elm_mma_bf16(st[2 * np], kf, b0);
                elm_mma_bf16(st[2 * np + 1], kf, b1);
                elm_ldsm_x4(r, dos + off);
                uint32_t c0[2] = {r[0], r[1]}, c1[2] = {r[2], r[3]};
                elm_mma_bf16(dpt[2 * np], vf, c0);
                elm_mma_bf16(dpt[2 * np + 1], vf, c1);
            }
        }
        // P^T = exp(S^T scale - lse[q]) (0 where masked); dS^T = P^T (dP^T - D[q]).
        uint32_t pf[4][4], dsf[4][4];
#pragma unroll
        for (int j = 0; j < 8; j++) {
            float p[4], ds[4];
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int key = key0 + (e >> 1) * 8, qc = j * 8 + 2 * t4 + (e & 1), q = q0 + qc;
                bool ok = q >= key && q < T && key < T;
                p[e] = ok ? exp2f(st[j][e] * scale * LOG2E - ls[qc]) : 0.0f;
                ds[e] = p[e] * (dpt[j][e] - dd[qc]);
            }
            pf[j / 2][(j & 1) * 2 + 0] = elm_pack_bf16(p[0], p[1]);
            pf[j / 2][(j & 1) * 2 + 1] = elm_pack_bf16(p[2], p[3]);
            dsf[j / 2][(j & 1) * 2 + 0] = elm_pack_bf16(ds[0], ds[1]);
            dsf[j / 2][(j & 1) * 2 + 1] = elm_pack_bf16(ds[2], ds[3]);
            // dS^T rows (keys) of this warp into shared memory for the dQ product.
            *(uint32_t *)(dss + (warp * 16 + g) * DSLD + j * 8 + 2 * t4) = dsf[j / 2][(j & 1) * 2];
            *(uint32_t *)(dss + (warp * 16 + g + 8) * DSLD + j * 8 + 2 * t4) =
                dsf[j / 2][(j & 1) * 2 + 1];
        }
        // dV += P^T dO and dK += dS^T Q: B = dO or Q stored [query][hs] = [k][n], transposed.
#pragma unroll
        for (int kk = 0; kk < 4; kk++)
#pragma unroll
            for (int np = 0; np < NT / 2; np++) {
                uint32_t r[4];
                int off = (kk * 16 + mr + (mat & 1) * 8) * SLD + np * 16 + (mat >> 1) * 8;
                elm_ldsm_x4_t(r, dos + off);
                uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
                elm_mma_bf16(dv[2 * np], pf[kk], b0);
                elm_mma_bf16(dv[2 * np + 1], pf[kk], b1);
                elm_ldsm_x4_t(r, qs + off);
                uint32_t c0[2] = {r[0], r[1]}, c1[2] = {r[2], r[3]};
                elm_mma_bf16(dk[2 * np], dsf[kk], c0);
                elm_mma_bf16(dk[2 * np + 1], dsf[kk], c1);
            }
        __syncthreads(); // all of dS^T is in shared memory
        // dQ (rows q0 + 16w ..) = dS (queries x keys) K: A = dS stored [key][query], transposed;
        // B = K stored [key][hs] = [k][n], transposed.
        float dq[NT][4];
#pragma unroll
        for (int j = 0; j < NT; j++) dq[j][0] = dq[j][1] = dq[j][2] = dq[j][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < 4; kk++) {
            uint32_t af[4];
            elm_ldsm_x4_t(af,
                          dss + (kk * 16 + mr + (mat >> 1) * 8) * DSLD + warp * 16 + (mat & 1) * 8);
#pragma unroll
            for (int np = 0; np < NT / 2; np++) {
                uint32_t r[4];
                elm_ldsm_x4_t(r,
                              ks + (kk * 16 + mr + (mat & 1) * 8) * SLD + np * 16 + (mat >> 1) * 8);
                uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
                elm_mma_bf16(dq[2 * np], af, b0);
                elm_mma_bf16(dq[2 * np + 1], af, b1);
            }
        }
#pragma unroll
        for (int r = 0; r < 2; r++) {
            int q = q0 + warp * 16 + g + r * 8;
            if (q >= T) continue;
            float *dst = dq_acc + ((long)b * T + q) * C + h * HS;
#pragma unroll
            for (int j = 0; j < NT; j++) {
                atomicAdd(dst + j * 8 + 2 * t4, dq[j][2 * r] * scale);
                atomicAdd(dst + j * 8 + 2 * t4 + 1, dq[j][2 * r + 1] * scale);
            }
        }
        __syncthreads(); // dS^T and this (Q, dO) buffer are rewritten next
    }
#pragma unroll
    for (int r = 0; r < 2; r++) {
        int key = key0 + r * 8;
        if (key >= T) continue;
        bf16 *base = dqkv + qkv_row(b, key, T, C) + h * HS;
#pragma unroll
        for (int j = 0; j < NT; j++) {
            *(__nv_bfloat162 *)(base + C + j * 8 + 2 * t4) =
                __floats2bfloat162_rn(dk[j][2 * r] * scale, dk[j][2 * r + 1] * scale);
            *(__nv_bfloat162 *)(base + 2 * C + j * 8 + 2 * t4) =
                __floats2bfloat162_rn(dv[j][2 * r], dv[j][2 * r + 1]);
        }
    }
}

// dQ from its fp32 accumulator into the q part of dqkv.
__global__ void attn_dq_store(bf16 *dqkv, const float *dq_acc, int B, int T, int C) {
    long n = (long)B * T * C;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x) {
        long bt = i / C;
        dqkv[bt * 3 * C + i % C] = __float2bfloat16(dq_acc[i]);
    }
}

// ---- launchers --------------------------------------------------------------------------------
static int check_shape(int B, int T, int C, int NH, ElmError *err) {
    if (B <= 0 || T <= 0 || C <= 0 || NH <= 0 || C % NH)
        return elm_err(err, "attention: bad shape B=%d T=%d C=%d NH=%d", B, T, C, NH);
    return 0;
}

static bool v2_head_ok(int HS) {
    return HS == 16 || HS == 32 || HS == 64 || HS == 128;
}

template <int HS>
static int fwd_v2(ElmCudaCtx *ctx, bf16 *out, float *lse, const bf16 *qkv, int B, int T, int C,
                  int NH, ElmError *err) {
    int smem = 3 * ATT_TILE * (HS + 8) * (int)sizeof(bf16);
    ELM_CU(err, cudaFuncSetAttribute(attn_fwd_v2<HS>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     smem));
    dim3 grid(elm_ceil_div(T, ATT_TILE), NH, B);
    attn_fwd_v2<HS><<<grid, V2_THREADS, smem, ctx->stream>>>(out, lse, qkv, T, C, NH);
    ELM_CU_LAUNCH("attention forward v2");
    return 0;
}

extern "C" int elm_cu_attention_forward(ElmCudaCtx *ctx, ElmBf16 *out_, float *lse,
                                        const ElmBf16 *qkv_, int B, int T, int C, int NH,
                                        int version, ElmError *err) {
    if (check_shape(B, T, C, NH, err)) return -1;
    bf16 *out = (bf16 *)out_;
    const bf16 *qkv = (const bf16 *)qkv_;
    int HS = C / NH;
    if (version == 0) version = v2_head_ok(HS) ? 2 : 1;
    if (version == 1) {
        if (HS > V1_MAX_HS) return elm_err(err, "attention v1: head size %d > %d", HS, V1_MAX_HS);
        int smem = 2 * ATT_TILE * HS * (int)sizeof(float);
        ELM_CU(err, cudaFuncSetAttribute(attn_fwd_v1, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         smem));
        dim3 grid(elm_ceil_div(T, ATT_TILE), NH, B);
        attn_fwd_v1<<<grid, ATT_TILE, smem, ctx->stream>>>(out, lse, qkv, T, C, NH);
        ELM_CU_LAUNCH("attention forward v1");
        return 0;
    }
    if (version != 2) return elm_err(err, "attention: no version %d", version);
    switch (HS) {
    case 16:
        return fwd_v2<16>(ctx, out, lse, qkv, B, T, C, NH, err);
    case 32:
        return fwd_v2<32>(ctx, out, lse, qkv, B, T, C, NH, err);
    case 64:
        return fwd_v2<64>(ctx, out, lse, qkv, B, T, C, NH, err);
    case 128:
        return fwd_v2<128>(ctx, out, lse, qkv, B, T, C, NH, err);
    }
    return elm_err(err, "attention v2: head size %d (16, 32, 64 or 128)", HS);
}

extern "C" size_t elm_cu_attention_scratch(int B, int T, int C, int NH) {
    return (size_t)B * NH * T + (size_t)B * T * C;
}

template <int HS>
static int bwd_v2(ElmCudaCtx *ctx, float *dq_acc, bf16 *dqkv, const bf16 *dout, const bf16 *qkv,
                  const float *lse, const float *D, int B, int T, int C, int NH, ElmError *err) {
    // K, V, 2 x (Q, dO), dS^T, 2 x (lse, D)
    int smem = 6 * ATT_TILE * (HS + 8) * (int)sizeof(bf16) +
               ATT_TILE * (ATT_TILE + 8) * (int)sizeof(bf16) + 4 * ATT_TILE * (int)sizeof(float);
    ELM_CU(err, cudaFuncSetAttribute(attn_bwd_v2<HS>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     smem));
    dim3 grid(elm_ceil_div(T, ATT_TILE), NH, B);
    attn_bwd_v2<HS>
        <<<grid, V2_THREADS, smem, ctx->stream>>>(dq_acc, dqkv, dout, qkv, lse, D, T, C, NH);
    ELM_CU_LAUNCH("attention backward v2");
    return 0;
}

extern "C" int elm_cu_attention_backward(ElmCudaCtx *ctx, ElmBf16 *dqkv_, float *scratch,
                                         const ElmBf16 *dout_, const ElmBf16 *qkv_,
                                         const ElmBf16 *out_, const float *lse, int B, int T, int C,
                                         int NH, int version, ElmError *err) {
    if (check_shape(B, T, C, NH, err)) return -1;
    bf16 *dqkv = (bf16 *)dqkv_;
    const bf16 *dout = (const bf16 *)dout_, *qkv = (const bf16 *)qkv_, *out = (const bf16 *)out_;
    int HS = C / NH;
    if (version == 0) version = v2_head_ok(HS) ? 2 : 1;
    float *D = scratch, *dq_acc = scratch + (size_t)B * NH * T;
    long rows = (long)B * T * NH;
    attn_bwd_d<<<(int)((rows + 7) / 8), 256, 0, ctx->stream>>>(D, dout, out, B, T, C, NH);
    ELM_CU_LAUNCH("attention backward D");
    dim3 grid(elm_ceil_div(T, ATT_TILE), NH, B);
    if (version == 1) {
        if (HS > V1_MAX_HS) return elm_err(err, "attention v1: head size %d > %d", HS, V1_MAX_HS);
        int smem = (2 * ATT_TILE * HS + 2 * ATT_TILE) * (int)sizeof(float);
        ELM_CU(err, cudaFuncSetAttribute(attn_bwd_dkdv_v1,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
        ELM_CU(err, cudaFuncSetAttribute(attn_bwd_dq_v1,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
        attn_bwd_dkdv_v1<<<grid, ATT_TILE, smem, ctx->stream>>>(dqkv, dout, qkv, lse, D, T, C, NH);
        ELM_CU_LAUNCH("attention backward dK dV v1");
        attn_bwd_dq_v1<<<grid, ATT_TILE, smem, ctx->stream>>>(dqkv, dout, qkv, lse, D, T, C, NH);
        ELM_CU_LAUNCH("attention backward dQ v1");
        return 0;
    }
    if (version != 2) return elm_err(err, "attention: no version %d", version);
    ELM_CU(err, cudaMemsetAsync(dq_acc, 0, (size_t)B * T * C * sizeof(float), ctx->stream));
    int rc;
    switch (HS) {
    case 16:
        rc = bwd_v2<16>(ctx, dq_acc, dqkv, dout, qkv, lse, D, B, T, C, NH, err);
        break;
    case 32:
        rc = bwd_v2<32>(ctx, dq_acc, dqkv, dout, qkv, lse, D, B, T, C, NH, err);
        break;
    case 64:
        rc = bwd_v2<64>(ctx, dq_acc, dqkv, dout, qkv, lse, D, B, T, C, NH, err);
        break;
    case 128:
        rc = bwd_v2<128>(ctx, dq_acc, dqkv, dout, qkv, lse, D, B, T, C, NH, err);
        break;
    default:
        return elm_err(err, "attention v2: head size %d (16, 32, 64 or 128)", HS);
    }
    if (rc) return rc;
    long n = (long)B * T * C;
    int blocks = (int)((n + 255) / 256 < ctx->sms * 32L ? (n + 255) / 256 : ctx->sms * 32L);
    attn_dq_store<<<blocks, 256, 0, ctx->stream>>>(dqkv, dq_acc, B, T, C);
    ELM_CU_LAUNCH("attention dQ store");
    return 0;
}
