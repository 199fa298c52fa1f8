// gpu_none.c — the GPU API when elm is built without CUDA: no devices, ever.
#include "gpu.h"

int elm_gpu_compiled(void) {
    return 0;
}

int elm_gpu_query(ElmGpuInfo *out, int cap, ElmError *err) {
    (void)out, (void)cap;
    elm_err(err, "built without CUDA");
    return 0;
}
