// attribution.c — the account classifier of the personal mix: real tweets by account -> a
// stratified split -> TF-IDF fitted on the train rows -> multinomial NB -> the held-out real
// accuracy (the ceiling) and, per account asked for, the share of generated tweets attributed to
// it, against the unconditioned ones' base rate.
#include "eval/attribution.h"
#include "eval/corpus.h"
#include "eval/gridsearch.h"
#include "eval/metrics.h"
#include "eval/naive_bayes.h"
#include "eval/textfeat.h"
#include "eval/validate_setup.h"
#include "engine/base/fsutil.h"
#include "engine/base/jsonl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int texts_grow(ElmAttrTexts *t, ElmError *err) {
    int cap = t->cap ? 2 * t->cap : 256;
    char **tx = elm_realloc(t->text, sizeof(char *) * (size_t)cap, err);
    if (!tx) return -1;
    t->text = tx;
    char **ac = elm_realloc(t->account, sizeof(char *) * (size_t)cap, err);
    if (!ac) return -1;
    t->account = ac;
    char **kw = elm_realloc(t->keywords, sizeof(char *) * (size_t)cap, err);
    if (!kw) return -1;
    t->keywords = kw;
    double *lp = elm_realloc(t->mean_logprob, sizeof(double) * (size_t)cap, err);
    if (!lp) return -1;
    t->mean_logprob = lp;
    t->cap = cap;
    return 0;
}

static char *dup_or_null(const char *s, int *oom) {
    char *d = s ? strdup(s) : NULL;
    if (s && !d) *oom = 1;
    return d;
}

static int texts_add(ElmAttrTexts *t, const char *text, const char *account, const char *keywords,
                     double mean_logprob, ElmError *err) {
    if (t->n == t->cap && texts_grow(t, err)) return -1;
    int oom = 0;
    t->text[t->n] = dup_or_null(text, &oom);
    t->account[t->n] = dup_or_null(account, &oom);
    t->keywords[t->n] = dup_or_null(keywords, &oom);
    t->mean_logprob[t->n] = mean_logprob;
    if (oom) {
        free(t->text[t->n]), free(t->account[t->n]), free(t->keywords[t->n]);
        return elm_err(err, "out of memory");
    }
    t->n++;
    return 0;
}

int elm_attribution_load(ElmAttrTexts *t, const char *path, ElmError *err) {
    ElmJsonl r;
    if (elm_jsonl_open(&r, path, err)) return -1;
    int rc = 0;
    cJSON *o;
    while (rc == 0 && (o = elm_jsonl_next(&r, err))) {
        const char *text = elm_json_str(o, "text");
        if (!text)
            rc = elm_err(err, "%s:%d: no \"text\" string", path, r.line);
        else
            rc = texts_add(t, text, elm_json_str(o, "account"), elm_json_str(o, "keywords"),
                           elm_json_num(o, "mean_logprob", NAN), err);
        cJSON_Delete(o);
    }
    if (rc == 0 && err->msg[0]) rc = -1; // a malformed line
    elm_jsonl_close(&r);
    return rc;
}

void elm_attribution_texts_free(ElmAttrTexts *t) {
    for (int i = 0; i < t->n; i++) free(t->text[i]), free(t->account[i]), free(t->keywords[i]);
    free(t->text), free(t->account), free(t->keywords), free(t->mean_logprob);
    memset(t, 0, sizeof *t);
}

int elm_attribution_load_generated(const ElmRun *run, ElmAttrTexts *g, ElmError *err) {
    char path[4096];
    if (elm_cfg_path(&run->cfg, "validate.generated", path, sizeof path))
        elm_run_path(run, "generated/tweets.jsonl", path, sizeof path);
    if (!elm_is_dir(path)) return elm_file_exists(path) ? elm_attribution_load(g, path, err) : 0;
    char **paths; // the files validate's corpus reads (eval/corpus.c), in the same order
    int k;
    if (elm_corpus_jsonl_paths(path, &paths, &k, err)) return -1;
    int rc = 0;
    for (int i = 0; i < k; i++) {
        if (rc == 0) rc = elm_attribution_load(g, paths[i], err);
        free(paths[i]);
    }
    free(paths);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// The state of one attribution: real texts and their labels, the split, the model.
typedef struct Attr {
    ElmAttrTexts real, gen;
    const char **names; // sorted distinct accounts of the real tweets
    int C;
    int *y, *is_test;
    ElmTextFeatOpts fo;
    ElmTextFeat tf;
    ElmNaiveBayes nb;
    double *p_real, *p_gen; // (test rows, C), (generated, C)
    int *rows_te, n_te, n_tr;
} Attr;

static int account_index(const Attr *a, const char *name) {
    if (!name) return -1;
    const char **hit = bsearch(&name, a->names, (size_t)a->C, sizeof *a->names, cmp_str);
    return hit ? (int)(hit - a->names) : -1;
}

// The distinct accounts (sorted, as scikit-learn's classes_) and each real text's label.
static int label_accounts(Attr *a, ElmError *err) {
    int n = a->real.n;
    a->names = elm_malloc(sizeof *a->names * (size_t)(n ? n : 1), err);
    a->y = elm_malloc(sizeof *a->y * (size_t)(n ? n : 1), err);
    if (!a->names || !a->y) return -1;
    for (int i = 0; i < n; i++) a->names[i] = a->real.account[i];
    qsort(a->names, (size_t)n, sizeof *a->names, cmp_str);
    a->C = 0;
    for (int i = 0; i < n; i++)
        if (a->C == 0 || strcmp(a->names[a->C - 1], a->names[i]) != 0)
            a->names[a->C++] = a->names[i];
    for (int i = 0; i < n; i++) a->y[i] = account_index(a, a->real.account[i]);
    return 0;
}

// Fits the features and the model on the train rows; the probabilities of the held-out real
// rows and of every generated text.
static int fit_and_score(const ElmRun *run, Attr *a, ElmError *err) {
    int n = a->real.n;
    const char **tr = elm_malloc(sizeof *tr * (size_t)n, err);
    const char **te = elm_malloc(sizeof *te * (size_t)n, err);
    int *ytr = elm_malloc(sizeof *ytr * (size_t)n, err);
    a->rows_te = elm_malloc(sizeof *a->rows_te * (size_t)n, err);
    ElmCsr Xtr = {0}, Xte = {0}, Xg = {0};
    int rc = -1;
    if (!tr || !te || !ytr || !a->rows_te) goto done;
    for (int i = 0; i < n; i++) {
        if (a->is_test[i])
            a->rows_te[a->n_te] = i, te[a->n_te++] = a->real.text[i];
        else
            ytr[a->n_tr] = a->y[i], tr[a->n_tr++] = a->real.text[i];
    }
    if (elm_textfeat_fit(&a->tf, &a->fo, tr, a->n_tr, &Xtr, err) ||
        elm_textfeat_transform(&a->tf, te, a->n_te, &Xte, err) ||
        elm_textfeat_transform(&a->tf, (const char *const *)a->gen.text, a->gen.n, &Xg, err) ||
        elm_nb_fit(&a->nb, ELM_NB_MULTINOMIAL, elm_cfg_float(&run->cfg, "validate.nb.alpha"), &Xtr,
                   ytr, a->C, run->threads, err))
        goto done;
    a->p_real = elm_malloc(sizeof(double) * (size_t)a->C * (size_t)(a->n_te + 1), err);
    a->p_gen = elm_malloc(sizeof(double) * (size_t)a->C * (size_t)(a->gen.n + 1), err);
    if (!a->p_real || !a->p_gen) goto done;
    elm_nb_predict_proba(&a->nb, &Xte, a->p_real, run->threads);
    elm_nb_predict_proba(&a->nb, &Xg, a->p_gen, run->threads);
    rc = 0;
done:
    free(tr), free(te), free(ytr);
    elm_csr_free(&Xtr), elm_csr_free(&Xte), elm_csr_free(&Xg);
    return rc;
}

// "real": the ceiling — held-out accuracy, each account's recall, the confusion matrix (rows:
// true account, columns: predicted).
static void real_json(const Attr *a, cJSON *ja) {
    int C = a->C, *pred = malloc(sizeof *pred * (size_t)(a->n_te + 1));
    long long *cm = calloc((size_t)C * (size_t)C, sizeof *cm);
    cJSON *jr = cJSON_AddObjectToObject(ja, "real");
    cJSON_AddNumberToObject(jr, "train", a->n_tr);
    cJSON_AddNumberToObject(jr, "test", a->n_te);
    if (!pred || !cm) {
        free(pred), free(cm);
        return;
    }
    elm_argmax_rows(a->p_real, a->n_te, C, pred);
    int right = 0;
    for (int i = 0; i < a->n_te; i++) {
        int t = a->y[a->rows_te[i]];
        cm[(size_t)t * C + pred[i]]++;
        right += t == pred[i];
    }
    cJSON_AddNumberToObject(jr, "accuracy", a->n_te ? (double)right / a->n_te : 0);
    cJSON *per = cJSON_AddObjectToObject(jr, "recall");
    cJSON *conf = cJSON_AddArrayToObject(jr, "confusion");
    for (int t = 0; t < C; t++) {
        long long row = 0;
        cJSON *r = cJSON_CreateArray();
        for (int p = 0; p < C; p++) {
            row += cm[(size_t)t * C + p];
            cJSON_AddItemToArray(r, cJSON_CreateNumber((double)cm[(size_t)t * C + p]));
        }
        cJSON_AddItemToArray(conf, r);
        cJSON_AddNumberToObject(per, a->names[t], row ? (double)cm[(size_t)t * C + t] / row : 0);
    }
    free(pred), free(cm);
}

// "generated": per account asked for ("none" = unconditioned, "unknown" = not a real account),
// how many texts and the share attributed to each account; for an asked account, the share
// attributed to it and that share over the unconditioned texts' (lift) when there are some.
static void generated_json(const Attr *a, cJSON *ja) {
    int C = a->C, G = C + 2; // groups: the accounts, none, unknown
    int *pred = malloc(sizeof *pred * (size_t)(a->gen.n + 1));
    long long *cnt = calloc((size_t)G * (size_t)(C + 1), sizeof *cnt); // [group][pred], [C] = total
    if (!pred || !cnt) {
        free(pred), free(cnt);
        return;
    }
    elm_argmax_rows(a->p_gen, a->gen.n, C, pred);
    for (int i = 0; i < a->gen.n; i++) {
        const char *asked = a->gen.account[i];
        int g = asked ? account_index(a, asked) : C;
        if (g < 0) g = C + 1;
        cnt[(size_t)g * (C + 1) + pred[i]]++, cnt[(size_t)g * (C + 1) + C]++;
    }
    cJSON *jg = cJSON_AddObjectToObject(ja, "generated");
    const long long *base = cnt + (size_t)C * (C + 1);
    for (int g = 0; g < G; g++) {
        const long long *row = cnt + (size_t)g * (C + 1);
        if (!row[C]) continue;
        cJSON *e = cJSON_AddObjectToObject(jg, g < C ? a->names[g] : g == C ? "none" : "unknown");
        cJSON_AddNumberToObject(e, "count", (double)row[C]);
        cJSON *to = cJSON_AddObjectToObject(e, "attributed");
        for (int p = 0; p < C; p++)
            cJSON_AddNumberToObject(to, a->names[p], (double)row[p] / row[C]);
        if (g >= C) continue;
        double share = (double)row[g] / row[C];
        cJSON_AddNumberToObject(e, "share_asked", share);
        if (base[C] && base[g])
            cJSON_AddNumberToObject(e, "lift", share / ((double)base[g] / base[C]));
    }
    free(pred), free(cnt);
}

// One line per attributed text: "set" real_test (with its source row) or generated (with its
// index), the account (true or asked), the predicted one and every class's probability.
static int write_rows(const Attr *a, ElmAtomicFile *af) {
    for (int s = 0; s < 2; s++) {
        int n = s == 0 ? a->n_te : a->gen.n;
        for (int i = 0; i < n; i++) {
            const double *p = (s == 0 ? a->p_real : a->p_gen) + (size_t)i * a->C;
            int best = 0;
            for (int k = 1; k < a->C; k++)
                if (p[k] > p[best]) best = k;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "set", s == 0 ? "real_test" : "generated");
            cJSON_AddNumberToObject(o, s == 0 ? "row" : "index", s == 0 ? a->rows_te[i] : i);
            const char *acc = s == 0 ? a->real.account[a->rows_te[i]] : a->gen.account[i];
            if (acc) cJSON_AddStringToObject(o, "account", acc);
            cJSON_AddStringToObject(o, "predicted", a->names[best]);
            cJSON_AddItemToObject(o, "proba", cJSON_CreateDoubleArray(p, a->C));
            char *line = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
            if (!line) return -1;
            fprintf(af->f, "%s\n", line);
            free(line);
        }
    }
    return 0;
}

// Why there is nothing to attribute (NULL when there is): reads the real tweets into a->real.
static const char *load_real(const ElmRun *run, Attr *a, ElmError *err, int *failed) {
    *failed = 0;
    if (elm_cfg_str(&run->cfg, "validate.data")[0])
        return "a labelled [validate] data file names no accounts";
    char path[4096];
    if (elm_cfg_path(&run->cfg, "validate.real", path, sizeof path))
        elm_run_path(run, "clean.jsonl", path, sizeof path);
    ElmAttrTexts all = {0};
    if (elm_attribution_load(&all, path, err)) {
        elm_attribution_texts_free(&all);
        *failed = 1;
        return NULL;
    }
    for (int i = 0; i < all.n && !*failed; i++)
        if (all.account[i] && texts_add(&a->real, all.text[i], all.account[i], NULL, NAN, err))
            *failed = 1;
    elm_attribution_texts_free(&all);
    return NULL;
}

static void attr_free(Attr *a) {
    elm_attribution_texts_free(&a->real);
    elm_attribution_texts_free(&a->gen);
    free(a->names), free(a->y), free(a->is_test), free(a->p_real), free(a->p_gen), free(a->rows_te);
    elm_textfeat_free(&a->tf);
    elm_nb_free(&a->nb);
}

// The model and its figures into ja and the rows into af; a reason to skip into *why instead.
static int attribute(const ElmRun *run, Attr *a, cJSON *ja, ElmAtomicFile *af, const char **why,
                     ElmError *err) {
    int failed;
    *why = load_real(run, a, err, &failed);
    if (failed ||
        (!*why && (label_accounts(a, err) || elm_attribution_load_generated(run, &a->gen, err))))
        return -1;
    if (*why) return 0;
    if (a->C < 2) return *why = "the real tweets come from fewer than two accounts", 0;
    if (elm_validate_feat_opts(&run->cfg, &a->fo, err)) return -1;
    if (!(a->is_test = elm_malloc(sizeof *a->is_test * (size_t)a->real.n, err))) return -1;
    ElmError split_err;
    if (elm_stratified_split(a->y, a->real.n, a->C,
                             elm_cfg_float(&run->cfg, "validate.test_fraction"), run->seed,
                             a->is_test, &split_err))
        return *why = "an account has too few real tweets to hold some out", 0;
    if (fit_and_score(run, a, err)) return -1;
    cJSON *names = cJSON_AddArrayToObject(ja, "accounts");
    for (int k = 0; k < a->C; k++) cJSON_AddItemToArray(names, cJSON_CreateString(a->names[k]));
    real_json(a, ja);
    generated_json(a, ja);
    if (write_rows(a, af)) return elm_err(err, "out of memory writing attribution.jsonl");
    return 0;
}

int elm_attribution_run(const ElmRun *run, cJSON *out, ElmError *err) {
    char dir[4096], path[4200];
    elm_run_path(run, "validate", dir, sizeof dir);
    if (elm_mkdirs(dir, err)) return -1;
    snprintf(path, sizeof path, "%s/attribution.jsonl", dir);
    ElmAtomicFile af;
    if (elm_atomic_open(&af, path, err)) return -1;
    cJSON *ja = cJSON_AddObjectToObject(out, "attribution");
    Attr a = {0};
    const char *why = NULL;
    int rc = attribute(run, &a, ja, &af, &why, err);
    if (rc == 0 && why) cJSON_AddStringToObject(ja, "skipped", why);
    attr_free(&a);
    if (rc) {
        elm_atomic_abort(&af);
        elm_err_prefix(err, "[validate] attribution");
        return -1;
    }
    return elm_atomic_commit(&af, err);
}
