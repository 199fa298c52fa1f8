// gpu_select.c — the device choice of `[train] device/precision` and the `[model] matmul`
// name: plain C over gpu.h, the same in every build (with CUDA, without, with the plugin absent).
#include "kernels/gpu/gpt2_cuda.h"
#include "kernels/gpu/gpu.h"
#include "kernels/matmul.h"

#include <stdio.h>
#include <string.h>

int elm_gpt2_cuda_matmul_from_name(const char *name) {
    if (name && strcmp(name, "elm") == 0) return ELM_CU_MATMUL_ELM;
    if (name && strcmp(name, "cublas") == 0) return ELM_CU_MATMUL_CUBLAS;
    return ELM_CU_MATMUL_AUTO;
}

// Device selection works in every build: without CUDA, "cuda" is an error and "auto" is cpu.
int elm_gpt2_cuda_select(const char *device, const char *precision, int *use_cuda, ElmError *err) {
    int bf16 = precision && strcmp(precision, "bf16") == 0;
    *use_cuda = 0;
    if (!device || strcmp(device, "cpu") == 0) return 0; // fp32, or bf16 products on the CPU
    ElmGpuInfo info;
    ElmError why = {{0}};
    int n = elm_gpu_compiled() ? elm_gpu_query(&info, 1, &why) : 0;
    if (!elm_gpu_compiled()) snprintf(why.msg, sizeof why.msg, "built without CUDA");
    if (strcmp(device, "cuda") == 0) {
        if (n <= 0) return elm_err(err, "[train] device = cuda: %s", why.msg);
        if (!bf16)
            return elm_err(err, "[train] device = cuda needs precision = bf16 (the GPU path is "
                                "bf16 mixed precision with fp32 master weights)");
        *use_cuda = 1;
        return 0;
    }
    if (strcmp(device, "auto") == 0) {
        *use_cuda = n > 0 && bf16;
        return 0;
    }
    return elm_err(err, "[train] device = %s: expected cpu, cuda or auto", device);
}
