// train.c — the training loop of `elm train` (see train.h; formats in docs/train.md).
#include "engine/train/train.h"
#include "engine/base/rng.h"
#include "engine/model/checkpoint.h"
#include "engine/base/fsutil.h"
#include "engine/base/hash.h"
#include "engine/generate/generate.h"
#include "engine/model/gpt2.h"
#include "engine/model/hf.h"
#include "engine/base/progress.h"
#include "engine/generate/sample.h"
#include "engine/train/train_device.h"
#include "engine/train/train_zero.h"
#include "tokenizer/shard.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// ---- schedule and data order ------------------------------------------------------------

float elm_train_lr(ElmSchedule sched, float lr, float min_lr, long long warmup, long long total,
                   long long s) {
    if (s < warmup) return lr * (float)(s + 1) / (float)warmup;
    if (sched == ELM_SCHED_CONSTANT || total <= warmup) return lr;
    double d = (double)(s - warmup) / (double)(total - warmup);
    if (d > 1) d = 1;
    if (sched == ELM_SCHED_LINEAR) return (float)(lr - (lr - min_lr) * d);
    return (float)(min_lr + (lr - min_lr) * 0.5 * (1.0 + cos(M_PI * d)));
}

void elm_train_epoch_order(uint32_t *perm, size_t n_windows, uint64_t seed, uint64_t epoch) {
    for (size_t i = 0; i < n_windows; i++) perm[i] = (uint32_t)i;
    uint64_t r = elm_rng_mix(elm_rng_mix(seed) + epoch);
    for (size_t i = n_windows; i > 1; i--) {
        r = elm_rng_mix(r);
        size_t j = (size_t)(r % (uint64_t)i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

// The training and validation token streams and the position in the data order.
typedef struct TrainData {
    int32_t *train, *val;
    unsigned char *train_mask, *val_mask; // 1: not a target (a control header's token); or NULL
    size_t n_train, n_val;
    uint32_t vocab;
    int B, T;
    size_t windows;   // training windows of T + 1 tokens
    size_t per_epoch; // micro-batches per epoch = windows / B
    uint32_t *perm;   // the order of the current epoch
    uint64_t seed, epoch, cursor, perm_epoch;
} TrainData;

static void data_free(TrainData *d) {
    free(d->train);
    free(d->val);
    free(d->train_mask), free(d->val_mask);
    free(d->perm);
}

// Fills inputs/targets (B, T) with the next micro-batch and advances the position.
static void next_batch(TrainData *d, int *inputs, int *targets) {
    // written so that a cursor from a state.bin near 2^64 cannot wrap past the check
    if (d->cursor > d->windows || d->windows - d->cursor < (uint64_t)d->B)
        d->epoch++, d->cursor = 0;
    if (d->perm_epoch != d->epoch) {
        elm_train_epoch_order(d->perm, d->windows, d->seed, d->epoch);
        d->perm_epoch = d->epoch;
    }
    for (int b = 0; b < d->B; b++) {
        const int32_t *w = d->train + (size_t)d->perm[d->cursor + (uint64_t)b] * (size_t)d->T;
        for (int t = 0; t < d->T; t++) {
            inputs[b * d->T + t] = w[t];
            targets[b * d->T + t] = w[t + 1];
            if (d->train_mask && d->train_mask[(size_t)(w - d->train) + (size_t)t + 1])
                targets[b * d->T + t] = -1; // left out of the loss (mean over the rest)
        }
    }
    d->cursor += (uint64_t)d->B;
}

void elm_train_data_dir(const ElmRun *run, char *dir, size_t cap) {
    if (elm_cfg_path(&run->cfg, "train.data", dir, cap) != 0) elm_run_path(run, "tokens", dir, cap);
}

void elm_train_adamw_from_cfg(const ElmConfig *cfg, ElmAdamW *opt, float *clip) {
    opt->lr = (float)elm_cfg_float(cfg, "train.lr");
    opt->beta1 = (float)elm_cfg_float(cfg, "train.beta1");
    opt->beta2 = (float)elm_cfg_float(cfg, "train.beta2");
    opt->eps = (float)elm_cfg_float(cfg, "train.eps");
    opt->weight_decay = (float)elm_cfg_float(cfg, "train.weight_decay");
    *clip = (float)elm_cfg_float(cfg, "train.grad_clip");
}

// tokens/<split>.mask (tokenize.h) into *mask: one byte for each of the shard's n tokens.
static int load_mask(const char *dir, const char *split, size_t n, unsigned char **mask,
                     ElmError *err) {
    char path[4200];
    size_t len;
    snprintf(path, sizeof path, "%s/%s.mask", dir, split);
    if (!elm_file_exists(path))
        return elm_err(err, "%s: not found (re-run `elm tokenize` with train.condition set)", path);
    if (elm_read_file(path, (char **)mask, &len, err)) return -1;
    if (len != n)
        return elm_err(err, "%s: %zu bytes for the %zu tokens of %s.bin (re-run `elm tokenize`)",
                       path, len, n, split);
    return 0;
}

// The shards, and their masks: mask_train for [train] header_loss = off, mask_val whenever the
// documents carry headers (the validation loss is then over the text's tokens only).
static int load_data(const ElmRun *run, TrainData *d, int B, int T, int mask_train, int mask_val,
                     ElmError *err) {
    char dir[4096], path[4096];
    elm_train_data_dir(run, dir, sizeof dir);
    ElmShardHeader h, hv;
    snprintf(path, sizeof path, "%s/train.bin", dir);
    if (!elm_file_exists(path))
        return elm_err(err, "%s: not found (run `elm tokenize` first, or set train.data)", path);
    if (elm_shard_read(path, &h, &d->train, err)) return -1;
    d->n_train = (size_t)h.n_tokens;
    d->vocab = h.vocab_size;
    d->B = B, d->T = T;
    d->windows = d->n_train > 0 ? (d->n_train - 1) / (size_t)T : 0;
    if (d->windows < (size_t)B)
        return elm_err(err,
                       "%s: %zu tokens make %zu windows of seq_len+1 = %d tokens, fewer "
                       "than batch_size %d",
                       path, d->n_train, d->windows, T + 1, B);
    if (d->windows > UINT32_MAX) return elm_err(err, "%s: too many windows", path);
    d->per_epoch = d->windows / (size_t)B;
    if (!(d->perm = elm_malloc(sizeof(uint32_t) * d->windows, err))) return -1;
    d->perm_epoch = UINT64_MAX;
    snprintf(path, sizeof path, "%s/val.bin", dir);
    if (elm_file_exists(path)) {
        if (elm_shard_read(path, &hv, &d->val, err)) return -1;
        if (hv.vocab_size != h.vocab_size)
            return elm_err(err, "%s: vocab_size %u differs from train.bin's %u", path,
                           hv.vocab_size, h.vocab_size);
        d->n_val = (size_t)hv.n_tokens;
        if (mask_val && load_mask(dir, "val", d->n_val, &d->val_mask, err)) return -1;
    }
    if (mask_train && load_mask(dir, "train", d->n_train, &d->train_mask, err)) return -1;
    return 0;
}

// ---- the log ----------------------------------------------------------------------------

// <run>/train_log.jsonl, open for appending, and the reason of its first failed write: the
// writes stop there, and the loop fails at the next log_check, before a checkpoint can count
// lines the log lost among the ones a resumed run keeps.
typedef struct TrainLog {
    FILE *f;
    char path[4096];
    int err_no; // 0 until a write fails
} TrainLog;

static void log_json(TrainLog *log, cJSON *o) {
    if (!log->f) { // not the writer (a rank but 0)
        cJSON_Delete(o);
        return;
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (log->err_no) {
        free(s);
        return;
    }
    errno = 0;
    if (!s || fputs(s, log->f) == EOF || fputc('\n', log->f) == EOF || fflush(log->f) != 0)
        log->err_no = !s ? ENOMEM : errno ? errno : EIO;
    free(s);
}

static int log_check(const TrainLog *log, ElmError *err) {
    if (!log->err_no) return 0;
    return elm_err(err, "%s: write failed: %s", log->path, strerror(log->err_no));
}

// 1 when the line (without its newline) is a log object whose step is at most keep, 2 when it is
// the line of the checkpoint at keep.
static int log_line_kept(const char *p, size_t n, long long keep) {
    cJSON *o = cJSON_ParseWithLength(p, n);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "step");
    int kept = cJSON_IsNumber(s) && s->valuedouble <= (double)keep;
    if (kept && s->valuedouble == (double)keep && cJSON_GetObjectItemCaseSensitive(o, "checkpoint"))
        kept = 2;
    cJSON_Delete(o);
    return kept;
}

// Keeps the lines of the log up to step `keep` (a resumed run rewrites what the interrupted one
// logged after its checkpoint; a torn or damaged line goes too), or empties it (keep < 0); opens
// it for append. A run resuming its own checkpoint at keep (own_ckpt) gets that checkpoint's
// line back when the interrupted run could not log it (a full disk just after the save).
static int open_log(TrainLog *log, const char *path, long long keep, int own_ckpt, ElmError *err) {
    memset(log, 0, sizeof *log);
    snprintf(log->path, sizeof log->path, "%s", path);
    char *data = NULL;
    size_t n = 0;
    int have_ckpt = 0; // the checkpoint line of step keep is among the lines kept
    if (keep >= 0 && elm_file_exists(path)) {
        if (elm_read_file(path, &data, &n, err)) return -1;
        size_t o = 0;
        for (char *p = data; p < data + n;) {
            char *nl = memchr(p, '\n', (size_t)(data + n - p));
            if (!nl) break; // a torn last line is dropped
            int k = log_line_kept(p, (size_t)(nl - p), keep);
            if (k) {
                memmove(data + o, p, (size_t)(nl + 1 - p));
                o += (size_t)(nl + 1 - p);
                have_ckpt |= k == 2;
            }
            p = nl + 1;
        }
        n = o;
    }
    int rc = elm_write_file_atomic(path, data ? data : "", data ? n : 0, err);
    free(data);
    if (rc) return -1;
    if (!(log->f = fopen(path, "a")))
        return elm_err(err, "%s: cannot append: %s", path, strerror(errno));
    if (keep > 0 && own_ckpt && !have_ckpt) {
        char rel[64];
        snprintf(rel, sizeof rel, "checkpoints/step_%lld", keep);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "step", (double)keep);
        cJSON_AddStringToObject(o, "checkpoint", rel);
        log_json(log, o);
    }
    return log_check(log, err);
}

// The log's lines so far on the disk (before a checkpoint counts them), or its first write error.
static int log_sync(TrainLog *log, ElmError *err) {
    if (!log->f) return 0;
    if (!log->err_no && fsync(fileno(log->f)) != 0 && errno != EINVAL) log->err_no = errno;
    return log_check(log, err);
}

// Closes the log; a failure counts when nothing else failed (rc == 0).
static int log_close(TrainLog *log, int rc, ElmError *err) {
    if (!log->f) return rc;
    errno = 0;
    int bad = fclose(log->f) != 0;
    log->f = NULL;
    if (bad && !log->err_no) log->err_no = errno ? errno : EIO;
    return rc == 0 && log_check(log, err) ? -1 : rc;
}

// ---- checkpoints ------------------------------------------------------------------------

typedef struct TrainCtx {
    ElmRun *run;
    ElmGpt2 m;          // the model on the host: the CPU trains it; the GPU path keeps it for
                        // checkpoints and samples (downloaded when they need it)
    ElmTrainDevice dev; // where the steps run
    TrainData d;
    ElmTrainState st;
    ElmDist *dist;   // NULL: one process
    int rank, ranks; // this process's place: rank 0 alone writes
    int zero;        // ZeRO-1 in use ([train] zero = 1 on several ranks): the moments in z
    ElmTrainZero z;
    char root[4096];
    char vocab_json[4096], merges_txt[4096]; // "" when no vocabulary is known
    int keep_last;
} TrainCtx;

// The moments am and av are the model's, or ZeRO-1's gathered onto rank 0.
static int save_checkpoint(TrainCtx *c, const float *am, const float *av, char *dir_out, size_t cap,
                           ElmError *err) {
    char tmp[4096], p[4096];
    long long step = (long long)c->st.step;
    if (elm_train_device_to_host(&c->dev, err) ||
        elm_checkpoint_begin(c->root, step, tmp, sizeof tmp, err))
        return -1;
    if (elm_hf_save(tmp, &c->m, err)) goto fail;
    if (c->vocab_json[0]) {
        snprintf(p, sizeof p, "%s/vocab.json", tmp);
        if (elm_copy_file(c->vocab_json, p, err)) goto fail;
        snprintf(p, sizeof p, "%s/merges.txt", tmp);
        if (elm_copy_file(c->merges_txt, p, err)) goto fail;
    }
    c->st.adam_t = (uint64_t)c->m.adam_t;
    c->st.n_params = c->m.num_parameters;
    c->st.epoch = c->d.epoch;
    c->st.cursor = c->d.cursor;
    snprintf(p, sizeof p, "%s/state.bin", tmp);
    if (elm_checkpoint_state_write(p, &c->st, am, av, err)) goto fail;
    return elm_checkpoint_commit(c->root, step, tmp, c->keep_last, dir_out, cap, err);
fail:
    elm_err_prefix(err, "checkpoint step %lld", step);
    ElmError ignore;
    elm_rmtree(tmp, &ignore);
    return -1;
}

// Loads a checkpoint folder into c->m and c->st for --resume.
static int load_checkpoint(TrainCtx *c, const char *dir, ElmError *err) {
    char p[4096];
    if (elm_hf_load(dir, &c->m, err)) return -1;
    snprintf(p, sizeof p, "%s/state.bin", dir);
    float *mm = NULL, *vv = NULL;
    if (elm_checkpoint_state_read(p, &c->st, &mm, &vv, err)) return -1;
    if (c->st.step > (uint64_t)LLONG_MAX || c->st.adam_t > (uint64_t)LLONG_MAX) {
        free(mm), free(vv);
        return elm_err(err, "%s: step %llu / adam_t %llu out of range", p,
                       (unsigned long long)c->st.step, (unsigned long long)c->st.adam_t);
    }
    if (c->st.n_params != c->m.num_parameters) {
        free(mm), free(vv);
        return elm_err(err,
                       "%s: holds %llu optimizer values per moment but the model has %zu "
                       "parameters",
                       p, (unsigned long long)c->st.n_params, c->m.num_parameters);
    }
    free(c->m.adam_m);
    free(c->m.adam_v);
    c->m.adam_m = mm;
    c->m.adam_v = vv;
    c->m.adam_t = (long long)c->st.adam_t;
    return 0;
}

// ---- evaluation and samples ----------------------------------------------------------------

// Mean loss over n_batches micro-batches of the validation stream, taken in order from its
// start (the same windows at every evaluation). NAN when the stream holds no window.
static int evaluate(TrainCtx *c, int n_batches, int *inputs, int *targets, float *out,
                    ElmError *err) {
    const TrainData *d = &c->d;
    int T = d->T;
    size_t windows = d->n_val > 1 ? (d->n_val - 1) / (size_t)T : 0;
    *out = NAN;
    if (windows == 0) return 0;
    int B = windows < (size_t)d->B ? (int)windows : d->B;
    double sum = 0;
    size_t w = 0;
    for (int k = 0; k < n_batches; k++) {
        for (int b = 0; b < B; b++, w = (w + 1) % windows)
            for (int t = 0; t < T; t++) {
                inputs[b * T + t] = d->val[w * (size_t)T + (size_t)t];
                targets[b * T + t] = d->val[w * (size_t)T + (size_t)t + 1];
                if (d->val_mask && d->val_mask[w * (size_t)T + (size_t)t + 1])
                    targets[b * T + t] = -1;
            }
        float loss;
        if (elm_train_device_forward(&c->dev, inputs, targets, B, T, &loss, err)) return -1;
        sum += loss;
    }
    *out = (float)(sum / n_batches);
    return 0;
}

static int take_sample(TrainCtx *c, const ElmBpe *bpe, int n_tokens, char **text, ElmError *err) {
    ElmGenParams p;
    if (elm_train_device_to_host(&c->dev, err) || elm_generate_params(c->run, &p, err)) return -1;
    p.mode = ELM_GEN_TWEET;
    p.max_new_tokens = n_tokens;
    p.max_chars = 1 << 30;
    const char *prompt = "";
    uint64_t index = c->st.step;
    ElmGenText t;
    if (elm_generate_batch(&c->m, bpe, &p, &prompt, &index, 1, &t, err)) return -1;
    *text = t.text;
    return 0;
}

// ---- the loop -----------------------------------------------------------------------------

typedef struct TrainCfg {
    int B, T, accum, eval_every, eval_batches, sample_every, sample_tokens, keep_last;
    long long steps, warmup, ckpt_every;
    double epochs;
    float lr, min_lr, clip;
    ElmSchedule sched;
    ElmAdamW opt;
    uint64_t seed;
    int use_cuda;             // train on the GPU
    int zero;                 // [train] zero: ZeRO-1 (in effect on several ranks only)
    int mask_train, mask_val; // leave control headers out of the loss / the validation loss
} TrainCfg;

int elm_train_check_ranks(const ElmConfig *cfg, int ranks, ElmError *err) {
    if (ranks <= 1) return 0;
    long long B = elm_cfg_int(cfg, "train.batch_size");
    if (B % ranks != 0)
        return elm_err(err,
                       "[train] batch_size = %lld does not split over %d ranks: each rank takes "
                       "batch_size / %d rows of every micro-batch, so set a multiple of %d",
                       B, ranks, ranks, ranks);
    int use_cuda;
    if (elm_train_device_choose(cfg, &use_cuda, err)) return -1;
    if (use_cuda)
        return elm_err(err,
                       "[train] device = %s trains on the GPU, which elm does with one rank only "
                       "(this job has %d): set train.device = cpu, or run one rank",
                       elm_cfg_str(cfg, "train.device"), ranks);
    return 0;
}

static int read_cfg(const ElmRun *run, int ranks, TrainCfg *t, ElmError *err) {
    const ElmConfig *c = &run->cfg;
    memset(t, 0, sizeof *t);
    if (elm_train_check_ranks(c, ranks, err)) return -1;
    if (elm_train_device_choose(c, &t->use_cuda, err)) return -1;
    t->B = (int)elm_cfg_int(c, "train.batch_size");
    t->T = (int)elm_cfg_int(c, "train.seq_len");
    t->accum = (int)elm_cfg_int(c, "train.grad_accum");
    t->steps = elm_cfg_int(c, "train.steps");
    t->epochs = elm_cfg_float(c, "train.epochs");
    t->lr = (float)elm_cfg_float(c, "train.lr");
    t->min_lr = (float)elm_cfg_float(c, "train.min_lr");
    t->warmup = elm_cfg_int(c, "train.warmup_steps");
    t->sched = (ElmSchedule)elm_cfg_enum(c, "train.schedule");
    elm_train_adamw_from_cfg(c, &t->opt, &t->clip);
    t->eval_every = (int)elm_cfg_int(c, "train.eval_every");
    t->eval_batches = (int)elm_cfg_int(c, "train.eval_batches");
    t->sample_every = (int)elm_cfg_int(c, "train.sample_every");
    t->sample_tokens = (int)elm_cfg_int(c, "train.sample_tokens");
    t->ckpt_every = elm_cfg_int(c, "train.checkpoint_every");
    t->keep_last = (int)elm_cfg_int(c, "train.keep_last");
    t->zero = (int)elm_cfg_int(c, "train.zero");
    long long seed = elm_cfg_int(c, "train.seed");
    t->seed = seed < 0 ? run->seed : (uint64_t)seed;
    int headers = elm_cfg_enum(c, "train.condition") != 0;
    t->mask_train = headers && !elm_cfg_bool(c, "train.header_loss");
    t->mask_val = headers && !t->use_cuda; // the GPU's loss takes every target
    if (t->mask_train && t->use_cuda)
        return elm_err(err, "train.header_loss = off: the GPU's loss cannot leave targets out; "
                            "set train.device = cpu or header_loss = on");
    if (t->min_lr > t->lr)
        return elm_err(err, "train.min_lr = %g is above train.lr = %g", t->min_lr, t->lr);
    if ((long long)t->B * t->T > (1LL << 31) / 64)
        return elm_err(err, "train.batch_size * train.seq_len = %lld is too large",
                       (long long)t->B * t->T);
    return 0;
}

// On resume the checkpoint's shape must be the one [model] describes.
static int check_model_matches(const ElmRun *run, const ElmGpt2Config *have, const char *from,
                               int vocab, ElmError *err) {
    ElmGpt2Config want;
    if (elm_gpt2_config_from_cfg(&run->cfg, vocab, &want, err)) return -1;
    if (memcmp(&want, have, sizeof want) != 0)
        return elm_err(err,
                       "%s: the checkpoint is n_layer %d, n_head %d, n_embd %d, n_ctx %d, "
                       "vocab %d but [model] describes %d, %d, %d, %d, %d",
                       from, have->n_layer, have->n_head, have->n_embd, have->n_ctx,
                       have->vocab_size, want.n_layer, want.n_head, want.n_embd, want.n_ctx,
                       want.vocab_size);
    return 0;
}

static cJSON *log_obj(long long step) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", (double)step);
    return o;
}

// A float as the shortest text that reads back to the same float (9 significant digits).
static void add_float(cJSON *o, const char *key, float x) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.9g", (double)x);
    if (isfinite(x))
        cJSON_AddRawToObject(o, key, buf);
    else
        cJSON_AddStringToObject(o, key, buf);
}

int elm_train_run(ElmRun *run, ElmError *err) {
    ElmTrainOptions o = {0};
    ElmTrainResult r;
    return elm_train_run_with(run, &o, &r, err);
}

// Opens the model: the checkpoint being resumed (into from), or a fresh one from [model] (from =
// its init folder when it has one); then checks it against the shards and train.seq_len.
static int open_model(ElmRun *run, const ElmTrainOptions *opts, const TrainCfg *tc, TrainCtx *c,
                      char *from, size_t from_cap, ElmError *err) {
    if (opts->resume) {
        if (opts->resume_from && opts->resume_from[0])
            snprintf(from, from_cap, "%s", opts->resume_from);
        else if (elm_checkpoint_latest(c->root, from, from_cap) < 0)
            return elm_err(err, "--resume: no checkpoint under %s", c->root);
        if (load_checkpoint(c, from, err)) return -1;
        ElmTrainState *s = &c->st;
        if (s->batch_size != (uint32_t)tc->B || s->seq_len != (uint32_t)tc->T ||
            s->grad_accum != (uint32_t)tc->accum)
            return elm_err(err,
                           "%s: saved with batch_size %u, seq_len %u, grad_accum %u; resuming "
                           "exactly needs the same (the config says %d, %d, %d)",
                           from, s->batch_size, s->seq_len, s->grad_accum, tc->B, tc->T, tc->accum);
        if (check_model_matches(run, &c->m.config, from, (int)c->d.vocab, err)) return -1;
        if (s->seed != tc->seed)
            return elm_err(err, "%s: saved with data seed %llu but train.seed gives %llu", from,
                           (unsigned long long)s->seed, (unsigned long long)tc->seed);
        c->d.epoch = s->epoch, c->d.cursor = s->cursor;
    } else {
        long long latest = elm_checkpoint_latest(c->root, NULL, 0);
        if (latest >= 0)
            return elm_err(err,
                           "%s already holds step_%lld: pass --resume to continue, or remove "
                           "the folder to start over",
                           c->root, latest);
        if (elm_gpt2_open_from_cfg(&c->m, &run->cfg, (int)c->d.vocab, run->seed, run->threads,
                                   run->quiet, err))
            return -1;
        // Fine-tuning: from names the [model] init folder (the log's "start"); scratch leaves it
        // "".
        if (strcmp(elm_cfg_str(&run->cfg, "model.init"), "scratch") != 0)
            elm_cfg_path(&run->cfg, "model.init", from, from_cap);
        c->st.seed = tc->seed;
        c->st.batch_size = (uint32_t)tc->B, c->st.seq_len = (uint32_t)tc->T;
        c->st.grad_accum = (uint32_t)tc->accum;
    }
    c->m.threads = run->threads;
    c->st.vocab_size = (uint32_t)c->m.config.vocab_size;
    if ((uint32_t)c->m.config.vocab_size < c->d.vocab)
        return elm_err(err, "the token shards use a vocabulary of %u but the model has %d tokens",
                       c->d.vocab, c->m.config.vocab_size);
    if (tc->T > c->m.config.n_ctx)
        return elm_err(err, "train.seq_len = %d is longer than the model's context n_ctx = %d",
                       tc->T, c->m.config.n_ctx);
    return 0;
}

// The vocabulary travels with every checkpoint, so each one is a complete HF folder: the
// tokenizer's, else the resumed checkpoint's (from), else none.
static void find_vocab(const ElmRun *run, TrainCtx *c, const char *from) {
    char vdir[4096];
    if (elm_generate_vocab_dir(run, vdir, sizeof vdir) == 0) {
        snprintf(c->vocab_json, sizeof c->vocab_json, "%s/encoder.json", vdir);
        snprintf(c->merges_txt, sizeof c->merges_txt, "%s/vocab.bpe", vdir);
    } else if (from[0]) {
        snprintf(c->vocab_json, sizeof c->vocab_json, "%s/vocab.json", from);
        snprintf(c->merges_txt, sizeof c->merges_txt, "%s/merges.txt", from);
        if (!elm_file_exists(c->vocab_json) || !elm_file_exists(c->merges_txt))
            c->vocab_json[0] = c->merges_txt[0] = '\0';
    }
}

// Samples need the vocabulary (to decode, and for <|endoftext|> as the start token): without
// it they are off (tc->sample_every = 0) and note says why.
static ElmBpe *load_sample_bpe(TrainCfg *tc, const TrainCtx *c, char *note, size_t cap) {
    ElmBpe *bpe = NULL;
    if (tc->sample_every > 0) {
        ElmError e2;
        if (c->vocab_json[0]) bpe = elm_bpe_load(c->vocab_json, c->merges_txt, &e2);
        if (!bpe)
            snprintf(note, cap, "samples are off: %s",
                     c->vocab_json[0] ? e2.msg : "no tokenizer vocabulary ([tokenizer] vocab)");
        if (!bpe) tc->sample_every = 0;
    }
    return bpe;
}

// The log's first line of this run: where it starts from and what it will do.
static void log_start(TrainLog *log, const ElmRun *run, const ElmTrainOptions *opts,
                      const TrainCtx *c, long long start, const char *from, long long total,
                      size_t tokens_per_step, const char *sample_note) {
    cJSON *o = log_obj(start);
    cJSON_AddStringToObject(o, opts->resume ? "resume" : "start", from[0] ? from : "scratch");
    cJSON_AddNumberToObject(o, "params", (double)c->m.num_parameters);
    cJSON_AddNumberToObject(o, "steps", (double)total);
    cJSON_AddNumberToObject(o, "tokens_per_step", (double)tokens_per_step);
    cJSON_AddNumberToObject(o, "threads", run->threads);
    cJSON_AddNumberToObject(o, "ranks", c->ranks);
    // The optimizer state this rank holds: under ZeRO-1 its shard's moments only.
    size_t state =
        c->zero ? elm_train_zero_state_bytes(&c->z) : 2 * c->m.num_parameters * sizeof(float);
    if (c->zero) cJSON_AddNumberToObject(o, "zero", 1);
    cJSON_AddNumberToObject(o, "optimizer_bytes_per_rank", (double)state);
    cJSON_AddStringToObject(o, "device", c->dev.gpu ? "cuda" : "cpu");
    cJSON_AddStringToObject(o, "precision", elm_cfg_str(&run->cfg, "train.precision"));
    if (sample_note[0]) cJSON_AddStringToObject(o, "note", sample_note);
    log_json(log, o);
}

// What one step measured.
typedef struct StepOut {
    float loss, norm;
    double ms;
} StepOut;

// The targets among n that count in the loss (>= 0; a control header's are -1).
static long long counted(const int *targets, size_t n) {
    long long k = 0;
    for (size_t i = 0; i < n; i++) k += targets[i] >= 0;
    return k;
}

// Forward and backward of this rank's part of micro-batch (B, T), its share of the batch's mean
// loss added to *loss. Alone: the whole batch at scale 1 / accum. Rank r of N takes rows
// [r B/N, (r+1) B/N), whose n_r counted targets of the batch's n weigh n_r / n: summed over the
// ranks, gradients and losses are one process's mean over the whole batch.
static int micro_step(TrainCtx *c, const TrainCfg *tc, const int *inputs, const int *targets,
                      double *loss, ElmError *err) {
    float l;
    if (c->ranks == 1) {
        if (elm_train_device_forward_backward(&c->dev, inputs, targets, tc->B, tc->T,
                                              1.0f / (float)tc->accum, &l, err))
            return -1;
        *loss += l;
        return 0;
    }
    int rows = tc->B / c->ranks;
    size_t off = (size_t)c->rank * (size_t)rows * (size_t)tc->T;
    long long n = counted(targets, (size_t)tc->B * (size_t)tc->T);
    long long mine = counted(targets + off, (size_t)rows * (size_t)tc->T);
    double w = n > 0 ? (double)mine / (double)n : 0;
    if (elm_train_device_forward_backward(&c->dev, inputs + off, targets + off, rows, tc->T,
                                          (float)(w / tc->accum), &l, err))
        return -1;
    *loss += w * l;
    return 0;
}

// The ranks' gradients and losses summed, once every rank's micro-batches went well: each rank
// then holds the gradient of the whole step, bit for bit the same on every one (the all-reduce
// hands every rank the same sum; same_weights checks it), so their clips and updates agree too.
// Under ZeRO-1 a reduce-scatter instead: each rank gets the sum of its shard only.
static int share_step(TrainCtx *c, double *loss, ElmError *err) {
    if (elm_dist_agree(c->dist, 0, err)) return -1;
    if (c->zero ? elm_train_zero_reduce(&c->z, &c->m, err)
                : elm_dist_sum_f32(c->dist, c->m.grads_memory, c->m.num_parameters, err))
        return -1;
    return elm_dist_sum_f64(c->dist, loss, 1, err);
}

// The norm and clip, then the update: of the device, or of this rank's shard (ZeRO-1).
static int clip_step(TrainCtx *c, float max_norm, float *norm, ElmError *err) {
    if (c->zero) return elm_train_zero_clip(&c->z, &c->m, max_norm, norm, err);
    return elm_train_device_clip(&c->dev, max_norm, norm, err);
}

static int update_step(TrainCtx *c, const ElmAdamW *opt, ElmError *err) {
    if (c->zero) return elm_train_zero_update(&c->z, &c->m, opt, err);
    return elm_train_device_update(&c->dev, opt, err);
}

// Step s (0-based) of total: accum micro-batches forward and backward (each rank its rows), the
// gradients summed over the ranks, the clip and the update. A non-finite loss or norm stops
// before the update.
static int train_step(TrainCtx *c, TrainCfg *tc, long long s, long long total, long long last_ckpt,
                      int *inputs, int *targets, StepOut *out, ElmError *err) {
    double t0 = elm_now();
    if (elm_train_device_zero_grad(&c->dev, err)) return -1;
    double loss = 0;
    for (int a = 0; a < tc->accum; a++) {
        next_batch(&c->d, inputs, targets);
        if (micro_step(c, tc, inputs, targets, &loss, err)) return -1;
    }
    if (c->ranks > 1 && share_step(c, &loss, err)) return -1;
    float fl = (float)(loss / tc->accum);
    if (!isfinite(fl)) {
        char note[64] = "no checkpoint was written yet";
        if (last_ckpt >= 0) snprintf(note, sizeof note, "step_%lld is intact", last_ckpt);
        return elm_err(err,
                       "step %lld: the loss is %s; stopped before updating the weights (%s; "
                       "try a lower train.lr)",
                       s + 1, isnan(fl) ? "NaN" : "infinite", note);
    }
    float norm;
    if (clip_step(c, tc->clip, &norm, err)) return -1;
    if (!isfinite(norm))
        return elm_err(err,
                       "step %lld: the gradient norm is %s; stopped before updating the "
                       "weights (try a lower train.lr)",
                       s + 1, isnan(norm) ? "NaN" : "infinite");
    tc->opt.lr = elm_train_lr(tc->sched, tc->lr, tc->min_lr, tc->warmup, total, s);
    if (update_step(c, &tc->opt, err)) return -1;
    c->st.step = (uint64_t)(s + 1);
    c->st.tokens_seen += (uint64_t)((size_t)tc->B * (size_t)tc->T * (size_t)tc->accum);
    out->loss = fl;
    out->norm = norm;
    out->ms = 1000.0 * (elm_now() - t0);
    return 0;
}

// The step's log line and progress line.
static void log_step(TrainLog *log, ElmProgress *prog, const TrainCtx *c, const TrainCfg *tc,
                     long long s, long long start, const StepOut *so, size_t tokens_per_step) {
    double ms = so->ms;
    double tok_s = ms > 0 ? (double)tokens_per_step / (ms / 1000.0) : 0;
    cJSON *o = log_obj(s + 1);
    add_float(o, "loss", so->loss);
    add_float(o, "lr", tc->opt.lr);
    add_float(o, "grad_norm", so->norm);
    cJSON_AddNumberToObject(o, "tokens", (double)c->st.tokens_seen);
    cJSON_AddNumberToObject(o, "epoch", (double)c->d.epoch);
    cJSON_AddNumberToObject(o, "ms", floor(ms * 10 + 0.5) / 10);
    cJSON_AddNumberToObject(o, "tok_per_s", floor(tok_s + 0.5));
    log_json(log, o);
    snprintf(prog->extra, sizeof prog->extra,
             "step %lld  loss %.4f  lr %.2e  norm %.3f  %.0f tok/s", s + 1, so->loss, tc->opt.lr,
             so->norm, tok_s);
    elm_progress_update(prog, (uint64_t)(s + 1 - start));
}

// The evaluation and the sample that fall due after step s (each logged).
static int eval_and_sample(TrainCtx *c, const TrainCfg *tc, const ElmTrainOptions *opts,
                           ElmTrainResult *res, const ElmBpe *bpe, TrainLog *log, long long s,
                           int last, int *inputs, int *targets, ElmError *err) {
    cJSON *o;
    if (tc->eval_every > 0 && ((s + 1) % tc->eval_every == 0 || last)) {
        float vl;
        if (evaluate(c, tc->eval_batches, inputs, targets, &vl, err)) return -1;
        if (!isnan(vl)) {
            res->val_loss = vl;
            o = log_obj(s + 1);
            add_float(o, "val_loss", vl);
            log_json(log, o);
        }
    }
    if (tc->sample_every > 0 && (s + 1) % tc->sample_every == 0) {
        char *text = NULL;
        if (take_sample(c, bpe, tc->sample_tokens, &text, err)) return -1;
        o = log_obj(s + 1);
        cJSON_AddStringToObject(o, "sample", text);
        log_json(log, o);
        if (opts->on_sample) opts->on_sample(opts->ctx, s + 1, text);
        free(text);
    }
    return 0;
}

// The checkpoint of step s + 1, logged.
static int checkpoint_step(TrainCtx *c, ElmTrainResult *res, TrainLog *log, long long s,
                           const float *am, const float *av, ElmError *err) {
    if (log_sync(log, err) ||
        save_checkpoint(c, am, av, res->checkpoint, sizeof res->checkpoint, err))
        return -1;
    char rel[64];
    snprintf(rel, sizeof rel, "checkpoints/step_%lld", s + 1);
    cJSON *o = log_obj(s + 1);
    cJSON_AddStringToObject(o, "checkpoint", rel);
    log_json(log, o);
    return 0;
}

// The ranks agree on how rank 0's evaluation and sample went (rc) and on the stop flag: a stop
// any rank got (mpirun passes a signal to every rank, but not at the same step) stops them all.
static int agree_stop(TrainCtx *c, int rc, int *stopped, ElmError *err) {
    if (elm_dist_agree(c->dist, rc, err)) return -1;
    double any = *stopped;
    if (elm_dist_sum_f64(c->dist, &any, 1, err)) return -1;
    *stopped = any > 0;
    return 0;
}

// Before a checkpoint on several ranks: every rank's weights and moments are rank 0's, bit for
// bit. They are by construction (the same summed gradients, the same update); a difference would
// mean the ranks drifted apart, and the checkpoint (rank 0's) would not be the others' state.
static int same_weights(TrainCtx *c, long long step, ElmError *err) {
    if (elm_train_device_to_host(&c->dev, err)) return -1;
    size_t n = c->m.num_parameters * sizeof(float);
    uint64_t h = elm_hash_bytes(0, c->m.params_memory, n);
    if (c->m.adam_m) h = elm_hash_bytes(elm_hash_bytes(h, c->m.adam_m, n), c->m.adam_v, n);
    uint64_t h0 = h;
    if (elm_dist_bcast(c->dist, &h0, sizeof h0, 0, err)) return -1;
    int rc = h == h0 ? 0
                     : elm_err(err,
                               "step %lld: this rank's weights differ from rank 0's (hash %016llx "
                               "vs %016llx); the ranks drifted apart, no checkpoint written",
                               step, (unsigned long long)h, (unsigned long long)h0);
    return elm_dist_agree(c->dist, rc, err);
}

// After step s: the evaluation, the sample and the checkpoint that fall due (each logged, by
// rank 0 alone); the stop flag is read after the sample, and a stop takes a checkpoint.
static int after_step(TrainCtx *c, const TrainCfg *tc, const ElmTrainOptions *opts,
                      ElmTrainResult *res, const ElmBpe *bpe, TrainLog *log, long long s, int last,
                      int *stopped, long long *last_ckpt, int *inputs, int *targets,
                      ElmError *err) {
    int rc = 0;
    if (c->rank == 0)
        rc = eval_and_sample(c, tc, opts, res, bpe, log, s, last, inputs, targets, err);
    *stopped = opts->stop && *opts->stop;
    if (c->ranks > 1 ? agree_stop(c, rc, stopped, err) : rc) return -1;
    if (!(last || *stopped || (tc->ckpt_every > 0 && (s + 1) % tc->ckpt_every == 0))) return 0;
    if (c->ranks > 1 && same_weights(c, s + 1, err)) return -1;
    float *am = c->m.adam_m, *av = c->m.adam_v; // under ZeRO-1, gathered onto rank 0
    if (c->zero && elm_train_zero_gather(&c->z, &am, &av, err)) return -1;
    if (c->rank == 0) rc = checkpoint_step(c, res, log, s, am, av, err);
    if (c->zero) free(am), free(av);
    if (c->ranks > 1 ? elm_dist_agree(c->dist, rc, err) : rc) return -1;
    *last_ckpt = s + 1;
    return 0;
}

// The rank's state, as every rank reads it alike (no writes): the shards, the model (fresh or
// resumed: the folder it came from into from, see open_model), the device, the vocabulary, and
// the steps the run takes in all into *total.
static int open_all(ElmRun *run, const ElmTrainOptions *opts, TrainCfg *tc, TrainCtx *c, char *from,
                    size_t from_cap, long long *total, ElmBpe **bpe, char *sample_note,
                    size_t note_cap, ElmError *err) {
    if (load_data(run, &c->d, tc->B, tc->T, tc->mask_train, tc->mask_val, err)) return -1;
    c->d.seed = tc->seed;
    if (open_model(run, opts, tc, c, from, from_cap, err) ||
        elm_train_device_open(&c->dev, &c->m, &run->cfg, tc->use_cuda, tc->B, tc->T, err))
        return -1;
    // ZeRO-1 on several ranks (one rank: zero = 1 is zero = 0); each keeps its shard's moments
    c->zero = tc->zero && c->ranks > 1;
    if (c->zero && elm_train_zero_open(&c->z, &c->m, c->dist, err)) return -1;
    // Steps: as configured, or what `epochs` passes over the shard take.
    *total = tc->steps;
    if (*total == 0) *total = (long long)ceil(tc->epochs * (double)c->d.per_epoch / tc->accum);
    if (*total < 1) *total = 1;
    // The vocabulary for the checkpoints and the samples.
    find_vocab(run, c, from);
    *bpe = load_sample_bpe(tc, c, sample_note, note_cap);
    return 0;
}

// Rank 0's writes before the first step: what a killed run left in checkpoints/ goes (as its
// next checkpoint would have removed it), and the log opens with its first line.
static int open_writer(ElmRun *run, const ElmTrainOptions *opts, const TrainCfg *tc, TrainCtx *c,
                       TrainLog *log, const char *from, long long total, const char *sample_note,
                       ElmError *err) {
    long long start = (long long)c->st.step;
    if (elm_checkpoint_tidy(c->root, tc->keep_last, start, err) || elm_run_mkdir(run, err))
        return -1;
    char log_path[4096];
    elm_run_path(run, "train_log.jsonl", log_path, sizeof log_path);
    int own = opts->resume && !(opts->resume_from && opts->resume_from[0]);
    if (open_log(log, log_path, opts->resume ? start : -1, own, err)) return -1;
    size_t tokens_per_step = (size_t)tc->B * (size_t)tc->T * (size_t)tc->accum;
    log_start(log, run, opts, c, start, from, total, tokens_per_step, sample_note);
    return 0;
}

int elm_train_run_with(ElmRun *run, const ElmTrainOptions *opts, ElmTrainResult *res,
                       ElmError *err) {
    TrainCfg tc;
    TrainCtx c;
    memset(&c, 0, sizeof c);
    memset(res, 0, sizeof *res);
    res->loss = res->val_loss = NAN;
    c.run = run;
    c.dist = opts->dist;
    c.rank = elm_dist_rank(c.dist), c.ranks = elm_dist_size(c.dist);
    int rc = -1;
    int *inputs = NULL, *targets = NULL;
    TrainLog log = {0};
    ElmBpe *bpe = NULL;
    char from[4096] = "", sample_note[256] = "";
    long long total = 0;
    if (read_cfg(run, c.ranks, &tc, err)) goto done;
    c.keep_last = tc.keep_last;
    elm_checkpoint_root(run->dir, c.root, sizeof c.root);

    // Every rank reads; once all did, rank 0 alone writes; then the ranks agree again.
    size_t bt = (size_t)tc.B * (size_t)tc.T, tokens_per_step = bt * (size_t)tc.accum;
    int failed = open_all(run, opts, &tc, &c, from, sizeof from, &total, &bpe, sample_note,
                          sizeof sample_note, err) ||
                 !(inputs = elm_malloc(sizeof(int) * bt, err)) ||
                 !(targets = elm_malloc(sizeof(int) * bt, err));
    if (c.ranks > 1 && elm_dist_agree(c.dist, failed ? -1 : 0, err)) goto done;
    if (failed) goto done;
    if (c.rank == 0)
        failed = open_writer(run, opts, &tc, &c, &log, from, total, sample_note, err) != 0;
    if (c.ranks > 1 && elm_dist_agree(c.dist, failed ? -1 : 0, err)) goto done;
    if (failed) goto done;
    long long start = (long long)c.st.step;
    res->first_step = res->step = start;
    res->total = total;

    // The steps, each logged, then its evaluation, sample and checkpoint when due.
    ElmProgress prog;
    elm_progress_start(&prog, "train", "steps", (uint64_t)(total - start), run->quiet);
    long long last_ckpt = opts->resume ? start : -1;
    int stopped = 0;
    for (long long s = start; s < total; s++) {
        StepOut so = {0};
        if (train_step(&c, &tc, s, total, last_ckpt, inputs, targets, &so, err)) goto done;
        res->loss = so.loss;
        res->step = s + 1;
        log_step(&log, &prog, &c, &tc, s, start, &so, tokens_per_step);
        if (after_step(&c, &tc, opts, res, bpe, &log, s, s + 1 == total, &stopped, &last_ckpt,
                       inputs, targets, err))
            goto done;
        if (stopped || log_check(&log, err)) break;
    }
    if (log.err_no) goto done;
    res->stopped = stopped;
    elm_progress_finish(&prog);
    rc = 0;
done:
    rc = log_close(&log, rc, err);
    // The outcome is the job's: a failure any rank met (a NaN every rank met, or rank 0's full
    // disk) is every rank's, reported once by rank 0.
    if (c.ranks > 1 && !elm_dist_broken(c.dist)) rc = elm_dist_agree(c.dist, rc, err);
    if (bpe) elm_bpe_free(bpe);
    free(inputs);
    free(targets);
    data_free(&c.d);
    elm_train_device_close(&c.dev);
    elm_train_zero_close(&c.z);
    elm_gpt2_free(&c.m);
    return rc;
}
