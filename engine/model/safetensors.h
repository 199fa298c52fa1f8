// safetensors.h — read and write the safetensors format, strictly validated.
// Called by hf.c (model folders), by `elm train` checkpoints and by the model tests.
//
// Format: 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "text", ...}}, then the data; offsets are relative to the data
// start. Reading checks that the file is complete, every dtype is known, every tensor's byte
// range is exactly numel * dtype size, inside the data, and that the ranges tile the data
// with no overlap and no gap. Errors name the file and the tensor.
#ifndef ELM_SAFETENSORS_H
#define ELM_SAFETENSORS_H

#include "engine/base/error.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ELM_ST_F32,
    ELM_ST_F16,
    ELM_ST_BF16,
    ELM_ST_F64,
    ELM_ST_I64,
    ELM_ST_I32,
    ELM_ST_I16,
    ELM_ST_I8,
    ELM_ST_U8,
    ELM_ST_BOOL,
} ElmStDtype;

#define ELM_ST_MAX_RANK 8

typedef struct ElmStTensor {
    char *name;
    ElmStDtype dtype;
    int rank;
    int64_t shape[ELM_ST_MAX_RANK];
    size_t numel;
    size_t begin, end; // byte offsets into the data section
} ElmStTensor;

typedef struct ElmSafetensors {
    char path[4096];
    unsigned char *file; // the whole file
    size_t file_size;
    const unsigned char *data; // file + 8 + header length
    size_t data_size;
    ElmStTensor *tensors; // in header order
    int n_tensors;
    const ElmStTensor **by_name;     // the tensors sorted by name, for elm_safetensors_find
    char **meta_keys, **meta_values; // __metadata__ (string values only, as the format says)
    int n_meta;
} ElmSafetensors;

// "F32" -> ELM_ST_F32 ...; -1 when unknown.
int elm_safetensors_dtype_parse(const char *s);
const char *elm_safetensors_dtype_name(ElmStDtype d);
size_t elm_safetensors_dtype_size(ElmStDtype d);

// Reads and validates a whole file.
int elm_safetensors_open(ElmSafetensors *st, const char *path, ElmError *err);
void elm_safetensors_close(ElmSafetensors *st);
// The tensor called name, or NULL.
const ElmStTensor *elm_safetensors_find(const ElmSafetensors *st, const char *name);
// The metadata value for key, or NULL.
const char *elm_safetensors_meta(const ElmSafetensors *st, const char *key);

// Copies a float tensor (F32, F16 or BF16; F64 narrowed) into out (numel floats). n must
// equal numel; other dtypes are an error naming the file and tensor.
int elm_safetensors_read_f32(const ElmSafetensors *st, const ElmStTensor *t, float *out, size_t n,
                             ElmError *err);
// Copies an integer tensor (I64, I32, I16, I8, U8) into out as int, with a range check.
int elm_safetensors_read_i32(const ElmSafetensors *st, const ElmStTensor *t, int *out, size_t n,
                             ElmError *err);
// Checks t's shape against the expected one; the error names file, tensor and both shapes.
int elm_safetensors_check_shape(const ElmSafetensors *st, const ElmStTensor *t, int rank,
                                const int64_t *shape, ElmError *err);

// One tensor to write: F32 from `data` (or I32 from `idata` when idata != NULL).
typedef struct ElmStWrite {
    const char *name;
    const float *data;
    const int *idata;
    int rank;
    int64_t shape[ELM_ST_MAX_RANK];
} ElmStWrite;

// Writes tensors in the order given (data laid out in that order) with optional string
// metadata, atomically. The header is compact JSON padded with spaces to a multiple of 8
// bytes, so the output is a deterministic function of the arguments.
int elm_safetensors_write(const char *path, const ElmStWrite *tensors, int n,
                          const char *const *meta_keys, const char *const *meta_values, int n_meta,
                          ElmError *err);

#ifdef __cplusplus
}
#endif

#endif
