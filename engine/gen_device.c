// gen_device.c — the device choice of `elm generate` and its GPU run (see gen_device.h).
#include "gen_device.h"
#include "batcher_cuda.h"
#include "fsutil.h"
#include "hf.h"
#include "progress.h"

#include "../kernels/gpu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int elm_gen_device_pick(int device, ElmError *err) {
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

// The output file while texts arrive.
typedef struct Sink {
    FILE *f;
    const char *part;
    uint64_t seed;
    long long lines, since_sync, sync_every, tokens;
    ElmProgress prog;
    double t0;
} Sink;

static int sink_sync(Sink *k, ElmError *err) {
    if (fflush(k->f) != 0 || fsync(fileno(k->f)) != 0)
        return elm_err(err, "%s: write failed: %s", k->part, strerror(errno));
    k->since_sync = 0;
    return 0;
}

static int emit_line(void *user, uint64_t index, const char *prompt, const ElmGenText *t,
                     ElmError *err) {
    Sink *k = user;
    if (elm_generate_write_line(k->f, prompt, t, index, k->seed))
        return elm_err(err, "%s: write failed: %s", k->part, strerror(errno));
    k->lines++;
    k->tokens += t->n_tokens;
    if (++k->since_sync >= k->sync_every && sink_sync(k, err)) return -1;
    double el = elm_now() - k->t0;
    snprintf(k->prog.extra, sizeof k->prog.extra, "%.0f tok/s on the GPU",
             el > 0 ? k->tokens / el : 0.0);
    elm_progress_update(&k->prog, (uint64_t)k->lines);
    return 0;
}

int elm_generate_run_cuda(ElmRun *run, const ElmGenParams *p, long long count, ElmError *err) {
    int slots = (int)elm_cfg_int(&run->cfg, "generate.batch_size");
    if (count > 0 && slots > count) slots = (int)count;
    if (slots < 1) slots = 1;
    char dir[4096], gdir[4096], path[4096], part[4096];
    if (elm_generate_checkpoint_dir(run, dir, sizeof dir, err)) return -1;
    ElmGpt2 m;
    if (elm_hf_load(dir, &m, err)) return -1;
    m.threads = run->threads;
    ElmBpe *bpe = elm_generate_load_bpe(run, dir, err);
    char **prompts = NULL;
    int n_prompts = 0, rc = -1, cap = 0;
    ElmBatchBackend *be = NULL;
    Sink k = {0};
    if (!bpe || elm_generate_load_prompts(run, &prompts, &n_prompts, err)) goto done;
    ElmBatchJob job = {.params = p,
                       .bpe = bpe,
                       .prompts = (const char *const *)prompts,
                       .n_prompts = n_prompts,
                       .first_index = 0,
                       .count = count,
                       .n_ctx = m.config.n_ctx,
                       .emit = emit_line,
                       .user = &k};
    // Prompts are checked (and the slot size found) before anything is written.
    if (elm_batch_capacity(&job, &cap, err)) goto done;
    if (!(be = elm_batch_cuda_create(NULL, &m, p, elm_bpe_eot(bpe), slots, cap, 1, err))) goto done;
    elm_run_path(run, "generated", gdir, sizeof gdir);
    if (elm_mkdirs(gdir, err)) goto done;
    snprintf(path, sizeof path, "%s/%s", gdir,
             p->mode == ELM_GEN_STORY ? "stories.jsonl" : "tweets.jsonl");
    snprintf(part, sizeof part, "%s.part", path);
    if (!(k.f = fopen(part, "w"))) {
        elm_err(err, "%s: cannot write: %s", part, strerror(errno));
        goto done;
    }
    k.part = part;
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
    int bad = fclose(k.f) != 0;
    k.f = NULL;
    if (bad) {
        elm_err(err, "%s: write failed: %s", part, strerror(errno));
        goto done;
    }
    if (rename(part, path) != 0) {
        elm_err(err, "%s: cannot rename into place: %s", path, strerror(errno));
        goto done;
    }
    int dfd = open(gdir, O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rc = 0;
done:
    if (k.f) {
        fclose(k.f);
        unlink(part); // no partial output: the run failed
    }
    elm_batch_cuda_free(be);
    elm_generate_free_prompts(prompts, n_prompts);
    if (bpe) elm_bpe_free(bpe);
    elm_gpt2_free(&m);
    return rc;
}
