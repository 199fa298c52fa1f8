// classifier.cu — fused softmax + cross-entropy + gradient (see classifier.h). One block per row.
#include "classifier.h"
#include "cuda_ctx_impl.cuh"

#include <float.h>

#define CLS_THREADS 512

__global__ void __launch_bounds__(CLS_THREADS)
    classifier_kernel(float *losses, bf16 *logits, const int *targets, int V, long ld, float dloss,
                      int write_grad) {
    __shared__ float sm[32], ss[32];
    int row = blockIdx.x, tgt = targets[row];
    bf16 *x = logits + (long)row * ld;
    // Online softmax statistics: running max m and sum s of exp(x - m) per thread.
    float m = -FLT_MAX, s = 0.0f;
    for (int v = threadIdx.x; v < V; v += CLS_THREADS) {
        float xv = __bfloat162float(x[v]);
        if (xv > m) {
            s = s * __expf(m - xv) + 1.0f;
            m = xv;
        } else {
            s += __expf(xv - m);
        }
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
    for (int v = threadIdx.x; v < ld; v += CLS_THREADS) {
        float g = 0.0f;
        if (v < V)
            g = (__expf(__bfloat162float(x[v]) - m) * inv - (v == tgt ? 1.0f : 0.0f)) * scale;
        x[v] = __float2bfloat16(g);
    }
}

extern "C" int elm_cu_classifier(ElmCudaCtx *ctx, float *losses, ElmBf16 *logits,
                                 const int *targets, int BT, int V, long ld, float dloss,
                                 int dlogits, ElmError *err) {
    if (BT <= 0 || V <= 0 || ld < V)
        return elm_err(err, "classifier: bad shape BT=%d V=%d ld=%ld", BT, V, ld);
    classifier_kernel<<<BT, CLS_THREADS, 0, ctx->stream>>>(losses, (bf16 *)logits, targets, V, ld,
                                                           dloss, dlogits);
    ELM_CU_LAUNCH("classifier");
    return 0;
}
