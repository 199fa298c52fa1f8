// gen_device.c — the generate stage: the device choice, the CPU run, the GPU run, and the
// study's generate stage (tweets, then stories). See gen_device.h.
#include "engine/generate/gen_device.h"
#include "engine/base/fsutil.h"
#include "engine/base/progress.h"
#include "engine/generate/stories.h"
#include "engine/generate/text.h"
#include "engine/model/hf.h"
#include "kernels/gpu/batcher_cuda.h"
#include "kernels/gpu/gpu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// device is generate.device's enum index (0 cpu, 1 cuda, 2 auto). Returns 1 for the GPU, 0 for
// the CPU, -1 (err filled) for cuda in a build or on a machine without a usable GPU.
static int pick_device(int device, ElmError *err) {
    if (device == 0) return 0;
    ElmGpuInfo info;
    ElmError why = {{0}};
    int n = elm_gpu_compiled() ? elm_gpu_query(&info, 1, &why) : 0;
    if (device == 2) return n > 0 ? 1 : 0;
    if (!elm_gpu_compiled())
        return elm_err(err, "generate.device = cuda, but this elm was built without CUDA");
    if (n <= 0)
        return elm_err(err, "generate.device = cuda, but no GPU is usable: %s",
                       why.msg[0] ? why.msg : "none found");
    return 1;
}

// ---- the CPU run --------------------------------------------------------------------------

// Every prompt is checked before anything is written (a bad one fails the run up front).
static int check_prompts(char **prompts, int n_prompts, int max_chars, ElmError *err) {
    for (int i = 0; i < n_prompts; i++) {
        size_t len = strlen(prompts[i]);
        if (elm_text_chars(prompts[i], len) > (size_t)max_chars)
            return elm_err(err, "prompt %d has %zu characters, more than max_chars %d", i + 1,
                           elm_text_chars(prompts[i], len), max_chars);
    }
    return 0;
}

// The output file of a run: <run>/generated/<tweets|stories>.jsonl, written as a ".part"
// and renamed into place at the end.
static int out_open(ElmRun *run, ElmGenMode mode, ElmAtomicFile *o, ElmError *err) {
    char gdir[4096], path[4096];
    elm_run_path(run, "generated", gdir, sizeof gdir);
    if (elm_mkdirs(gdir, err)) return -1;
    snprintf(path, sizeof path, "%s/%s", gdir,
             mode == ELM_GEN_STORY ? "stories.jsonl" : "tweets.jsonl");
    return elm_atomic_open_part(o, path, err);
}

// Writes one finished batch and makes it reach the disk before the next starts.
static int write_batch(ElmAtomicFile *o, const ElmGenParams *p, const char **bp,
                       const uint64_t *idx, ElmGenText *texts, int n, long long *new_tokens,
                       ElmError *err) {
    int bad = 0;
    for (int b = 0; b < n; b++) {
        if (elm_generate_write_line(o->f, bp[b], &texts[b], idx[b], p->seed)) bad = 1;
        *new_tokens += texts[b].n_tokens;
        elm_gen_text_free(&texts[b]);
    }
    if (bad) return elm_err(err, "%s: write failed: %s", o->tmp, strerror(errno));
    return elm_atomic_sync(o, err);
}

// The batches of the CPU run: count texts, batch at a time, prompts taken round-robin.
static int cpu_batches(ElmRun *run, ElmGpt2 *m, const ElmBpe *bpe, const ElmGenParams *p,
                       char **prompts, int n_prompts, long long count, int batch, ElmAtomicFile *o,
                       ElmError *err) {
    ElmGenText *texts = elm_calloc((size_t)batch, sizeof *texts, err);
    const char **bp = elm_calloc((size_t)batch, sizeof *bp, err);
    uint64_t *idx = elm_calloc((size_t)batch, sizeof *idx, err);
    int rc = -1;
    if (!texts || !bp || !idx) goto done;
    ElmProgress prog;
    elm_progress_start(&prog, "generate", p->mode == ELM_GEN_STORY ? "stories" : "tweets",
                       (uint64_t)count, run->quiet);
    double t0 = elm_now();
    long long new_tokens = 0;
    for (long long start = 0; start < count; start += batch) {
        int n = count - start < batch ? (int)(count - start) : batch;
        for (int b = 0; b < n; b++) {
            idx[b] = (uint64_t)(start + b);
            bp[b] = n_prompts ? prompts[(start + b) % n_prompts] : "";
        }
        if (elm_generate_batch(m, bpe, p, bp, idx, n, texts, err)) goto done;
        if (write_batch(o, p, bp, idx, texts, n, &new_tokens, err)) goto done;
        double el = elm_now() - t0;
        snprintf(prog.extra, sizeof prog.extra, "%.1f tok/s", el > 0 ? new_tokens / el : 0.0);
        elm_progress_update(&prog, (uint64_t)(start + n));
    }
    elm_progress_finish(&prog);
    rc = 0;
done:
    free(texts);
    free(bp);
    free(idx);
    return rc;
}

// What both runs read: the model [generate] names, its vocabulary and the prompts.
typedef struct GenInputs {
    ElmGpt2 m;
    ElmBpe *bpe;
    char **prompts;
    int n_prompts;
} GenInputs;

static void inputs_close(GenInputs *in) {
    elm_generate_free_prompts(in->prompts, in->n_prompts);
    if (in->bpe) elm_bpe_free(in->bpe);
    elm_gpt2_free(&in->m);
}

// Loads the inputs; on failure nothing is left to free.
static int inputs_open(ElmRun *run, GenInputs *in, ElmError *err) {
    char dir[4096];
    in->bpe = NULL, in->prompts = NULL, in->n_prompts = 0;
    if (elm_generate_checkpoint_dir(run, dir, sizeof dir, err)) return -1;
    if (elm_hf_load(dir, &in->m, err)) return -1;
    in->m.threads = run->threads;
    in->bpe = elm_generate_load_bpe(run, dir, err);
    if (in->bpe && elm_generate_load_prompts(run, &in->prompts, &in->n_prompts, err) == 0) return 0;
    inputs_close(in);
    return -1;
}

static int cpu_run(ElmRun *run, const ElmGenParams *p, long long count, ElmError *err) {
    int batch = (int)elm_cfg_int(&run->cfg, "generate.batch_size");
    GenInputs in;
    if (inputs_open(run, &in, err)) return -1;
    int rc = -1;
    ElmAtomicFile o = {0};
    if (check_prompts(in.prompts, in.n_prompts, p->max_chars, err)) goto done;
    if (batch > count && count > 0) batch = (int)count;
    if (out_open(run, p->mode, &o, err)) goto done;
    if (cpu_batches(run, &in.m, in.bpe, p, in.prompts, in.n_prompts, count, batch, &o, err))
        goto done;
    rc = elm_atomic_commit(&o, err);
done:
    if (o.f) fclose(o.f); // the ".part" stays: what the failed run wrote
    inputs_close(&in);
    return rc;
}

// ---- the GPU run --------------------------------------------------------------------------

// The output file while texts arrive.
typedef struct Sink {
    ElmAtomicFile out;
    uint64_t seed;
    long long lines, since_sync, sync_every, tokens;
    ElmProgress prog;
    double t0;
} Sink;

static int sink_sync(Sink *k, ElmError *err) {
    if (elm_atomic_sync(&k->out, err)) return -1;
    k->since_sync = 0;
    return 0;
}

static int emit_line(void *user, uint64_t index, const char *prompt, const ElmGenText *t,
                     ElmError *err) {
    Sink *k = user;
    if (elm_generate_write_line(k->out.f, prompt, t, index, k->seed))
        return elm_err(err, "%s: write failed: %s", k->out.tmp, strerror(errno));
    k->lines++;
    k->tokens += t->n_tokens;
    if (++k->since_sync >= k->sync_every && sink_sync(k, err)) return -1;
    double el = elm_now() - k->t0;
    snprintf(k->prog.extra, sizeof k->prog.extra, "%.0f tok/s on the GPU",
             el > 0 ? k->tokens / el : 0.0);
    elm_progress_update(&k->prog, (uint64_t)k->lines);
    return 0;
}

// The GPU run: continuous batching (batcher.h) over the CUDA backend, lines in index order as
// texts finish, fsync'ed every batch_size lines, renamed into place at the end.
static int gpu_run(ElmRun *run, const ElmGenParams *p, long long count, ElmError *err) {
    int slots = (int)elm_cfg_int(&run->cfg, "generate.batch_size");
    if (count > 0 && slots > count) slots = (int)count;
    if (slots < 1) slots = 1;
    GenInputs in;
    if (inputs_open(run, &in, err)) return -1;
    int rc = -1, cap = 0;
    ElmBatchBackend *be = NULL;
    Sink k = {0};
    ElmBatchJob job = {.params = p,
                       .bpe = in.bpe,
                       .prompts = (const char *const *)in.prompts,
                       .n_prompts = in.n_prompts,
                       .first_index = 0,
                       .count = count,
                       .n_ctx = in.m.config.n_ctx,
                       .emit = emit_line,
                       .user = &k};
    // Prompts are checked (and the slot size found) before anything is written.
    if (elm_batch_capacity(&job, &cap, err)) goto done;
    if (!(be = elm_batch_cuda_create(NULL, &in.m, p, elm_bpe_eot(in.bpe), slots, cap, 1, err)))
        goto done;
    if (out_open(run, p->mode, &k.out, err)) goto done;
    k.seed = p->seed;
    k.sync_every = slots;
    elm_progress_start(&k.prog, "generate", p->mode == ELM_GEN_STORY ? "stories" : "tweets",
                       (uint64_t)count, run->quiet);
    k.t0 = elm_now();
    ElmBatchStats st;
    if (elm_batch_run(&job, be, &st, err) || sink_sync(&k, err)) goto done;
    snprintf(k.prog.extra, sizeof k.prog.extra, "%.0f tok/s on the GPU, slots %.1f%% busy",
             k.tokens / (elm_now() - k.t0 + 1e-9), 100.0 * st.busy / (st.total ? st.total : 1));
    elm_progress_finish(&k.prog);
    if (elm_atomic_commit(&k.out, err)) goto done;
    rc = 0;
done:
    elm_atomic_abort(&k.out); // no partial output: the run failed (a no-op after the commit)
    elm_batch_cuda_free(be);
    inputs_close(&in);
    return rc;
}

// ---- the stage ----------------------------------------------------------------------------

int elm_gen_device_run(ElmRun *run, int mode, long long count_override, ElmError *err) {
    ElmGenParams p;
    if (elm_generate_params(run, &p, err)) return -1;
    if (mode >= 0) {
        p.mode = mode == ELM_GEN_STORY ? ELM_GEN_STORY : ELM_GEN_TWEET;
        if (elm_cfg_int(&run->cfg, "generate.max_new_tokens") == 0)
            p.max_new_tokens = p.mode == ELM_GEN_STORY ? 512 : 96;
        if (elm_cfg_int(&run->cfg, "generate.max_chars") == 0)
            p.max_chars = p.mode == ELM_GEN_STORY ? 2000 : 280;
    }
    long long count =
        count_override >= 0 ? count_override : elm_cfg_int(&run->cfg, "generate.count");
    int on_gpu = pick_device(elm_cfg_enum(&run->cfg, "generate.device"), err);
    if (on_gpu < 0) return -1;
    return on_gpu ? gpu_run(run, &p, count, err) : cpu_run(run, &p, count, err);
}

int elm_gen_device_stage(ElmRun *run, ElmError *err) {
    if (elm_gen_device_run(run, ELM_GEN_TWEET, -1, err)) return -1;
    long long stories = 0;
    if (elm_stories_prompts(run, &stories, err)) return -1;
    if (stories > 0) return elm_gen_device_run(run, ELM_GEN_STORY, stories, err);
    // No stories asked for: an earlier run's stories.jsonl would be shown as this run's.
    char path[4200];
    elm_run_path(run, "generated/stories.jsonl", path, sizeof path);
    if (unlink(path) != 0 && errno != ENOENT)
        return elm_err(err, "%s: cannot remove: %s", path, strerror(errno));
    return 0;
}
