// fuzz_safetensors.c — libFuzzer harness for the safetensors reader (elm_safetensors_open and the
// tensor readers). Built by tests/fuzz/build.sh.
//
// A file that opens must keep every promise safetensors.h makes: each tensor's bytes inside
// the data, exactly numel * dtype size of them; each tensor reads back as floats or ints.
#include "engine/model/safetensors.h"
#include "fuzz_util.h"

#include <assert.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    const char *path = fuzz_write_tmp(data, size, ".safetensors");
    if (!path) return 0;
    ElmSafetensors st;
    ElmError err;
    if (elm_safetensors_open(&st, path, &err)) {
        assert(strncmp(err.msg, path, strlen(path)) == 0); // errors name the file
        return 0;
    }
    for (int i = 0; i < st.n_tensors; i++) {
        const ElmStTensor *t = &st.tensors[i];
        assert(t->begin <= t->end && t->end <= st.data_size);
        assert(t->end - t->begin == t->numel * elm_safetensors_dtype_size(t->dtype));
        assert(elm_safetensors_find(&st, t->name) == t);
        if (t->numel > ((size_t)1 << 20)) continue; // the sizes are checked; keep RSS bounded
        float *f = malloc((t->numel ? t->numel : 1) * sizeof *f);
        int *n = malloc((t->numel ? t->numel : 1) * sizeof *n);
        if (f && n) {
            int is_float = t->dtype <= ELM_ST_F64; // F32, F16, BF16, F64 come first
            int rf = elm_safetensors_read_f32(&st, t, f, t->numel, &err);
            int ri =
                elm_safetensors_read_i32(&st, t, n, t->numel, &err); // may fail its range check
            assert(is_float ? rf == 0 && ri != 0 : rf != 0);
            (void)rf, (void)ri, (void)is_float;
            assert(elm_safetensors_read_f32(&st, t, f, t->numel + 1, &err) != 0);
            int64_t shape[ELM_ST_MAX_RANK];
            memcpy(shape, t->shape, sizeof shape);
            assert(elm_safetensors_check_shape(&st, t, t->rank, shape, &err) == 0);
        }
        free(f);
        free(n);
    }
    for (int i = 0; i < st.n_meta; i++) assert(elm_safetensors_meta(&st, st.meta_keys[i]) != NULL);
    elm_safetensors_close(&st);
    return 0;
}
