// gpu.h — the C face of elm's CUDA side: device discovery for `elm info` and the stages.
// Implemented in gpu_info.cu with CUDA, in gpu_none.c without it.
#ifndef ELM_GPU_H
#define ELM_GPU_H

#include "engine/base/error.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ElmGpuInfo {
    char name[256];
    size_t total_mem;
    int cc_major, cc_minor;
    int sm_count;
} ElmGpuInfo;

// 1 when this binary was built with CUDA.
int elm_gpu_compiled(void);
// Fills up to `cap` devices; returns how many (0 = none, with the reason in err->msg but no
// failure), or -1 on a real error.
int elm_gpu_query(ElmGpuInfo *out, int cap, ElmError *err);
// Where the CUDA side comes from: the path of libelm-cuda.so once loaded, "linked in" for
// programs linked with it, NULL when it is not (yet) loaded or the build has no CUDA.
const char *elm_gpu_library(void);

#ifdef __cplusplus
}
#endif

#endif
