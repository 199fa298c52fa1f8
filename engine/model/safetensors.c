// safetensors.c — read and write the safetensors format, strictly validated (see safetensors.h).
// Called by hf.c, checkpoints and the model tests. Assumes a little-endian host (x86, ARM).
#include "engine/model/safetensors.h"

#include "engine/base/fsutil.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [ELM_ST_F32] = {"F32", 4},   [ELM_ST_F16] = {"F16", 2}, [ELM_ST_BF16] = {"BF16", 2},
    [ELM_ST_F64] = {"F64", 8},   [ELM_ST_I64] = {"I64", 8}, [ELM_ST_I32] = {"I32", 4},
    [ELM_ST_I16] = {"I16", 2},   [ELM_ST_I8] = {"I8", 1},   [ELM_ST_U8] = {"U8", 1},
    [ELM_ST_BOOL] = {"BOOL", 1},
};
#define N_DTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

// The format's own cap on the header (safetensors rejects larger ones too).
#define MAX_HEADER ((uint64_t)100 << 20)

int elm_safetensors_dtype_parse(const char *s) {
    for (int i = 0; i < N_DTYPES; i++)
        if (strcmp(dtypes[i].name, s) == 0) return i;
    return -1;
}

const char *elm_safetensors_dtype_name(ElmStDtype d) {
    return dtypes[d].name;
}
size_t elm_safetensors_dtype_size(ElmStDtype d) {
    return dtypes[d].size;
}

static void shape_text(const int64_t *shape, int rank, char *buf, size_t cap) {
    size_t n = 0;
    n += snprintf(buf + n, cap - n, "[");
    for (int i = 0; i < rank && n < cap; i++)
        n += snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

// ---- reading ---------------------------------------------------------------------------------

static int read_whole(const char *path, unsigned char **data, size_t *n, ElmError *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return elm_err(err, "%s: %s", path, strerror(errno));
    if (fseeko(f, 0, SEEK_END) != 0) {
        fclose(f);
        return elm_err(err, "%s: cannot seek: %s", path, strerror(errno));
    }
    off_t size = ftello(f);
    rewind(f);
    unsigned char *buf = malloc(size > 0 ? (size_t)size : 1);
    if (!buf) {
        fclose(f);
        return elm_err(err, "%s: out of memory for %lld bytes", path, (long long)size);
    }
    size_t got = fread(buf, 1, (size_t)size, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != (size_t)size) {
        free(buf);
        return elm_err(err, "%s: read error", path);
    }
    *data = buf;
    *n = (size_t)size;
    return 0;
}

// A non-negative integer JSON number, or -1.
static int64_t json_uint(const cJSON *j) {
    if (!cJSON_IsNumber(j)) return -1;
    double d = j->valuedouble;
    if (d < 0 || d > 9.0e15 || d != floor(d)) return -1;
    return (int64_t)d;
}

static int parse_tensor(ElmSafetensors *st, const cJSON *item, ElmStTensor *t, ElmError *err) {
    const char *path = st->path, *name = item->string;
    if (!cJSON_IsObject(item))
        return elm_err(err, "%s: tensor '%s': header entry is not an object", path, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dt)) return elm_err(err, "%s: tensor '%s': missing dtype", path, name);
    int d = elm_safetensors_dtype_parse(dt->valuestring);
    if (d < 0)
        return elm_err(err, "%s: tensor '%s': unknown dtype '%s'", path, name, dt->valuestring);
    if (!cJSON_IsArray(shape)) return elm_err(err, "%s: tensor '%s': missing shape", path, name);
    int rank = cJSON_GetArraySize(shape);
    if (rank > ELM_ST_MAX_RANK)
        return elm_err(err, "%s: tensor '%s': rank %d is more than %d", path, name, rank,
                       ELM_ST_MAX_RANK);
    t->dtype = (ElmStDtype)d;
    t->rank = rank;
    t->numel = 1;
    for (int i = 0; i < rank; i++) {
        int64_t s = json_uint(cJSON_GetArrayItem(shape, i));
        if (s < 0)
            return elm_err(err, "%s: tensor '%s': shape entry %d is not a size", path, name, i);
        t->shape[i] = s;
        if (s && t->numel > (SIZE_MAX >> 4) / (size_t)s)
            return elm_err(err, "%s: tensor '%s': shape too large", path, name);
        t->numel *= (size_t)s;
    }
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return elm_err(err, "%s: tensor '%s': data_offsets must be [begin, end]", path, name);
    int64_t b = json_uint(cJSON_GetArrayItem(offs, 0)), e = json_uint(cJSON_GetArrayItem(offs, 1));
    if (b < 0 || e < 0 || e < b)
        return elm_err(err, "%s: tensor '%s': data_offsets are not a byte range", path, name);
    t->begin = (size_t)b;
    t->end = (size_t)e;
    size_t need = t->numel * dtypes[d].size;
    if (t->end - t->begin != need) {
        char sh[160];
        shape_text(t->shape, rank, sh, sizeof sh);
        return elm_err(err,
                       "%s: tensor '%s': header lies: data_offsets [%zu, %zu] hold %zu bytes but "
                       "%s %s needs %zu",
                       path, name, t->begin, t->end, t->end - t->begin, dtypes[d].name, sh, need);
    }
    if (t->end > st->data_size)
        return elm_err(err,
                       "%s: tensor '%s': data_offsets [%zu, %zu] run past the end of the data "
                       "(%zu bytes): the file is truncated or the header lies",
                       path, name, t->begin, t->end, st->data_size);
    t->name = strdup(name);
    if (!t->name) return elm_err(err, "%s: out of memory", path);
    return 0;
}

static int cmp_begin(const void *a, const void *b) {
    const ElmStTensor *x = *(const ElmStTensor *const *)a, *y = *(const ElmStTensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

// The byte ranges must tile [0, data_size): sorted by begin, each starts where the last ended.
static int check_tiling(ElmSafetensors *st, ElmError *err) {
    int n = st->n_tensors;
    const ElmStTensor **order = malloc((n ? n : 1) * sizeof *order);
    if (!order) return elm_err(err, "%s: out of memory", st->path);
    for (int i = 0; i < n; i++) order[i] = &st->tensors[i];
    qsort(order, n, sizeof *order, cmp_begin);
    size_t at = 0;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        const ElmStTensor *t = order[i];
        if (t->begin < at)
            rc = elm_err(err,
                         "%s: tensor '%s': header lies: data_offsets [%zu, %zu] overlap "
                         "tensor '%s'",
                         st->path, t->name, t->begin, t->end, order[i - 1]->name);
        else if (t->begin > at)
            rc = elm_err(err,
                         "%s: tensor '%s': header lies: data_offsets start at %zu, leaving bytes "
                         "[%zu, %zu) of the data unused",
                         st->path, t->name, t->begin, at, t->begin);
        at = t->end > at ? t->end : at;
    }
    if (!rc && at != st->data_size)
        rc = elm_err(err,
                     "%s: header lies: the tensors cover %zu bytes of data but the file holds "
                     "%zu after the header",
                     st->path, at, st->data_size);
    free(order);
    return rc;
}

static int cmp_name(const void *a, const void *b) {
    const ElmStTensor *x = *(const ElmStTensor *const *)a, *y = *(const ElmStTensor *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x > y) - (x < y); // equal names stay in header order
}

// Sorts the tensors by name into st->by_name (elm_safetensors_find's binary search) and refuses a
// name that appears twice, naming the one whose second appearance comes first in the header (a
// search per tensor made opening quadratic in the number of tensors).
static int index_names(ElmSafetensors *st, ElmError *err) {
    int n = st->n_tensors;
    st->by_name = malloc((n ? n : 1) * sizeof *st->by_name);
    if (!st->by_name) return elm_err(err, "%s: out of memory", st->path);
    for (int i = 0; i < n; i++) st->by_name[i] = &st->tensors[i];
    qsort(st->by_name, n, sizeof *st->by_name, cmp_name);
    const ElmStTensor *dup = NULL;
    for (int i = 1; i < n; i++)
        if (strcmp(st->by_name[i - 1]->name, st->by_name[i]->name) == 0 &&
            (!dup || st->by_name[i] < dup))
            dup = st->by_name[i];
    if (dup)
        return elm_err(err, "%s: tensor '%s' appears twice in the header", st->path, dup->name);
    return 0;
}

static int parse_metadata(ElmSafetensors *st, const cJSON *meta, ElmError *err) {
    if (!cJSON_IsObject(meta)) return elm_err(err, "%s: __metadata__ is not an object", st->path);
    int n = cJSON_GetArraySize(meta);
    st->meta_keys = calloc(n ? n : 1, sizeof(char *));
    st->meta_values = calloc(n ? n : 1, sizeof(char *));
    if (!st->meta_keys || !st->meta_values) return elm_err(err, "%s: out of memory", st->path);
    const cJSON *it;
    cJSON_ArrayForEach(it, meta) {
        if (!cJSON_IsString(it))
            return elm_err(err, "%s: __metadata__ '%s' is not a string", st->path, it->string);
        st->meta_keys[st->n_meta] = strdup(it->string);
        st->meta_values[st->n_meta] = strdup(it->valuestring);
        if (!st->meta_keys[st->n_meta] || !st->meta_values[st->n_meta]) {
            st->n_meta++;
            return elm_err(err, "%s: out of memory", st->path);
        }
        st->n_meta++;
    }
    return 0;
}

int elm_safetensors_open(ElmSafetensors *st, const char *path, ElmError *err) {
    memset(st, 0, sizeof *st);
    snprintf(st->path, sizeof st->path, "%s", path);
    if (read_whole(path, &st->file, &st->file_size, err)) return -1;
    int rc = -1;
    cJSON *root = NULL;
    if (st->file_size < 8) {
        elm_err(err, "%s: truncated: %zu bytes, shorter than the 8-byte header length", path,
                st->file_size);
        goto done;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | st->file[i];
    if (hlen > MAX_HEADER || hlen > st->file_size - 8) {
        elm_err(err,
                "%s: truncated or not safetensors: header length %llu but the file has %zu "
                "bytes",
                path, (unsigned long long)hlen, st->file_size);
        goto done;
    }
    root = cJSON_ParseWithLength((const char *)st->file + 8, (size_t)hlen);
    if (!root || !cJSON_IsObject(root)) {
        elm_err(err, "%s: the header is not a JSON object (truncated or corrupt file?)", path);
        goto done;
    }
    st->data = st->file + 8 + hlen;
    st->data_size = st->file_size - 8 - (size_t)hlen;
    int n = cJSON_GetArraySize(root);
    st->tensors = calloc(n ? n : 1, sizeof(ElmStTensor));
    if (!st->tensors) {
        elm_err(err, "%s: out of memory", path);
        goto done;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        if (strcmp(item->string, "__metadata__") == 0) {
            // a second one would be parsed into arrays sized for itself after the first's
            if (st->meta_keys) {
                elm_err(err, "%s: __metadata__ appears twice in the header", path);
                goto done;
            }
            if (parse_metadata(st, item, err)) goto done;
            continue;
        }
        if (parse_tensor(st, item, &st->tensors[st->n_tensors], err)) goto done;
        st->n_tensors++;
    }
    if (index_names(st, err) || check_tiling(st, err)) goto done;
    rc = 0;
done:
    cJSON_Delete(root);
    if (rc) elm_safetensors_close(st);
    return rc;
}

void elm_safetensors_close(ElmSafetensors *st) {
    for (int i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    for (int i = 0; i < st->n_meta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_values[i]);
    }
    free(st->tensors);
    free(st->by_name);
    free(st->meta_keys);
    free(st->meta_values);
    free(st->file);
    char path[sizeof st->path];
    memcpy(path, st->path, sizeof path);
    memset(st, 0, sizeof *st);
    memcpy(st->path, path, sizeof path);
}

const ElmStTensor *elm_safetensors_find(const ElmSafetensors *st, const char *name) {
    if (!st->by_name) return NULL;  // not opened, or closed
    int lo = 0, hi = st->n_tensors; // binary search in [lo, hi)
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(st->by_name[mid]->name, name);
        if (c == 0) return st->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *elm_safetensors_meta(const ElmSafetensors *st, const char *key) {
    for (int i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

// IEEE half -> float, subnormals, infinities and NaN included.
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { // subnormal: normalise
            int e = -1;
            do {
                e++;
                mant <<= 1;
            } while (!(mant & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

int elm_safetensors_read_f32(const ElmSafetensors *st, const ElmStTensor *t, float *out, size_t n,
                             ElmError *err) {
    if (n != t->numel)
        return elm_err(err, "%s: tensor '%s' has %zu elements, expected %zu", st->path, t->name,
                       t->numel, n);
    const unsigned char *src = st->data + t->begin;
    switch (t->dtype) {
    case ELM_ST_F32:
        memcpy(out, src, n * 4);
        break;
    case ELM_ST_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            out[i] = half_to_float(h);
        }
        break;
    case ELM_ST_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            uint32_t bits = (uint32_t)h << 16;
            memcpy(&out[i], &bits, 4);
        }
        break;
    case ELM_ST_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, src + 8 * i, 8);
            out[i] = (float)d;
        }
        break;
    default:
        return elm_err(err, "%s: tensor '%s' has dtype %s, expected a float type (F32, F16, BF16)",
                       st->path, t->name, dtypes[t->dtype].name);
    }
    return 0;
}

int elm_safetensors_read_i32(const ElmSafetensors *st, const ElmStTensor *t, int *out, size_t n,
                             ElmError *err) {
    if (n != t->numel)
        return elm_err(err, "%s: tensor '%s' has %zu elements, expected %zu", st->path, t->name,
                       t->numel, n);
    if (t->dtype != ELM_ST_I64 && t->dtype != ELM_ST_I32 && t->dtype != ELM_ST_I16 &&
        t->dtype != ELM_ST_I8 && t->dtype != ELM_ST_U8 && t->dtype != ELM_ST_BOOL)
        return elm_err(err, "%s: tensor '%s' has dtype %s, expected an integer type", st->path,
                       t->name, dtypes[t->dtype].name);
    const unsigned char *src = st->data + t->begin;
    for (size_t i = 0; i < n; i++) {
        long long v;
        switch (t->dtype) {
        case ELM_ST_I64: {
            int64_t x;
            memcpy(&x, src + 8 * i, 8);
            v = x;
            break;
        }
        case ELM_ST_I32: {
            int32_t x;
            memcpy(&x, src + 4 * i, 4);
            v = x;
            break;
        }
        case ELM_ST_I16: {
            int16_t x;
            memcpy(&x, src + 2 * i, 2);
            v = x;
            break;
        }
        case ELM_ST_I8:
            v = (int8_t)src[i];
            break;
        case ELM_ST_U8:
        case ELM_ST_BOOL:
            v = src[i];
            break;
        default: // the float types, refused above
            v = 0;
            break;
        }
        if (v < -2147483647LL - 1 || v > 2147483647LL)
            return elm_err(err, "%s: tensor '%s': value %lld at %zu does not fit an int", st->path,
                           t->name, v, i);
        out[i] = (int)v;
    }
    return 0;
}

int elm_safetensors_check_shape(const ElmSafetensors *st, const ElmStTensor *t, int rank,
                                const int64_t *shape, ElmError *err) {
    int same = t->rank == rank;
    for (int i = 0; same && i < rank; i++) same = t->shape[i] == shape[i];
    if (same) return 0;
    char got[160], want[160];
    shape_text(t->shape, t->rank, got, sizeof got);
    shape_text(shape, rank, want, sizeof want);
    return elm_err(err, "%s: tensor '%s' has shape %s but the model config needs %s", st->path,
                   t->name, got, want);
}

// ---- writing ---------------------------------------------------------------------------------

typedef struct {
    char *s;
    size_t n, cap;
} Buf;

static int buf_put(Buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 4096) + n;
        char *p = realloc(b->s, cap);
        if (!p) return -1;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
    return 0;
}

static int buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int buf_printf(Buf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) return -1;
    return buf_put(b, tmp, (size_t)n);
}

// A JSON string literal.
static int buf_json_str(Buf *b, const char *s) {
    if (buf_put(b, "\"", 1)) return -1;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int rc;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            rc = buf_put(b, e, 2);
        } else if (c < 0x20) {
            rc = buf_printf(b, "\\u%04x", c);
        } else {
            rc = buf_put(b, (const char *)&c, 1);
        }
        if (rc) return -1;
    }
    return buf_put(b, "\"", 1);
}

int elm_safetensors_write(const char *path, const ElmStWrite *tensors, int n,
                          const char *const *meta_keys, const char *const *meta_values, int n_meta,
                          ElmError *err) {
    Buf h = {0};
    int bad = buf_put(&h, "{", 1);
    if (n_meta > 0) {
        bad |= buf_put(&h, "\"__metadata__\":{", 16);
        for (int i = 0; i < n_meta; i++) {
            if (i) bad |= buf_put(&h, ",", 1);
            bad |= buf_json_str(&h, meta_keys[i]);
            bad |= buf_put(&h, ":", 1);
            bad |= buf_json_str(&h, meta_values[i]);
        }
        bad |= buf_put(&h, "}", 1);
    }
    size_t offset = 0;
    for (int i = 0; i < n; i++) {
        const ElmStWrite *t = &tensors[i];
        size_t numel = 1;
        for (int k = 0; k < t->rank; k++) numel *= (size_t)t->shape[k];
        if (i || n_meta > 0) bad |= buf_put(&h, ",", 1);
        bad |= buf_json_str(&h, t->name);
        bad |= buf_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", t->idata ? "I32" : "F32");
        for (int k = 0; k < t->rank; k++)
            bad |= buf_printf(&h, "%s%lld", k ? "," : "", (long long)t->shape[k]);
        bad |= buf_printf(&h, "],\"data_offsets\":[%zu,%zu]}", offset, offset + numel * 4);
        offset += numel * 4;
    }
    bad |= buf_put(&h, "}", 1);
    while (!bad && (8 + h.n) % 8) bad |= buf_put(&h, " ", 1);
    if (bad) {
        free(h.s);
        return elm_err(err, "%s: out of memory for the header", path);
    }
    ElmAtomicFile af;
    if (elm_atomic_open(&af, path, err)) {
        free(h.s);
        return -1;
    }
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
    int ok = fwrite(len, 1, 8, af.f) == 8 && fwrite(h.s, 1, h.n, af.f) == h.n;
    free(h.s);
    for (int i = 0; ok && i < n; i++) {
        const ElmStWrite *t = &tensors[i];
        size_t numel = 1;
        for (int k = 0; k < t->rank; k++) numel *= (size_t)t->shape[k];
        const void *src = t->idata ? (const void *)t->idata : (const void *)t->data;
        ok = fwrite(src, 4, numel, af.f) == numel;
    }
    if (!ok) return elm_atomic_fail(&af, err);
    return elm_atomic_commit(&af, err);
}
