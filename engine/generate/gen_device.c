// gen_device.c — the generate stage: the device choice, the CPU run, the GPU run, and the
// study's generate stage (tweets, then stories). See gen_device.h.
#include "engine/generate/gen_device.h"
#include "engine/base/fsutil.h"
#include "engine/base/progress.h"
#include "engine/generate/gen_resume.h"
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

// ---- what both runs read, and their output --------------------------------------------------

// The model [generate] names, its vocabulary (and the two files it came from) and the prompts
// (the configured ones, or the stories' own).
typedef struct GenInputs {
    ElmGpt2 m;
    ElmBpe *bpe;
    char model_dir[4096], vocab[2][4096];
    ElmGenPrompts prompts;
} GenInputs;

static void inputs_close(GenInputs *in) {
    elm_generate_prompts_free(&in->prompts);
    if (in->bpe) elm_bpe_free(in->bpe);
    elm_gpt2_free(&in->m);
}

// Loads the inputs (taking over *prompts when given) and checks every prompt against the model
// and p's limits, before anything is written; on failure nothing is left to free.
static int inputs_open(ElmRun *run, const ElmGenParams *p, ElmGenPrompts *prompts, GenInputs *in,
                       ElmError *err) {
    memset(in, 0, sizeof *in);
    if (prompts) in->prompts = *prompts, memset(prompts, 0, sizeof *prompts);
    if (elm_generate_checkpoint_dir(run, in->model_dir, sizeof in->model_dir, err)) goto fail;
    if (elm_hf_load(in->model_dir, &in->m, err)) goto fail;
    in->m.threads = run->threads;
    if (elm_gpt2_decode_from_cfg(&in->m, &run->cfg, err)) goto fail;
    if (elm_generate_bpe_files(run, in->model_dir, in->vocab[0], in->vocab[1], sizeof in->vocab[0],
                               err) ||
        !(in->bpe = elm_bpe_load(in->vocab[0], in->vocab[1], err)))
        goto fail;
    if (!prompts && elm_generate_load_prompts(run, &in->prompts, err)) goto fail;
    if (elm_generate_check_prompts(&in->prompts, in->bpe, p, in->m.config.n_ctx, err)) goto fail;
    return 0;
fail:
    inputs_close(in);
    return -1;
}

// The output of a run, <run>/generated/<tweets|stories>.jsonl, through its ".part": a rerun
// with the same settings (gen_resume.h) keeps the *kept finished texts a killed run left.
// `device` and `batch` are part of the settings: on the CPU a text depends on its batch.
static int out_open(ElmRun *run, const ElmGenParams *p, const GenInputs *in, long long count,
                    const char *device, int batch, ElmAtomicFile *o, long long *kept,
                    ElmError *err) {
    char gdir[4096], path[4200], settings[256], hex[17];
    elm_run_path(run, "generated", gdir, sizeof gdir);
    if (elm_mkdirs(gdir, err)) return -1;
    snprintf(path, sizeof path, "%s/%s", gdir,
             p->mode == ELM_GEN_STORY ? "stories.jsonl" : "tweets.jsonl");
    snprintf(settings, sizeof settings, "count %lld device %s batch %d threads %d matmul %d", count,
             device, batch, run->threads, elm_cfg_enum(&run->cfg, "model.matmul"));
    ElmGenResumeKey key = {in->model_dir, {in->vocab[0], in->vocab[1]}, p, &in->prompts, settings};
    if (elm_gen_resume_fingerprint(&key, hex, err)) return -1;
    return elm_gen_resume_open(o, path, hex, settings, count, kept, err);
}

// Renames the finished ".part" into place; its side file goes.
static int out_commit(ElmAtomicFile *o, ElmError *err) {
    if (elm_atomic_commit(o, err)) return -1;
    elm_gen_resume_close(o->path);
    return 0;
}

// The progress line counts the texts this run generates; a resumed one says how many it kept.
static void progress_note(ElmProgress *prog, long long kept, const char *rate) {
    if (kept)
        snprintf(prog->extra, sizeof prog->extra, "%lld kept from the .part%s%s", kept,
                 rate[0] ? ", " : "", rate);
    else
        snprintf(prog->extra, sizeof prog->extra, "%s", rate);
}

// ---- the CPU run --------------------------------------------------------------------------

// Writes the texts of one finished batch from index `from` on (a resumed batch's first ones
// were kept) and makes them reach the disk before the next batch starts.
static int write_batch(ElmAtomicFile *o, const ElmGenParams *p, const char **bp,
                       const uint64_t *idx, ElmGenText *texts, int n, uint64_t from,
                       long long *new_tokens, ElmError *err) {
    int bad = 0;
    for (int b = 0; b < n; b++) {
        if (idx[b] >= from) {
            if (elm_generate_write_line(o->f, bp[b], &texts[b], idx[b], p->seed)) bad = 1;
            *new_tokens += texts[b].n_tokens;
        }
        elm_gen_text_free(&texts[b]);
    }
    if (bad) return elm_err(err, "%s: write failed: %s", o->tmp, strerror(errno));
    return elm_atomic_sync(o, err);
}

// The batches of the CPU run: texts [kept, count), batch at a time, prompts taken round-robin.
// Batches always start at multiples of `batch`, as in a run from 0, so a resumed run samples
// every text in the batch it had there: the kept part of the first one is sampled again, not
// written.
static int cpu_batches(ElmRun *run, GenInputs *in, const ElmGenParams *p, long long count,
                       long long kept, int batch, ElmAtomicFile *o, ElmError *err) {
    ElmGenText *texts = elm_calloc((size_t)batch, sizeof *texts, err);
    const char **bp = elm_calloc((size_t)batch, sizeof *bp, err);
    uint64_t *idx = elm_calloc((size_t)batch, sizeof *idx, err);
    int rc = -1, n_prompts = in->prompts.n;
    if (!texts || !bp || !idx) goto done;
    ElmProgress prog;
    elm_progress_start(&prog, "generate", p->mode == ELM_GEN_STORY ? "stories" : "tweets",
                       (uint64_t)(count - kept), run->quiet);
    progress_note(&prog, kept, "");
    double t0 = elm_now();
    long long new_tokens = 0;
    for (long long start = kept / batch * batch; start < count; start += batch) {
        int n = count - start < batch ? (int)(count - start) : batch;
        for (int b = 0; b < n; b++) {
            idx[b] = (uint64_t)(start + b);
            bp[b] = n_prompts ? in->prompts.text[(start + b) % n_prompts] : "";
        }
        if (elm_generate_batch(&in->m, in->bpe, p, bp, idx, n, texts, err)) goto done;
        if (write_batch(o, p, bp, idx, texts, n, (uint64_t)kept, &new_tokens, err)) goto done;
        double el = elm_now() - t0;
        char rate[64];
        snprintf(rate, sizeof rate, "%.1f tok/s", el > 0 ? new_tokens / el : 0.0);
        progress_note(&prog, kept, rate);
        elm_progress_update(&prog, (uint64_t)(start + n - kept));
    }
    elm_progress_finish(&prog);
    rc = 0;
done:
    free(texts);
    free(bp);
    free(idx);
    return rc;
}

static int cpu_run(ElmRun *run, const ElmGenParams *p, ElmGenPrompts *prompts, long long count,
                   ElmError *err) {
    int batch = (int)elm_cfg_int(&run->cfg, "generate.batch_size");
    if (batch > count && count > 0) batch = (int)count;
    GenInputs in;
    if (inputs_open(run, p, prompts, &in, err)) return -1;
    int rc = -1;
    long long kept = 0;
    ElmAtomicFile o = {0};
    if (out_open(run, p, &in, count, "cpu", batch, &o, &kept, err)) goto done;
    if (cpu_batches(run, &in, p, count, kept, batch, &o, err)) goto done;
    rc = out_commit(&o, err);
done:
    if (o.f) fclose(o.f); // the ".part" stays: what the failed run wrote, for a rerun to keep
    inputs_close(&in);
    return rc;
}

// ---- the GPU run --------------------------------------------------------------------------

// The output file while texts arrive.
typedef struct Sink {
    ElmAtomicFile out;
    uint64_t seed;
    long long lines, since_sync, sync_every, tokens, kept;
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
    char rate[64];
    snprintf(rate, sizeof rate, "%.0f tok/s on the GPU", el > 0 ? k->tokens / el : 0.0);
    progress_note(&k->prog, k->kept, rate);
    elm_progress_update(&k->prog, (uint64_t)k->lines);
    return 0;
}

// The prompts of requests kept, kept + 1, ...: the list rotated so that request i of the job
// (index kept + i) takes prompt (kept + i) mod n, as in a run from 0. Borrows the strings.
static const char **rotated(const ElmGenPrompts *pr, long long kept, ElmError *err) {
    const char **r = elm_calloc((size_t)(pr->n ? pr->n : 1), sizeof *r, err);
    for (int i = 0; r && i < pr->n; i++) r[i] = pr->text[(kept + i) % pr->n];
    return r;
}

// The GPU run: continuous batching (batcher.h) over the CUDA backend, lines in index order as
// texts finish, fsync'ed every batch_size lines, renamed into place at the end. A resumed run
// starts at the first missing index (the slots fill differently, so its texts equal an
// uninterrupted run's up to the GPU's rounding, as with another slot count: batcher.h).
static int gpu_run(ElmRun *run, const ElmGenParams *p, ElmGenPrompts *prompts, long long count,
                   ElmError *err) {
    int slots = (int)elm_cfg_int(&run->cfg, "generate.batch_size");
    if (count > 0 && slots > count) slots = (int)count;
    if (slots < 1) slots = 1;
    GenInputs in;
    if (inputs_open(run, p, prompts, &in, err)) return -1;
    int rc = -1, cap = 0;
    ElmBatchBackend *be = NULL;
    Sink k = {0};
    const char **pr = NULL;
    ElmBatchJob job = {.params = p,
                       .bpe = in.bpe,
                       .n_prompts = in.prompts.n,
                       .n_ctx = in.m.config.n_ctx,
                       .emit = emit_line,
                       .user = &k};
    // The slot size (the longest prompt's, whatever the order) and the GPU, before anything is
    // written.
    job.prompts = (const char *const *)in.prompts.text;
    if (elm_batch_capacity(&job, &cap, err)) goto done;
    if (!(be = elm_batch_cuda_create(NULL, &in.m, p, elm_bpe_eot(in.bpe), slots, cap, 1, err)))
        goto done;
    if (out_open(run, p, &in, count, "cuda", slots, &k.out, &k.kept, err)) goto done;
    if (!(pr = rotated(&in.prompts, k.kept, err))) goto done;
    job.prompts = pr, job.first_index = (uint64_t)k.kept, job.count = count - k.kept;
    k.seed = p->seed;
    k.sync_every = slots;
    elm_progress_start(&k.prog, "generate", p->mode == ELM_GEN_STORY ? "stories" : "tweets",
                       (uint64_t)job.count, run->quiet);
    progress_note(&k.prog, k.kept, "");
    k.t0 = elm_now();
    ElmBatchStats st;
    if (elm_batch_run(&job, be, &st, err) || sink_sync(&k, err)) goto done;
    char rate[96];
    snprintf(rate, sizeof rate, "%.0f tok/s on the GPU, slots %.1f%% busy",
             k.tokens / (elm_now() - k.t0 + 1e-9), 100.0 * st.busy / (st.total ? st.total : 1));
    progress_note(&k.prog, k.kept, rate);
    elm_progress_finish(&k.prog);
    rc = out_commit(&k.out, err);
done:
    if (k.out.f) fclose(k.out.f); // the ".part" stays, for a rerun to keep
    free(pr);
    elm_batch_cuda_free(be);
    inputs_close(&in);
    return rc;
}

// ---- the stage ----------------------------------------------------------------------------

// [generate] count texts (or `count` when >= 0) in `mode` (the config's when < 0), with the
// configured prompts or, when `prompts` is given, those (taken over).
static int gen_run(ElmRun *run, int mode, long long count, ElmGenPrompts *prompts, ElmError *err) {
    ElmGenParams p;
    if (elm_generate_params(run, &p, err)) return -1;
    if (mode >= 0)
        elm_generate_set_mode(run, &p, mode == ELM_GEN_STORY ? ELM_GEN_STORY : ELM_GEN_TWEET);
    if (count < 0) count = elm_cfg_int(&run->cfg, "generate.count");
    int on_gpu = pick_device(elm_cfg_enum(&run->cfg, "generate.device"), err);
    if (on_gpu < 0) {
        if (prompts) elm_generate_prompts_free(prompts);
        return -1;
    }
    return on_gpu ? gpu_run(run, &p, prompts, count, err) : cpu_run(run, &p, prompts, count, err);
}

int elm_gen_device_run(ElmRun *run, int mode, long long count_override, ElmError *err) {
    return gen_run(run, mode, count_override, NULL, err);
}

int elm_gen_device_stage(ElmRun *run, ElmError *err) {
    if (gen_run(run, ELM_GEN_TWEET, -1, NULL, err)) return -1;
    long long stories = 0;
    ElmGenPrompts own;
    if (elm_stories_prompts(run, &stories, &own, err)) return -1;
    if (stories > 0) return gen_run(run, ELM_GEN_STORY, stories, &own, err);
    elm_generate_prompts_free(&own);
    // No stories asked for: an earlier run's stories.jsonl would be shown as this run's.
    char path[4200];
    elm_run_path(run, "generated/stories.jsonl", path, sizeof path);
    if (unlink(path) != 0 && errno != ENOENT)
        return elm_err(err, "%s: cannot remove: %s", path, strerror(errno));
    return 0;
}
