// train_zero.c — ZeRO-1's shards, step and checkpoint gather (see train_zero.h).
#include "engine/train/train_zero.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void elm_train_zero_shard(size_t n, int ranks, int r, size_t *lo, size_t *hi) {
    size_t chunks = (n + ELM_GPT2_NORM_CHUNK - 1) / ELM_GPT2_NORM_CHUNK, R = (size_t)ranks;
    size_t u = (size_t)r, base = chunks / R, extra = chunks % R;
    size_t c0 = u * base + (u < extra ? u : extra), c1 = c0 + base + (u < extra);
    *lo = c0 * ELM_GPT2_NORM_CHUNK < n ? c0 * ELM_GPT2_NORM_CHUNK : n;
    *hi = c1 * ELM_GPT2_NORM_CHUNK < n ? c1 * ELM_GPT2_NORM_CHUNK : n;
}

void elm_train_zero_close(ElmTrainZero *z) {
    free(z->counts), free(z->m), free(z->v), free(z->part);
    memset(z, 0, sizeof *z);
}

// The shard's moments: copied from the full ones when there are (a resumed checkpoint's).
static int take_moments(ElmTrainZero *z, ElmGpt2 *m, ElmError *err) {
    size_t k = z->hi - z->lo, bytes = (k ? k : 1) * sizeof(float);
    if (!(z->m = elm_malloc(bytes, err)) || !(z->v = elm_malloc(bytes, err))) return -1;
    if (m->adam_m && m->adam_v) {
        memcpy(z->m, m->adam_m + z->lo, k * sizeof(float));
        memcpy(z->v, m->adam_v + z->lo, k * sizeof(float));
    } else {
        memset(z->m, 0, k * sizeof(float));
        memset(z->v, 0, k * sizeof(float));
    }
    free(m->adam_m), free(m->adam_v);
    m->adam_m = m->adam_v = NULL;
    return 0;
}

int elm_train_zero_open(ElmTrainZero *z, ElmGpt2 *m, ElmDist *d, ElmError *err) {
    memset(z, 0, sizeof *z);
    z->dist = d;
    z->rank = elm_dist_rank(d), z->ranks = elm_dist_size(d);
    z->n = m->num_parameters;
    z->n_chunks = (z->n + ELM_GPT2_NORM_CHUNK - 1) / ELM_GPT2_NORM_CHUNK;
    if (!(z->counts = elm_calloc((size_t)z->ranks, sizeof *z->counts, err)) ||
        !(z->part = elm_calloc(z->n_chunks ? z->n_chunks : 1, sizeof *z->part, err)))
        return -1;
    for (int r = 0; r < z->ranks; r++) {
        size_t lo, hi;
        elm_train_zero_shard(z->n, z->ranks, r, &lo, &hi);
        z->counts[r] = hi - lo;
        if (r == z->rank) z->lo = lo, z->hi = hi;
    }
    return take_moments(z, m, err);
}

int elm_train_zero_reduce(ElmTrainZero *z, ElmGpt2 *m, ElmError *err) {
    return elm_dist_reduce_scatter_f32(z->dist, m->grads_memory, z->counts, err);
}

int elm_train_zero_clip(ElmTrainZero *z, ElmGpt2 *m, float max_norm, float *norm, ElmError *err) {
    // Each chunk's sum comes from the one rank whose shard holds it (0 from the others), so the
    // all-reduce adds zeros only and is exact; then the chunks in order, as alone.
    memset(z->part, 0, z->n_chunks * sizeof *z->part);
    if (z->hi > z->lo)
        elm_gpt2_grad_sumsq_chunks(m, z->lo, z->hi, z->part + z->lo / ELM_GPT2_NORM_CHUNK);
    if (elm_dist_sum_f64(z->dist, z->part, z->n_chunks, err)) return -1;
    double s = 0.0;
    for (size_t k = 0; k < z->n_chunks; k++) s += z->part[k];
    *norm = (float)sqrt(s);
    elm_gpt2_clip_grad_range(m, z->lo, z->hi, *norm, max_norm);
    return 0;
}

int elm_train_zero_update(ElmTrainZero *z, ElmGpt2 *m, const ElmAdamW *opt, ElmError *err) {
    elm_gpt2_adamw_step_range(m, opt, 1.0f, z->lo, z->hi, z->m, z->v);
    return elm_dist_allgather_f32(z->dist, m->params_memory, z->counts, err);
}

int elm_train_zero_gather(ElmTrainZero *z, float **am, float **av, ElmError *err) {
    *am = *av = NULL;
    int rc = 0;
    if (z->rank == 0)
        rc = !(*am = elm_malloc(z->n * sizeof(float), err)) ||
                     !(*av = elm_malloc(z->n * sizeof(float), err))
                 ? -1
                 : 0;
    // rank 0 short of memory: every rank knows before the gathers
    if (elm_dist_agree(z->dist, rc, err) ||
        elm_dist_gather_f32(z->dist, z->m, *am, z->counts, 0, err) ||
        elm_dist_gather_f32(z->dist, z->v, *av, z->counts, 0, err)) {
        free(*am), free(*av);
        *am = *av = NULL;
        return -1;
    }
    return 0;
}

size_t elm_train_zero_state_bytes(const ElmTrainZero *z) {
    return 2 * (z->hi - z->lo) * sizeof(float);
}
