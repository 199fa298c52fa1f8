// cuda_ctx_impl.cuh — the inside of ElmCudaCtx, for kernel launchers in kernels/*.cu only.
// C callers see it as an opaque pointer (cuda_ctx.h).
#ifndef ELM_CUDA_CTX_IMPL_CUH
#define ELM_CUDA_CTX_IMPL_CUH

#include "kernels/cuda_common.cuh"
#include "kernels/cuda_ctx.h"

#include <cublasLt.h>
#include <cublas_v2.h>

struct ElmCudaCtx {
    int device;
    int cc;            // compute capability, major*10 + minor
    int sms;           // multiprocessors
    size_t smem_optin; // largest dynamic shared memory a block may opt into
    cudaStream_t stream;
    cublasHandle_t blas;
    cublasLtHandle_t lt;
    void *lt_workspace;
    size_t lt_workspace_bytes;
    cudaEvent_t t0, t1;
    void *tmap_encode; // the driver's cuTensorMapEncodeTiled, or NULL (no TMA matmul)
    size_t peak_mem;
};

#define ELM_CUBLAS(call)                                                                           \
    do {                                                                                           \
        cublasStatus_t elm_cb_rc_ = (call);                                                        \
        if (elm_cb_rc_ != CUBLAS_STATUS_SUCCESS)                                                   \
            return elm_err(err, "%s:%d: %s: cuBLAS status %d (%s)", __FILE__, __LINE__, #call,     \
                           (int)elm_cb_rc_, cublasGetStatusString(elm_cb_rc_));                    \
    } while (0)

#endif
