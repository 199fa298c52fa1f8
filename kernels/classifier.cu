// classifier.cu — fused softmax + cross-entropy + gradient (see classifier.h). One block per row.
#include "kernels/classifier.h"
#include "kernels/cuda_ctx_impl.cuh"

#include <float.h>

#define CLS_THREADS 512

// VEC: rows are 16-byte aligned (ld % 8 == 0), so each thread moves 8 logits per access.
template <bool VEC>
__global__ void __launch_bounds__(CLS_THREADS)
    classifier_kernel(float *losses, bf16 *logits, const int *targets, int V, long ld, float dloss,
                      int write_grad) {
    __shared__ float sm[32], ss[32];
    int row = blockIdx.x, tgt = targets[row];
    bf16 *x = logits + (long)row * ld;
    // Online softmax statistics: running max m and sum s of exp(x - m) per thread.
    float m = -FLT_MAX, s = 0.0f;
    auto add = [&](float xv) {
        if (xv > m) {
            s = s * __expf(m - xv) + 1.0f;
            m = xv;
        } else {
            s += __expf(xv - m);
        }
    };
    if (VEC) {
        for (int v0 = threadIdx.x * 8; v0 < V; v0 += CLS_THREADS * 8) {
            uint4 raw = *(const uint4 *)(x + v0); // within the row: v0 + 8 <= ld
            const bf16 *e = (const bf16 *)&raw;
#pragma unroll
            for (int j = 0; j < 8; j++)
                if (v0 + j < V) add(__bfloat162float(e[j]));
        }
    } else {
        for (int v = threadIdx.x; v < V; v += CLS_THREADS) add(__bfloat162float(x[v]));
    }
    // Merge (m, s) across the warp, then across warps.
    for (int o = 16; o > 0; o >>= 1) {
        float mo = __shfl_xor_sync(0xffffffffu, m, o), so = __shfl_xor_sync(0xffffffffu, s, o);
        float mm = fmaxf(m, mo);
        s = s * __expf(m - mm) + so * __expf(mo - mm);
        m = mm;
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) sm[warp] = m, ss[warp] = s;
    __syncthreads();
    if (warp == 0) {
        m = lane < CLS_THREADS / 32 ? sm[lane] : -FLT_MAX;
        s = lane < CLS_THREADS / 32 ? ss[lane] : 0.0f;
        for (int o = 16; o > 0; o >>= 1) {
            float mo = __shfl_xor_sync(0xffffffffu, m, o), so = __shfl_xor_sync(0xffffffffu, s, o);
            float mm = fmaxf(m, mo);
            s = (s > 0.0f ? s * __expf(m - mm) : 0.0f) + (so > 0.0f ? so * __expf(mo - mm) : 0.0f);
            m = mm;
        }
        if (lane == 0) sm[0] = m, ss[0] = s;
    }
    __syncthreads();
    m = sm[0];
    float inv = 1.0f / ss[0];
    if (threadIdx.x == 0)
        losses[row] = tgt >= 0 ? logf(ss[0]) + m - __bfloat162float(x[tgt]) : 0.0f;
    __syncthreads(); // x[tgt] is read above before the gradient overwrites it
    if (!write_grad) return;
    float scale = tgt >= 0 ? dloss : 0.0f;
    auto grad = [&](int v, float xv) {
        return v < V ? (__expf(xv - m) * inv - (v == tgt ? 1.0f : 0.0f)) * scale : 0.0f;
    };
    if (VEC) {
        for (int v0 = threadIdx.x * 8; v0 < ld; v0 += CLS_THREADS * 8) {
            uint4 raw = *(const uint4 *)(x + v0);
            bf16 *e = (bf16 *)&raw;
#pragma unroll
            for (int j = 0; j < 8; j++)
                e[j] = __float2bfloat16(grad(v0 + j, __bfloat162float(e[j])));
            *(uint4 *)(x + v0) = raw;
        }
    } else {
        for (int v = threadIdx.x; v < ld; v += CLS_THREADS)
            x[v] = __float2bfloat16(grad(v, __bfloat162float(x[v])));
    }
}

extern "C" int elm_cu_classifier(ElmCudaCtx *ctx, float *losses, ElmBf16 *logits,
                                 const int *targets, int BT, int V, long ld, float dloss,
                                 int dlogits, ElmError *err) {
    if (BT <= 0 || V <= 0 || ld < V)
        return elm_err(err, "classifier: bad shape BT=%d V=%d ld=%ld", BT, V, ld);
    bool vec = ld % 8 == 0 && (uintptr_t)logits % 16 == 0;
    if (vec)
        classifier_kernel<true><<<BT, CLS_THREADS, 0, ctx->stream>>>(
            losses, (bf16 *)logits, targets, V, ld, dloss, dlogits);
    else
        classifier_kernel<false><<<BT, CLS_THREADS, 0, ctx->stream>>>(
            losses, (bf16 *)logits, targets, V, ld, dloss, dlogits);
    ELM_CU_LAUNCH("classifier");
    return 0;
}
