// batcher_cuda.h — the batcher's GPU backend (kernels/gpu/decode.h + kernels/sampling.h) behind
// ElmBatchBackend. Called by gen_device.c and tests/gpu; without CUDA it reports so.
#ifndef ELM_BATCHER_CUDA_H
#define ELM_BATCHER_CUDA_H

#include "engine/generate/batcher.h"

typedef struct ElmCudaCtx ElmCudaCtx;

// Counts of the backend's work; the times are host clock around the enqueueing calls (the GPU
// runs asynchronously, so they are not GPU time).
typedef struct ElmBatchCudaStats {
    long long steps, prefill_calls, prefill_rows;
    double step_s, prefill_s;
} ElmBatchCudaStats;

// `slots` sequences of `cap` positions on the GPU of ctx (NULL = open device 0). eot is
// banned in story mode. use_graph = 1 replays the decode step from a CUDA graph.
ElmBatchBackend *elm_batch_cuda_create(ElmCudaCtx *ctx, const ElmGpt2 *m, const ElmGenParams *p,
                                       int eot, int slots, int cap, int use_graph, ElmError *err);
void elm_batch_cuda_stats(const ElmBatchBackend *be, ElmBatchCudaStats *st);
void elm_batch_cuda_free(ElmBatchBackend *be);

#endif
