// classifier.h — the fused GPU classifier: logits -> softmax -> cross-entropy loss -> dlogits in
// one kernel, never storing probabilities. Called by gpt2_cuda and tests/gpu/test_classifier.c;
// reference: layers.h crossentropy forward + backward.
#ifndef ELM_CU_CLASSIFIER_H
#define ELM_CU_CLASSIFIER_H

#include "kernels/cuda_ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

// For each of BT rows of logits (bf16, V classes, row stride ld >= V):
//   losses[row] = logsumexp(logits[row]) - logits[row][target]  (fp32; 0 when target < 0)
//   with dlogits: logits[row][v] is overwritten by (softmax - onehot(target)) * dloss (bf16),
//   0 for rows with target < 0, and the padding columns [V, ld) are set to 0.
// dloss is the gradient of the objective per counted row (1 / number of targets for a mean).
// Each row is read twice (max/sum in one online pass, then the gradient pass) and written once.
int elm_cu_classifier(ElmCudaCtx *ctx, float *losses, ElmBf16 *logits, const int *targets, int BT,
                      int V, long ld, float dloss, int dlogits, ElmError *err);

#ifdef __cplusplus
}
#endif

#endif
