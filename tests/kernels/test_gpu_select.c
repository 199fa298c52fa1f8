// test_gpu_select.c — elm_gpt2_cuda_select, the device choice for `[train] device/precision`,
// in every build (with or without CUDA, with or without a GPU): the answers and the one-line
// errors that name the key.
#include "elmtest.h"

#include "kernels/gpu/gpt2_cuda.h"
#include "kernels/gpu/gpu.h"

#include <string.h>

int main(void) {
    ElmError err = {{0}};
    int use = -1;
    ElmGpuInfo info;
    ElmError why = {{0}};
    int have_gpu = elm_gpu_compiled() && elm_gpu_query(&info, 1, &why) > 0;

    CHECK(elm_gpt2_cuda_select("cpu", "fp32", &use, &err) == 0 && use == 0, "cpu fp32: %s",
          err.msg);
    use = -1;
    CHECK(elm_gpt2_cuda_select("cpu", "bf16", &use, &err) == 0 && use == 0,
          "cpu bf16 is the CPU (its bf16 matrix products): %s", err.msg);

    CHECK(elm_gpt2_cuda_select("auto", "fp32", &use, &err) == 0 && use == 0,
          "auto fp32 is the CPU: %s", err.msg);
    CHECK(elm_gpt2_cuda_select("auto", "bf16", &use, &err) == 0 && use == have_gpu,
          "auto bf16 follows the GPU (%d): %s", have_gpu, err.msg);

    int rc = elm_gpt2_cuda_select("cuda", "bf16", &use, &err);
    if (have_gpu) {
        CHECK(rc == 0 && use == 1, "cuda bf16 with a GPU: %s", err.msg);
    } else {
        CHECK(rc != 0 && use == 0, "cuda without a GPU must fail");
        CHECK(strstr(err.msg, "[train] device = cuda") != NULL, "message names the key: %s",
              err.msg);
        printf("cuda without a GPU: %s\n", err.msg);
    }
    CHECK(elm_gpt2_cuda_select("cuda", "fp32", &use, &err) != 0, "cuda fp32 must fail");
    CHECK(elm_gpt2_cuda_select("tpu", "bf16", &use, &err) != 0 &&
              strstr(err.msg, "expected cpu, cuda or auto") != NULL,
          "unknown device: %s", err.msg);
    ELM_TEST_DONE();
}
