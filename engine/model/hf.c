// hf.c — Hugging Face GPT-2 folders in and out (see hf.h): names, Conv1D transposes, config.json,
// single or sharded model.safetensors. Called by `elm import/export`, checkpoints, [model] init.
#include "engine/model/hf.h"

#include "engine/base/fsutil.h"
#include "engine/model/safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- the name table --------------------------------------------------------------------------

int elm_hf_param_count(const ElmGpt2Config *cfg) {
    return 12 * cfg->n_layer + 4;
}

static size_t tensor_offset(const ElmGpt2Config *cfg, int i) {
    ElmGpt2TensorInfo info;
    elm_gpt2_tensor_info(cfg, i, &info);
    return info.offset;
}

void elm_hf_param(const ElmGpt2Config *cfg, int k, ElmHfParam *p) {
    int L = cfg->n_layer, C = cfg->n_embd;
    memset(p, 0, sizeof *p);
    // elm tensor indices (gpt2.h order)
    enum { WTE, WPE, LN1W, LN1B, QKVW, QKVB, APW, APB, LN2W, LN2B, FCW, FCB, FPW, FPB, LNFW, LNFB };
    if (k < 2 || k >= 2 + 12 * L) {
        int first = k < 2;
        int which = first ? k : k - 2 - 12 * L;
        static const char *names[4] = {"transformer.wte.weight", "transformer.wpe.weight",
                                       "transformer.ln_f.weight", "transformer.ln_f.bias"};
        snprintf(p->name, sizeof p->name, "%s", names[first ? which : 2 + which]);
        int idx = first ? (which ? WPE : WTE) : (which ? LNFB : LNFW);
        p->offset = tensor_offset(cfg, idx);
        if (first) {
            p->rank = 2;
            p->shape[0] = which ? cfg->n_ctx : cfg->vocab_size;
            p->shape[1] = C;
        } else {
            p->rank = 1;
            p->shape[0] = C;
        }
        return;
    }
    int l = (k - 2) / 12, j = (k - 2) % 12;
    static const struct {
        const char *suffix;
        int tensor, in_mult, out_mult; // weights: HF [in_mult*C, out_mult*C]; biases: [out*C]
        int is_weight;
    } t[12] = {
        {"ln_1.weight", LN1W, 0, 1, 0},        {"ln_1.bias", LN1B, 0, 1, 0},
        {"attn.c_attn.weight", QKVW, 1, 3, 1}, {"attn.c_attn.bias", QKVB, 0, 3, 0},
        {"attn.c_proj.weight", APW, 1, 1, 1},  {"attn.c_proj.bias", APB, 0, 1, 0},
        {"ln_2.weight", LN2W, 0, 1, 0},        {"ln_2.bias", LN2B, 0, 1, 0},
        {"mlp.c_fc.weight", FCW, 1, 4, 1},     {"mlp.c_fc.bias", FCB, 0, 4, 0},
        {"mlp.c_proj.weight", FPW, 4, 1, 1},   {"mlp.c_proj.bias", FPB, 0, 1, 0},
    };
    snprintf(p->name, sizeof p->name, "transformer.h.%d.%s", l, t[j].suffix);
    size_t per_layer = (size_t)t[j].out_mult * C * (t[j].is_weight ? (size_t)t[j].in_mult * C : 1);
    p->offset = tensor_offset(cfg, t[j].tensor) + (size_t)l * per_layer;
    if (t[j].is_weight) {
        p->rank = 2;
        p->shape[0] = t[j].in_mult * C;
        p->shape[1] = t[j].out_mult * C;
        p->transposed = 1;
    } else {
        p->rank = 1;
        p->shape[0] = t[j].out_mult * C;
    }
}

static size_t param_numel(const ElmHfParam *p) {
    return (size_t)p->shape[0] * (p->rank == 2 ? (size_t)p->shape[1] : 1);
}

void elm_hf_to_hf(const ElmHfParam *p, const float *params_memory, float *dst) {
    const float *src = params_memory + p->offset;
    if (!p->transposed) {
        memcpy(dst, src, param_numel(p) * sizeof(float));
        return;
    }
    int in = p->shape[0], out = p->shape[1]; // elm (out, in) -> HF [in, out]
    for (int i = 0; i < in; i++)
        for (int o = 0; o < out; o++) dst[(size_t)i * out + o] = src[(size_t)o * in + i];
}

void elm_hf_from_hf(const ElmHfParam *p, const float *src, float *params_memory) {
    float *dst = params_memory + p->offset;
    if (!p->transposed) {
        memcpy(dst, src, param_numel(p) * sizeof(float));
        return;
    }
    int in = p->shape[0], out = p->shape[1]; // HF [in, out] -> elm (out, in)
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++) dst[(size_t)o * in + i] = src[(size_t)i * out + o];
}

// ---- config.json -----------------------------------------------------------------------------

static int json_int(const cJSON *root, const char *key, const char *path, int *out, int required,
                    ElmError *err) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!j || cJSON_IsNull(j)) {
        if (required) return elm_err(err, "%s: missing key \"%s\"", path, key);
        return 1;
    }
    if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) || j->valuedouble < 1 ||
        j->valuedouble > 1e7)
        return elm_err(err, "%s: \"%s\" must be a positive integer", path, key);
    *out = (int)j->valuedouble;
    return 0;
}

int elm_hf_read_config(const char *dir, ElmGpt2Config *cfg, ElmError *err) {
    char path[4096];
    elm_path_join(path, sizeof path, dir, "config.json");
    char *text = NULL;
    size_t n = 0;
    if (elm_read_file(path, &text, &n, err)) return -1;
    cJSON *root = cJSON_ParseWithLength(text, n);
    free(text);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return elm_err(err, "%s: not a JSON object", path);
    }
    int rc = -1;
    memset(cfg, 0, sizeof *cfg);
    if (json_int(root, "n_layer", path, &cfg->n_layer, 1, err) ||
        json_int(root, "n_head", path, &cfg->n_head, 1, err) ||
        json_int(root, "n_embd", path, &cfg->n_embd, 1, err) ||
        json_int(root, "vocab_size", path, &cfg->vocab_size, 1, err))
        goto done;
    int r = json_int(root, "n_positions", path, &cfg->n_ctx, 0, err);
    if (r < 0) goto done;
    if (r == 1 && json_int(root, "n_ctx", path, &cfg->n_ctx, 1, err)) goto done;
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_epsilon");
    if (eps && (!cJSON_IsNumber(eps) || fabs(eps->valuedouble - 1e-5) > 1e-12)) {
        elm_err(err, "%s: layer_norm_epsilon must be 1e-05 (GPT-2's); elm supports no other", path);
        goto done;
    }
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "activation_function");
    if (act && (!cJSON_IsString(act) || (strcmp(act->valuestring, "gelu_new") != 0 &&
                                         strcmp(act->valuestring, "gelu_pytorch_tanh") != 0))) {
        elm_err(err, "%s: activation_function must be gelu_new (the tanh GELU)", path);
        goto done;
    }
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(root, "n_inner");
    if (inner && !cJSON_IsNull(inner) &&
        (!cJSON_IsNumber(inner) || inner->valuedouble != 4.0 * cfg->n_embd)) {
        elm_err(err, "%s: n_inner must be null or 4 * n_embd", path);
        goto done;
    }
    rc = elm_gpt2_config_check(cfg, path, err);
done:
    cJSON_Delete(root);
    return rc;
}

int elm_hf_write_config(const char *dir, const ElmGpt2Config *cfg, ElmError *err) {
    return elm_hf_write_config_eot(dir, cfg, cfg->vocab_size > 50256 ? 50256 : cfg->vocab_size - 1,
                                   err);
}

int elm_hf_write_config_eot(const char *dir, const ElmGpt2Config *cfg, int eos, ElmError *err) {
    char path[4096], text[2048];
    elm_path_join(path, sizeof path, dir, "config.json");
    int n = snprintf(text, sizeof text,
                     "{\n"
                     "  \"activation_function\": \"gelu_new\",\n"
                     "  \"architectures\": [\n    \"GPT2LMHeadModel\"\n  ],\n"
                     "  \"attn_pdrop\": 0.0,\n"
                     "  \"bos_token_id\": %d,\n"
                     "  \"dtype\": \"float32\",\n"
                     "  \"embd_pdrop\": 0.0,\n"
                     "  \"eos_token_id\": %d,\n"
                     "  \"initializer_range\": 0.02,\n"
                     "  \"layer_norm_epsilon\": 1e-05,\n"
                     "  \"model_type\": \"gpt2\",\n"
                     "  \"n_ctx\": %d,\n"
                     "  \"n_embd\": %d,\n"
                     "  \"n_head\": %d,\n"
                     "  \"n_inner\": null,\n"
                     "  \"n_layer\": %d,\n"
                     "  \"n_positions\": %d,\n"
                     "  \"resid_pdrop\": 0.0,\n"
                     "  \"scale_attn_by_inverse_layer_idx\": false,\n"
                     "  \"scale_attn_weights\": true,\n"
                     "  \"tie_word_embeddings\": true,\n"
                     "  \"torch_dtype\": \"float32\",\n"
                     "  \"use_cache\": true,\n"
                     "  \"vocab_size\": %d\n"
                     "}\n",
                     eos, eos, cfg->n_ctx, cfg->n_embd, cfg->n_head, cfg->n_layer, cfg->n_ctx,
                     cfg->vocab_size);
    return elm_write_file_atomic(path, text, (size_t)n, err);
}

// ---- loading ---------------------------------------------------------------------------------

typedef struct {
    ElmSafetensors *files;
    int n_files;
    char index_path[4096];
} Shards;

static void shards_close(Shards *s) {
    for (int i = 0; i < s->n_files; i++) elm_safetensors_close(&s->files[i]);
    free(s->files);
    memset(s, 0, sizeof *s);
}

// Opens model.safetensors, or every shard named by model.safetensors.index.json.
static int shards_open(const char *dir, Shards *s, ElmError *err) {
    memset(s, 0, sizeof *s);
    char single[4096], index[4096];
    elm_path_join(single, sizeof single, dir, "model.safetensors");
    elm_path_join(index, sizeof index, dir, "model.safetensors.index.json");
    if (elm_file_exists(single)) {
        if (!(s->files = elm_calloc(1, sizeof(ElmSafetensors), err))) return -1;
        if (elm_safetensors_open(&s->files[0], single, err)) {
            free(s->files);
            s->files = NULL;
            return -1;
        }
        s->n_files = 1;
        return 0;
    }
    if (!elm_file_exists(index))
        return elm_err(err, "%s: no model.safetensors or model.safetensors.index.json", dir);
    snprintf(s->index_path, sizeof s->index_path, "%s", index);
    char *text = NULL;
    size_t n = 0;
    if (elm_read_file(index, &text, &n, err)) return -1;
    cJSON *root = cJSON_ParseWithLength(text, n);
    free(text);
    const cJSON *map = root ? cJSON_GetObjectItemCaseSensitive(root, "weight_map") : NULL;
    if (!cJSON_IsObject(map)) {
        cJSON_Delete(root);
        return elm_err(err, "%s: no \"weight_map\" object", index);
    }
    int cap = cJSON_GetArraySize(map);
    s->files = elm_calloc(cap ? cap : 1, sizeof(ElmSafetensors), err);
    if (!s->files) {
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *it;
    int rc = 0;
    cJSON_ArrayForEach(it, map) {
        if (!cJSON_IsString(it) || strchr(it->valuestring, '/')) {
            rc = elm_err(err, "%s: weight_map entry '%s' is not a file name in the folder", index,
                         it->string);
            break;
        }
        char shard[4096];
        elm_path_join(shard, sizeof shard, dir, it->valuestring);
        int seen = 0;
        for (int i = 0; i < s->n_files && !seen; i++) seen = strcmp(s->files[i].path, shard) == 0;
        if (seen) continue;
        if (elm_safetensors_open(&s->files[s->n_files], shard, err)) {
            rc = -1;
            break;
        }
        s->n_files++;
    }
    cJSON_Delete(root);
    if (rc) shards_close(s);
    return rc;
}

// Finds an HF tensor by its full name or without the "transformer." prefix.
static const ElmStTensor *shards_find(const Shards *s, const char *name,
                                      const ElmSafetensors **file) {
    const char *bare = strncmp(name, "transformer.", 12) == 0 ? name + 12 : name;
    for (int i = 0; i < s->n_files; i++) {
        const ElmStTensor *t = elm_safetensors_find(&s->files[i], name);
        if (!t) t = elm_safetensors_find(&s->files[i], bare);
        if (t) {
            *file = &s->files[i];
            return t;
        }
    }
    return NULL;
}

// Buffers old checkpoints carry that are not parameters.
static int is_skippable(const char *name) {
    const char *dot = strrchr(name, '.');
    if (strcmp(name, "lm_head.weight") == 0) return 1;
    return dot && strstr(name, ".attn.") &&
           (strcmp(dot, ".bias") == 0 || strcmp(dot, ".masked_bias") == 0) &&
           !strstr(name, "c_attn") && !strstr(name, "c_proj");
}

int elm_hf_load_weights(const char *dir, ElmGpt2 *m, ElmError *err) {
    Shards s;
    if (shards_open(dir, &s, err)) return -1;
    const ElmGpt2Config *cfg = &m->config;
    int count = elm_hf_param_count(cfg), rc = 0;
    size_t total = 0;
    for (int i = 0; i < s.n_files; i++) total += s.files[i].n_tensors;
    char *used = elm_calloc(total ? total : 1, 1, err);
    float *tmp = NULL;
    size_t tmp_cap = 0;
    if (!used) rc = -1;
    for (int k = 0; k < count && !rc; k++) {
        ElmHfParam p;
        elm_hf_param(cfg, k, &p);
        const ElmSafetensors *f = NULL;
        const ElmStTensor *t = shards_find(&s, p.name, &f);
        if (!t) {
            rc = elm_err(err, "%s: tensor '%s' is missing",
                         s.n_files == 1 ? s.files[0].path : s.index_path, p.name);
            break;
        }
        size_t base = 0;
        for (int i = 0; &s.files[i] != f; i++) base += s.files[i].n_tensors;
        used[base + (size_t)(t - f->tensors)] = 1;
        int64_t shape[2] = {p.shape[0], p.shape[1]};
        if (elm_safetensors_check_shape(f, t, p.rank, shape, err)) {
            rc = -1;
            break;
        }
        size_t n = param_numel(&p);
        if (n > tmp_cap) {
            free(tmp);
            tmp = elm_malloc(n * sizeof(float), err);
            tmp_cap = tmp ? n : 0;
            if (!tmp) {
                rc = -1;
                break;
            }
        }
        if (elm_safetensors_read_f32(f, t, tmp, n, err)) {
            rc = -1;
            break;
        }
        elm_hf_from_hf(&p, tmp, m->params_memory);
    }
    // Every tensor in the files must be a parameter or a known buffer.
    size_t idx = 0;
    for (int i = 0; i < s.n_files && !rc; i++) {
        for (int j = 0; j < s.files[i].n_tensors && !rc; j++, idx++) {
            const char *name = s.files[i].tensors[j].name;
            if (!used[idx] && !is_skippable(name))
                rc = elm_err(err,
                             "%s: tensor '%s' is not part of a GPT-2 with this config "
                             "(n_layer %d)",
                             s.files[i].path, name, cfg->n_layer);
        }
    }
    free(tmp);
    free(used);
    shards_close(&s);
    return rc;
}

int elm_hf_load(const char *dir, ElmGpt2 *m, ElmError *err) {
    ElmGpt2Config cfg;
    memset(m, 0, sizeof *m);
    if (elm_hf_read_config(dir, &cfg, err)) return -1;
    if (elm_gpt2_init(m, &cfg, err)) return -1;
    if (elm_hf_load_weights(dir, m, err)) {
        elm_gpt2_free(m);
        return -1;
    }
    return 0;
}

// ---- saving ----------------------------------------------------------------------------------

int elm_hf_save(const char *dir, const ElmGpt2 *m, ElmError *err) {
    if (elm_mkdirs(dir, err)) return -1;
    const ElmGpt2Config *cfg = &m->config;
    int count = elm_hf_param_count(cfg);
    ElmStWrite *w = calloc(count, sizeof *w);
    ElmHfParam *ps = calloc(count, sizeof *ps);
    float *buf = malloc(m->num_parameters * sizeof(float));
    if (!w || !ps || !buf) {
        free(w);
        free(ps);
        free(buf);
        return elm_err(err, "out of memory for saving %zu parameters", m->num_parameters);
    }
    size_t at = 0;
    for (int k = 0; k < count; k++) {
        elm_hf_param(cfg, k, &ps[k]);
        elm_hf_to_hf(&ps[k], m->params_memory, buf + at);
        w[k].name = ps[k].name;
        w[k].data = buf + at;
        w[k].rank = ps[k].rank;
        w[k].shape[0] = ps[k].shape[0];
        w[k].shape[1] = ps[k].shape[1];
        at += param_numel(&ps[k]);
    }
    char path[4096];
    elm_path_join(path, sizeof path, dir, "model.safetensors");
    const char *mk[] = {"format"}, *mv[] = {"pt"};
    int rc = elm_safetensors_write(path, w, count, mk, mv, 1, err);
    free(w);
    free(ps);
    free(buf);
    if (rc) return -1;
    return elm_hf_write_config(dir, cfg, err);
}

// ---- the tokenizer files ---------------------------------------------------------------------

static int copy_file(const char *from, const char *dir, const char *name, ElmError *err) {
    char to[4096];
    elm_path_join(to, sizeof to, dir, name);
    return elm_copy_file(from, to, err);
}

static int write_text(const char *dir, const char *name, const char *text, ElmError *err) {
    char path[4096];
    elm_path_join(path, sizeof path, dir, name);
    return elm_write_file_atomic(path, text, strlen(text), err);
}

#define ADDED_EOT                                                                                  \
    "{\n"                                                                                          \
    "    \"content\": \"<|endoftext|>\",\n"                                                        \
    "    \"lstrip\": false,\n"                                                                     \
    "    \"normalized\": true,\n"                                                                  \
    "    \"rstrip\": false,\n"                                                                     \
    "    \"single_word\": false\n"                                                                 \
    "  }"

// transformers' GPT2Tokenizer.save_pretrained output (4.57; tokenizer_config.json and
// special_tokens_map.json are byte for byte its files): <|endoftext|> is the one added
// (special) token and stands for bos, eos and unk.
int elm_hf_save_tokenizer(const char *dir, const ElmGpt2Config *cfg, const char *vocab_json,
                          const char *merges_txt, int eot, ElmError *err) {
    char tok[2048], gen[512];
    snprintf(tok, sizeof tok,
             "{\n"
             "  \"add_bos_token\": false,\n"
             "  \"add_prefix_space\": false,\n"
             "  \"added_tokens_decoder\": {\n"
             "    \"%d\": {\n"
             "      \"content\": \"<|endoftext|>\",\n"
             "      \"lstrip\": false,\n"
             "      \"normalized\": true,\n"
             "      \"rstrip\": false,\n"
             "      \"single_word\": false,\n"
             "      \"special\": true\n"
             "    }\n"
             "  },\n"
             "  \"bos_token\": \"<|endoftext|>\",\n"
             "  \"clean_up_tokenization_spaces\": false,\n"
             "  \"eos_token\": \"<|endoftext|>\",\n"
             "  \"errors\": \"replace\",\n"
             "  \"extra_special_tokens\": {},\n"
             "  \"model_max_length\": %d,\n"
             "  \"pad_token\": null,\n"
             "  \"tokenizer_class\": \"GPT2Tokenizer\",\n"
             "  \"unk_token\": \"<|endoftext|>\"\n"
             "}\n",
             eot, cfg->n_ctx);
    snprintf(gen, sizeof gen,
             "{\n"
             "  \"_from_model_config\": true,\n"
             "  \"bos_token_id\": %d,\n"
             "  \"eos_token_id\": %d\n"
             "}\n",
             eot, eot);
    // Each special token as transformers 4.57 writes an AddedToken.
    static const char special[] = "{\n"
                                  "  \"bos_token\": " ADDED_EOT ",\n"
                                  "  \"eos_token\": " ADDED_EOT ",\n"
                                  "  \"unk_token\": " ADDED_EOT "\n"
                                  "}\n";
    if (copy_file(vocab_json, dir, "vocab.json", err) ||
        copy_file(merges_txt, dir, "merges.txt", err) ||
        write_text(dir, "tokenizer_config.json", tok, err) ||
        write_text(dir, "special_tokens_map.json", special, err) ||
        write_text(dir, "generation_config.json", gen, err))
        return -1;
    return elm_hf_write_config_eot(dir, cfg, eot, err);
}
