// npy.h — writes NumPy .npy arrays (little-endian int32 / int64 / float64, 1-D), so tests and
// benchmarks can load elm's features and folds with numpy.load. Used by validate.c (--export).
#ifndef ELM_NPY_H
#define ELM_NPY_H

#include "engine/base/error.h"

#include <stddef.h>

// dtype: "<i4", "<i8" or "<f8"; elem = element size in bytes.
int elm_npy_write(const char *path, const char *dtype, const void *data, size_t n, size_t elem,
                  ElmError *err);

#endif
