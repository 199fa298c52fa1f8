// gen_device.c — the generate stage: the device choice, the CPU run, the GPU run, and the
// study's generate stage (tweets, then stories). See gen_device.h.
#include "engine/generate/gen_device.h"
#include "engine/base/fsutil.h"
#include "engine/base/progress.h"
#include "engine/generate/gen_resume.h"
#include "engine/generate/mix.h"
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
    ElmGenMix mix;  // the accounts asked for (mix.n = 0: none) and those of the data
    ElmSteer steer; // the keywords (n_keywords = 0: none)
    ElmGenParams p; // the run's parameters, with p.steer set when there are keywords
} GenInputs;

static void inputs_close(GenInputs *in) {
    elm_steer_free(&in->steer);
    elm_gen_mix_free(&in->mix);
    elm_generate_prompts_free(&in->prompts);
    if (in->bpe) elm_bpe_free(in->bpe);
    elm_gpt2_free(&in->m);
}

// The longest topic name of a topic-conditioned model (NULL when it has none).
static const char *longest_topic(const ElmGenMix *m) {
    const char *best = NULL;
    for (int i = 0; i < m->n_topic_names; i++)
        if (!best || strlen(m->topic_names[i]) > strlen(best)) best = m->topic_names[i];
    return best;
}

// With a mix, every prompt behind every account's header (with the longest topic a header
// may hold) must still fit the model's context.
static int check_headed(const GenInputs *in, const ElmGenParams *p, ElmError *err) {
    ElmGenPrompts all = {0};
    int rc = 0, n = in->prompts.n ? in->prompts.n : 1;
    const ElmGenMix *m = &in->mix;
    int na = m->n ? m->n : m->n_topics ? m->n_known : 0;
    const char *topic = longest_topic(m);
    for (int a = 0; a < na && rc == 0; a++)
        for (int i = 0; i < n && rc == 0; i++) {
            size_t skip;
            const char *pr = in->prompts.n ? in->prompts.text[i] : "";
            const char *who = m->n ? m->account[a] : m->known[a];
            char *t = elm_gen_mix_prompt(who, topic, pr, &skip), where[4300];
            snprintf(where, sizeof where, "%s, behind the header of %s",
                     in->prompts.n ? in->prompts.where[i] : "no prompt", who);
            rc = t ? elm_generate_prompts_add(&all, t, where, err) : elm_err(err, "out of memory");
            free(t);
        }
    ElmGenParams q = *p;
    q.max_chars = 1 << 30; // the header does not count towards max_chars
    if (rc == 0) rc = elm_generate_check_prompts(&all, in->bpe, &q, in->m.config.n_ctx, err);
    elm_generate_prompts_free(&all);
    return rc;
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
    // The mix and the keywords apply to the configured prompts' texts, not to the stories'.
    const ElmConfig *c = &run->cfg;
    if (elm_gen_mix_load(run, prompts ? "" : elm_cfg_str(c, "generate.accounts"),
                         prompts ? "" : elm_cfg_str(c, "generate.topics"), &in->mix, err) ||
        elm_steer_init(&in->steer, prompts ? "" : elm_cfg_str(c, "generate.keywords"),
                       (float)elm_cfg_float(c, "generate.keyword_bonus"), in->bpe, err))
        goto fail;
    if (check_headed(in, p, err)) goto fail;
    in->p = *p;
    if (in->steer.n_keywords) in->p.steer = &in->steer;
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
    char gdir[4096], path[4200], settings[4096], hex[17];
    elm_run_path(run, "generated", gdir, sizeof gdir);
    if (elm_mkdirs(gdir, err)) return -1;
    snprintf(path, sizeof path, "%s/%s", gdir,
             p->mode == ELM_GEN_STORY ? "stories.jsonl" : "tweets.jsonl");
    // The decoding formats and the prefill (rounding), the mix (its accounts and weights,
    // exactly) and the keywords shape the texts too.
    int w = snprintf(settings, sizeof settings,
                     "count %lld device %s batch %d threads %d matmul %d weights %s kv %s "
                     "prefill %s",
                     count, device, batch, run->threads, elm_cfg_enum(&run->cfg, "model.matmul"),
                     elm_cfg_str(&run->cfg, "generate.weights"),
                     elm_cfg_str(&run->cfg, "generate.kv_cache"),
                     elm_cfg_str(&run->cfg, "generate.prefill"));
    for (int i = 0; i < in->mix.n && w > 0 && (size_t)w < sizeof settings; i++)
        w += snprintf(settings + w, sizeof settings - (size_t)w, " account %s:%a",
                      in->mix.account[i], in->mix.weight[i]);
    // The data's accounts: an unconditioned text of a conditioned model gets one of their headers.
    for (int i = 0; i < in->mix.n_known && w > 0 && (size_t)w < sizeof settings; i++)
        w += snprintf(settings + w, sizeof settings - (size_t)w, " data %s:%a", in->mix.known[i],
                      in->mix.known_docs[i]);
    // The topics asked for, and the data's (names and joint documents shape the prior headers).
    const ElmGenMix *m = &in->mix;
    for (int i = 0; i < m->n_topics && w > 0 && (size_t)w < sizeof settings; i++)
        w += snprintf(settings + w, sizeof settings - (size_t)w, " topic %s:%a",
                      m->topic_names[m->topic[i]], m->topic_weight[i]);
    for (int i = 0; i < m->n_topic_names * (m->n_known ? m->n_known : 1) && w > 0 &&
                    (size_t)w < sizeof settings;
         i++)
        w += snprintf(settings + w, sizeof settings - (size_t)w, " t%s:%a",
                      m->topic_names[i % m->n_topic_names], m->pairs[i]);
    if (in->steer.n_keywords && w > 0 && (size_t)w < sizeof settings)
        snprintf(settings + w, sizeof settings - (size_t)w, " keywords %s bonus %a", in->steer.spec,
                 (double)in->steer.bonus);
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

// ---- the CPU run, on every rank -----------------------------------------------------------
//
// The texts are cut into batches of `batch` starting at multiples of it, as one process cuts
// them (on the CPU a text depends on the rows of its batch: gen_resume.h), and batch k goes to
// rank k mod N. Round r samples batches rN .. rN + N - 1 at once; rank 0 gathers their lines,
// which in rank order are the texts in index order, appends them to the ".part" and fsyncs it.
// So the output is one process's for any N, the ".part" is always a prefix of it (a rerun keeps
// it whatever N it has), and rank 0 holds one round's lines at a time.

// The lines of one sampled batch from index `from` on (a resumed batch's first ones were kept),
// into f (a rank's round, an open_memstream); the texts are freed.
static int write_batch(FILE *f, const ElmGenParams *p, const char **bp, const uint64_t *idx,
                       ElmGenText *texts, int n, uint64_t from, long long *new_tokens,
                       ElmError *err) {
    int bad = 0;
    for (int b = 0; b < n; b++) {
        if (idx[b] >= from) {
            if (elm_generate_write_line(f, bp[b], &texts[b], idx[b], p->seed)) bad = 1;
            *new_tokens += texts[b].n_tokens;
        }
        elm_gen_text_free(&texts[b]);
    }
    return bad ? elm_err(err, "out of memory for a batch's lines") : 0;
}

// The model prompts of texts idx[0..n): the text's account header (mix.h) before its prompt
// when there is a mix; without one, a conditioned model's text gets the header of an account
// drawn from the data's own mix (elm_gen_mix_pick_prior), and an unconditioned model's the
// prompt itself (malloc'd into mp, the header's bytes into skip).
static int model_prompts(const GenInputs *in, const ElmGenParams *p, const char **bp,
                         const uint64_t *idx, int n, char **mp, size_t *skip, ElmGenPick *pk,
                         ElmError *err) {
    for (int b = 0; b < n; b++) {
        elm_gen_mix_pick_text(&in->mix, p->seed, idx[b], &pk[b]);
        const char *who = pk[b].account ? pk[b].account : pk[b].prior_account;
        const char *topic = pk[b].topic ? pk[b].topic : pk[b].prior_topic;
        skip[b] = 0;
        mp[b] = who ? elm_gen_mix_prompt(who, topic, bp[b], &skip[b]) : strdup(bp[b]);
        if (!mp[b]) return elm_err(err, "out of memory");
    }
    return 0;
}

// What the texts of a batch were conditioned on (an unconditioned text of a conditioned model:
// the account of the data's mix whose header prompted it); a header the model wrote itself
// goes.
static void label_texts(const GenInputs *in, ElmGenText *texts, const ElmGenPick *pk, int n) {
    for (int b = 0; b < n; b++) {
        texts[b].account = pk[b].account;
        texts[b].prior_account = pk[b].prior_account;
        texts[b].topic = pk[b].topic;
        texts[b].prior_topic = pk[b].prior_topic;
        texts[b].keywords = in->steer.n_keywords ? in->steer.spec : NULL;
        size_t own = !pk[b].account ? elm_gen_mix_own_header(&in->mix, texts[b].text) : 0;
        if (own) memmove(texts[b].text, texts[b].text + own, strlen(texts[b].text + own) + 1);
    }
}

// One batch's buffers.
typedef struct CpuBatch {
    int batch;
    ElmGenText *texts;
    const char **bp;
    uint64_t *idx;
    char **mp;
    size_t *skip;
    ElmGenPick *pk;
} CpuBatch;

static void batch_free(CpuBatch *c) {
    for (int b = 0; c->mp && b < c->batch; b++) free(c->mp[b]);
    free(c->texts), free(c->bp), free(c->idx), free(c->mp), free(c->skip), free(c->pk);
}

static int batch_alloc(CpuBatch *c, int batch, ElmError *err) {
    memset(c, 0, sizeof *c);
    c->batch = batch;
    size_t n = (size_t)batch;
    c->texts = elm_calloc(n, sizeof *c->texts, err);
    c->bp = elm_calloc(n, sizeof *c->bp, err);
    c->idx = elm_calloc(n, sizeof *c->idx, err);
    c->mp = elm_calloc(n, sizeof *c->mp, err);
    c->skip = elm_calloc(n, sizeof *c->skip, err);
    c->pk = elm_calloc(n, sizeof *c->pk, err);
    if (c->texts && c->bp && c->idx && c->mp && c->skip && c->pk) return 0;
    batch_free(c);
    return -1;
}

// Samples texts [start, start + n), prompts taken round-robin, and writes those from index
// `from` on into f; *tokens = their new tokens.
static int sample_batch(GenInputs *in, const ElmGenParams *p, CpuBatch *c, long long start, int n,
                        long long from, FILE *f, long long *tokens, ElmError *err) {
    int n_prompts = in->prompts.n;
    for (int b = 0; b < n; b++) {
        c->idx[b] = (uint64_t)(start + b);
        c->bp[b] = n_prompts ? in->prompts.text[(start + b) % n_prompts] : "";
        free(c->mp[b]), c->mp[b] = NULL;
    }
    if (model_prompts(in, p, c->bp, c->idx, n, c->mp, c->skip, c->pk, err) ||
        elm_generate_batch_ex(&in->m, in->bpe, p, (const char *const *)c->mp, c->skip, c->idx, n,
                              c->texts, err))
        return -1;
    label_texts(in, c->texts, c->pk, n);
    return write_batch(f, p, c->bp, c->idx, c->texts, n, (uint64_t)from, tokens, err);
}

// Rank 0: appends a round's gathered lines (each rank's: its tokens, then its lines) to the
// ".part", makes them reach the disk, and counts the new tokens.
static int write_round(ElmAtomicFile *o, const char *all, const size_t *counts, int ranks,
                       long long *new_tokens, ElmError *err) {
    for (int r = 0; r < ranks; all += counts[r], r++) {
        if (counts[r] < sizeof(int64_t)) continue; // a rank without a batch this round
        int64_t t;
        memcpy(&t, all, sizeof t);
        *new_tokens += t;
        size_t n = counts[r] - sizeof t;
        if (n && fwrite(all + sizeof t, 1, n, o->f) != n)
            return elm_err(err, "%s: write failed: %s", o->tmp, strerror(errno));
    }
    return elm_atomic_sync(o, err);
}

// This rank's batch of the round as bytes, *mem (free it) of *len: the count of its new tokens
// (an int64_t, for rank 0's rate), then its lines; none when it has no batch this round.
static int round_bytes(GenInputs *in, const ElmGenParams *p, CpuBatch *c, long long k,
                       long long count, long long kept, char **mem, size_t *len, ElmError *err) {
    *mem = NULL, *len = 0;
    int batch = c->batch;
    long long start = k * batch, tokens = 0;
    if (start >= count) return 0;
    char *lines = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&lines, &n);
    if (!f) return elm_err(err, "out of memory");
    int rc = sample_batch(in, p, c, start, count - start < batch ? (int)(count - start) : batch,
                          kept, f, &tokens, err);
    if (fclose(f) && rc == 0) rc = elm_err(err, "out of memory");
    int64_t t = tokens;
    if (rc == 0 && !(*mem = elm_malloc(sizeof t + n, err))) rc = -1;
    if (rc == 0) {
        memcpy(*mem, &t, sizeof t), memcpy(*mem + sizeof t, lines, n);
        *len = sizeof t + n;
    }
    free(lines);
    return rc;
}

// The rounds of the CPU run: texts [kept, count) (o: rank 0's ".part", NULL elsewhere). The kept
// part of the first batch is sampled again, not written, so that every text is sampled in the
// batch it had in a run from 0.
static int cpu_batches(ElmRun *run, GenInputs *in, const ElmGenParams *p, long long count,
                       long long kept, int batch, ElmAtomicFile *o, ElmDist *dist, ElmError *err) {
    CpuBatch c;
    if (batch_alloc(&c, batch, err)) return elm_dist_agree(dist, -1, err);
    int ranks = elm_dist_size(dist), rank = elm_dist_rank(dist), wrc = 0;
    size_t *counts = elm_calloc((size_t)ranks, sizeof *counts, err);
    if (elm_dist_agree(dist, counts ? 0 : -1, err)) goto fail;
    ElmProgress prog;
    elm_progress_start(&prog, "generate", p->mode == ELM_GEN_STORY ? "stories" : "tweets",
                       (uint64_t)(count - kept), run->quiet || rank > 0);
    progress_note(&prog, kept, "");
    double t0 = elm_now();
    long long new_tokens = 0, n_batches = (count + batch - 1) / batch;
    for (long long k0 = kept / batch; k0 < n_batches; k0 += ranks) {
        char *mem = NULL, *all = NULL;
        size_t len = 0;
        int rc = wrc ? wrc : round_bytes(in, p, &c, k0 + rank, count, kept, &mem, &len, err);
        if (elm_dist_agree(dist, rc, err) ||
            elm_dist_gather(dist, mem, len, 0, &all, counts, err)) {
            free(mem);
            goto fail;
        }
        free(mem);
        if (rank == 0) wrc = write_round(o, all, counts, ranks, &new_tokens, err);
        free(all);
        double el = elm_now() - t0;
        char rate[64];
        snprintf(rate, sizeof rate, "%.1f tok/s", el > 0 ? new_tokens / el : 0.0);
        progress_note(&prog, kept, rate);
        long long done = (k0 + ranks) * batch < count ? (k0 + ranks) * batch : count;
        elm_progress_update(&prog, (uint64_t)(done - kept));
    }
    if (elm_dist_agree(dist, wrc, err)) goto fail;
    elm_progress_finish(&prog);
    free(counts);
    batch_free(&c);
    return 0;
fail:
    free(counts);
    batch_free(&c);
    return -1;
}

// Rank 0 opens the output (and says how many texts its ".part" keeps); every rank hears the
// outcome and *kept.
static int cpu_out_open(ElmRun *run, GenInputs *in, long long count, int batch, ElmAtomicFile *o,
                        long long *kept, ElmDist *dist, ElmError *err) {
    int rc = 0;
    if (elm_dist_rank(dist) == 0) rc = out_open(run, &in->p, in, count, "cpu", batch, o, kept, err);
    if (elm_dist_agree(dist, rc, err)) return -1;
    return elm_dist_bcast(dist, kept, sizeof *kept, 0, err);
}

static int cpu_run(ElmRun *run, const ElmGenParams *p, ElmGenPrompts *prompts, long long count,
                   ElmDist *dist, ElmError *err) {
    int batch = (int)elm_cfg_int(&run->cfg, "generate.batch_size");
    if (batch > count && count > 0) batch = (int)count;
    GenInputs in;
    int rc = inputs_open(run, p, prompts, &in, err);
    if (elm_dist_agree(dist, rc, err)) {
        if (rc == 0) inputs_close(&in);
        return -1;
    }
    rc = -1;
    long long kept = 0;
    ElmAtomicFile o = {0};
    if (cpu_out_open(run, &in, count, batch, &o, &kept, dist, err)) goto done;
    if (cpu_batches(run, &in, &in.p, count, kept, batch, &o, dist, err)) goto done;
    rc = elm_dist_rank(dist) == 0 ? out_commit(&o, err) : 0;
    rc = elm_dist_agree(dist, rc, err);
done:
    if (o.f) fclose(o.f); // the ".part" stays: what the failed run wrote, for a rerun to keep
    inputs_close(&in);
    return rc;
}

// ---- the GPU run --------------------------------------------------------------------------

// The output file while texts arrive.
typedef struct Sink {
    ElmAtomicFile out;
    const ElmGenMix *mix; // the data's accounts, for the headers a conditioned model writes
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
    // A conditioned model's own header goes, as on the CPU (label_texts).
    ElmGenText u = *t;
    u.text += k->mix ? elm_gen_mix_own_header(k->mix, t->text) : 0;
    if (elm_generate_write_line(k->out.f, prompt, &u, index, k->seed))
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
    if (in.mix.n || in.mix.n_topics || in.steer.n_keywords) {
        elm_err(err, "generate.%s is not supported on the GPU yet: set generate.device = cpu",
                in.mix.n          ? "accounts"
                : in.mix.n_topics ? "topics"
                                  : "keywords");
        inputs_close(&in);
        return -1;
    }
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
    k.mix = &in.mix;
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

int elm_gen_device_check_ranks(const ElmConfig *cfg, int ranks, ElmError *err) {
    if (ranks > 1 && elm_cfg_enum(cfg, "generate.device") == 1)
        return elm_err(err,
                       "generate.device = cuda samples on the GPU, which elm does with one rank "
                       "only (this job has %d): set generate.device = cpu, or run one rank",
                       ranks);
    return 0;
}

// Every rank must be asked for what rank 0 is (--mode and --count are not in the config).
static int same_request(ElmDist *dist, int mode, long long count, ElmError *err) {
    long long mine[2] = {mode, count}, r0[2] = {mode, count};
    if (elm_dist_bcast(dist, r0, sizeof r0, 0, err)) return -1;
    int rc = 0;
    if (r0[0] != mine[0] || r0[1] != mine[1])
        rc = elm_err(err,
                     "the ranks ask for different texts: %s %lld here, %s %lld on rank 0 (every "
                     "rank must get the same --mode and --count)",
                     mine[0] == ELM_GEN_STORY ? "stories" : "tweets", mine[1],
                     r0[0] == ELM_GEN_STORY ? "stories" : "tweets", r0[1]);
    return elm_dist_agree(dist, rc, err);
}

// [generate] count texts (or `count` when >= 0) in `mode` (the config's when < 0), with the
// configured prompts or, when `prompts` is given, those (taken over). With several ranks, on the
// CPU of each (auto picks it).
static int gen_run(ElmRun *run, int mode, long long count, ElmGenPrompts *prompts, ElmDist *dist,
                   ElmError *err) {
    ElmGenParams p;
    int rc = elm_generate_params(run, &p, err);
    if (rc == 0 && mode >= 0)
        elm_generate_set_mode(run, &p, mode == ELM_GEN_STORY ? ELM_GEN_STORY : ELM_GEN_TWEET);
    if (count < 0) count = elm_cfg_int(&run->cfg, "generate.count");
    // The mix and the keywords are sampled on the CPU only (auto picks it for them).
    int device = elm_cfg_enum(&run->cfg, "generate.device");
    const char *acc = elm_cfg_str(&run->cfg, "generate.accounts");
    const char *kw = elm_cfg_str(&run->cfg, "generate.keywords");
    const char *tp = elm_cfg_str(&run->cfg, "generate.topics");
    if (device == 2 && !prompts && ((acc && acc[0]) || (kw && kw[0]) || (tp && tp[0]))) device = 0;
    if (device == 2 && elm_dist_size(dist) > 1) device = 0;
    if (rc == 0) rc = elm_gen_device_check_ranks(&run->cfg, elm_dist_size(dist), err);
    int on_gpu = rc == 0 ? pick_device(device, err) : -1;
    if (elm_dist_agree(dist, on_gpu < 0 ? -1 : 0, err) ||
        (elm_dist_size(dist) > 1 && same_request(dist, p.mode, count, err))) {
        if (prompts) elm_generate_prompts_free(prompts);
        return -1;
    }
    return on_gpu ? gpu_run(run, &p, prompts, count, err)
                  : cpu_run(run, &p, prompts, count, dist, err);
}

int elm_gen_device_run(ElmRun *run, int mode, long long count_override, ElmDist *dist,
                       ElmError *err) {
    return gen_run(run, mode, count_override, NULL, dist, err);
}

int elm_gen_device_stage_dist(ElmRun *run, ElmDist *dist, ElmError *err) {
    // Every rank goes on once rank 0 has written tweets.jsonl: the stories' prompts come from it.
    if (elm_dist_agree(dist, gen_run(run, ELM_GEN_TWEET, -1, NULL, dist, err), err)) return -1;
    long long stories = 0;
    ElmGenPrompts own;
    if (elm_stories_prompts(run, &stories, &own, err)) return -1;
    if (stories > 0) return gen_run(run, ELM_GEN_STORY, stories, &own, dist, err);
    elm_generate_prompts_free(&own);
    if (elm_dist_rank(dist) > 0) return 0;
    // No stories asked for: an earlier run's stories.jsonl would be shown as this run's.
    char path[4200];
    elm_run_path(run, "generated/stories.jsonl", path, sizeof path);
    if (unlink(path) != 0 && errno != ENOENT)
        return elm_err(err, "%s: cannot remove: %s", path, strerror(errno));
    return 0;
}

int elm_gen_device_stage(ElmRun *run, ElmError *err) {
    return elm_gen_device_stage_dist(run, NULL, err);
}
