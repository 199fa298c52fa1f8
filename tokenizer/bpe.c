// bpe.c — GPT-2 byte-level BPE with tiktoken's exact rules (see bpe.h).
//
// Encoding a text: pre-tokenise (pretok.c), then for each piece
//   1. the whole piece is a token -> that token (tiktoken does this before any merging);
//   2. else the per-worker cache of recent pieces;
//   3. else BPE: start from single bytes and repeatedly merge the adjacent pair whose
//      concatenation is the lowest-ranked token, the leftmost pair on a tie.
// "Rank" is the position of the token's merge in vocab.bpe. Like tiktoken, any adjacent pair
// whose bytes concatenate to a mergeable token can merge (not only the pair its merge line
// names), so the pair table holds every split of every merged token.
#include "tokenizer/bpe.h"
#include "engine/base/hash.h"
#include "tokenizer/byteunicode.h"
#include "tokenizer/pretok.h"
#include "engine/base/fsutil.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define NO_RANK UINT32_MAX
#define EOT_TEXT "<|endoftext|>"
#define HEAP_FROM 48      // pieces longer than this merge through a heap
#define CACHE_SLOTS 32768 // per worker
#define CACHE_KEY_MAX 64  // longest piece cached

struct ElmBpe {
    int n_vocab, eot;
    char *blob;     // all token bytes
    uint32_t *off;  // token id -> blob offset (n_vocab + 1 entries)
    uint32_t *rank; // token id -> merge rank (bytes 0..255 by byte order, NO_RANK if unmerged)
    int32_t byte_id[256];
    uint32_t *tok_slot; // hash of mergeable tokens' bytes: id + 1, 0 = empty
    uint64_t tok_mask;
    uint64_t *pair_key; // (left << 32 | right), UINT64_MAX = empty
    uint64_t *pair_val; // (rank << 32 | merged id)
    uint64_t pair_mask;
    ElmPretok pt;
};

static uint64_t hash_bytes(const void *data, size_t n) {
    return elm_hash_key(0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full), data, n);
}

static uint64_t hash_pair(uint64_t key) {
    key *= 0x9E3779B97F4A7C15ull;
    return key ^ (key >> 31);
}

static int32_t find_token(const ElmBpe *b, const char *p, size_t n, uint64_t h) {
    for (uint64_t s = h & b->tok_mask;; s = (s + 1) & b->tok_mask) {
        uint32_t v = b->tok_slot[s];
        if (!v) return -1;
        uint32_t id = v - 1;
        if (b->off[id + 1] - b->off[id] == n && memcmp(b->blob + b->off[id], p, n) == 0)
            return (int32_t)id;
    }
}

static void add_token(ElmBpe *b, int32_t id) {
    size_t n = b->off[id + 1] - b->off[id];
    uint64_t s = hash_bytes(b->blob + b->off[id], n) & b->tok_mask;
    while (b->tok_slot[s]) s = (s + 1) & b->tok_mask;
    b->tok_slot[s] = (uint32_t)id + 1;
}

// Rank of merging tokens l and r (NO_RANK when their bytes are not a mergeable token); the
// merged id goes to *mid.
static inline uint32_t pair_rank(const ElmBpe *b, int32_t l, int32_t r, int32_t *mid) {
    uint64_t key = ((uint64_t)(uint32_t)l << 32) | (uint32_t)r;
    for (uint64_t s = hash_pair(key) & b->pair_mask;; s = (s + 1) & b->pair_mask) {
        uint64_t k = b->pair_key[s];
        if (k == key) {
            *mid = (int32_t)(uint32_t)b->pair_val[s];
            return (uint32_t)(b->pair_val[s] >> 32);
        }
        if (k == UINT64_MAX) return NO_RANK;
    }
}

static void add_pair(ElmBpe *b, int32_t l, int32_t r, uint32_t rank, int32_t mid) {
    uint64_t key = ((uint64_t)(uint32_t)l << 32) | (uint32_t)r;
    uint64_t s = hash_pair(key) & b->pair_mask;
    while (b->pair_key[s] != UINT64_MAX && b->pair_key[s] != key) s = (s + 1) & b->pair_mask;
    b->pair_key[s] = key;
    b->pair_val[s] = ((uint64_t)rank << 32) | (uint32_t)mid;
}

static uint64_t pow2_above(uint64_t n) {
    uint64_t c = 1024;
    while (c < 2 * n) c <<= 1;
    return c;
}

void elm_bpe_free(ElmBpe *b) {
    if (!b) return;
    if (b->pt.code) elm_pretok_free(&b->pt);
    free(b->blob), free(b->off), free(b->rank), free(b->tok_slot);
    free(b->pair_key), free(b->pair_val);
    free(b);
}

static int line_of(const char *data, const char *at) {
    int line = 1;
    for (const char *p = data; p < at; p++) line += *p == '\n';
    return line;
}

// encoder.json -> token bytes by id (dense ids 0..N-1, no token twice).
static int load_encoder(ElmBpe *b, const char *path, ElmError *err) {
    char *data;
    size_t n;
    if (elm_read_file(path, &data, &n, err)) return -1;
    // n + 1: the parser must reach the terminating NUL, so trailing garbage is an error too.
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(data, n + 1, &end, 1);
    if (!root) {
        const char *at = end;
        int line = at && at >= data && at <= data + n ? line_of(data, at) : 0;
        free(data);
        return elm_err(err, "%s:%d: not valid JSON (near byte %zu)", path, line,
                       at && at >= data && at <= data + n ? (size_t)(at - data) : (size_t)0);
    }
    int rc = -1, count = cJSON_GetArraySize(root);
    const cJSON **by_id = NULL;
    if (!cJSON_IsObject(root) || count == 0) {
        elm_err(err, "%s: expected a JSON object of token -> id", path);
        goto out;
    }
    by_id = calloc((size_t)count, sizeof *by_id);
    size_t total = 0;
    for (const cJSON *it = root->child; it; it = it->next) {
        double v = it->valuedouble;
        if (!cJSON_IsNumber(it) || !(v >= 0 && v <= 2147483647.0) || v != (double)(long)v) {
            elm_err(err, "%s: token \"%.80s\" has id %s, not a non-negative integer", path,
                    it->string, cJSON_IsNumber(it) ? "out of range" : "that is not a number");
            goto out;
        }
        int id = (int)v;
        if (id >= count) {
            elm_err(err, "%s: token \"%.80s\" has id %d but the %d tokens need ids 0..%d", path,
                    it->string, id, count, count - 1);
            goto out;
        }
        if (by_id[id]) {
            elm_err(err, "%s: id %d is given to both \"%.80s\" and \"%.80s\"", path, id,
                    by_id[id]->string, it->string);
            goto out;
        }
        by_id[id] = it;
        total += strlen(it->string);
    }
    b->n_vocab = count;
    b->blob = malloc(total + 1);
    b->off = malloc(sizeof(uint32_t) * ((size_t)count + 1));
    b->rank = malloc(sizeof(uint32_t) * (size_t)count);
    b->tok_mask = pow2_above((uint64_t)count) - 1;
    b->tok_slot = calloc(b->tok_mask + 1, sizeof(uint32_t));
    if (!b->blob || !b->off || !b->rank || !b->tok_slot) {
        elm_err(err, "%s: out of memory", path);
        goto out;
    }
    uint32_t o = 0;
    b->eot = -1;
    for (int id = 0; id < count; id++) {
        const char *s = by_id[id]->string;
        b->off[id] = o;
        b->rank[id] = NO_RANK;
        long len = elm_gpt2_to_bytes(s, strlen(s), (unsigned char *)b->blob + o);
        if (len < 0) {
            elm_err(err,
                    "%s: token \"%.80s\" (id %d) has a character outside GPT-2's byte "
                    "alphabet",
                    path, s, id);
            goto out;
        }
        if (strcmp(s, EOT_TEXT) == 0) b->eot = id;
        o += (uint32_t)len;
    }
    b->off[count] = o;
    rc = 0;
out:
    free(by_id);
    cJSON_Delete(root);
    free(data);
    return rc;
}

// Finds any token (mergeable or not) by bytes: only used while loading.
static int32_t find_any(const ElmBpe *b, const uint64_t *slots, uint64_t mask, const char *p,
                        size_t n) {
    for (uint64_t s = hash_bytes(p, n) & mask;; s = (s + 1) & mask) {
        if (!slots[s]) return -1;
        uint32_t id = (uint32_t)slots[s] - 1;
        if (b->off[id + 1] - b->off[id] == n && memcmp(b->blob + b->off[id], p, n) == 0)
            return (int32_t)id;
    }
}

// vocab.bpe -> ranks; then the tables encoding needs.
// Every token by bytes into all (to resolve merge lines and to catch a token given twice), and
// the 256 byte tokens at rank 0.
static int index_tokens(ElmBpe *b, uint64_t *all, uint64_t amask, const char *enc_path,
                        ElmError *err) {
    for (int id = 0; id < b->n_vocab; id++) {
        const char *p = b->blob + b->off[id];
        size_t len = b->off[id + 1] - b->off[id];
        int32_t twin = find_any(b, all, amask, p, len);
        if (twin >= 0)
            return elm_err(err, "%s: ids %d and %d are the same bytes", enc_path, twin, id);
        uint64_t s = hash_bytes(p, len) & amask;
        while (all[s]) s = (s + 1) & amask;
        all[s] = (uint64_t)id + 1;
    }
    for (int c = 0; c < 256; c++) {
        char byte = (char)c;
        b->byte_id[c] = find_any(b, all, amask, &byte, 1);
        if (b->byte_id[c] < 0)
            return elm_err(err,
                           "%s: no token for byte 0x%02X (a byte-level vocabulary needs all 256)",
                           enc_path, c);
        b->rank[b->byte_id[c]] = 0;
        add_token(b, b->byte_id[c]);
    }
    return 0;
}

// The merge lines of data (n bytes): each merged token gets the next rank, from 256 on. tmp
// holds n + 1 bytes.
static int read_merge_lines(ElmBpe *b, char *data, size_t n, const uint64_t *all, uint64_t amask,
                            unsigned char *tmp, const char *path, const char *enc_path,
                            ElmError *err) {
    uint32_t rank = 256;
    int line = 0;
    for (char *p = data, *end = data + n; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        line++;
        size_t len = (size_t)(e - p);
        if (len && p[len - 1] == '\r') len--;
        char *sp = memchr(p, ' ', len);
        if (len == 0 || (line == 1 && p[0] == '#')) {
            // header "#version: 0.2" or an empty line
        } else if (!sp || sp == p || sp + 1 == p + len ||
                   memchr(sp + 1, ' ', len - (size_t)(sp + 1 - p))) {
            return elm_err(err,
                           "%s:%d: a merge line is two tokens separated by one space: \"%.*s\"",
                           path, line, (int)(len > 80 ? 80 : len), p);
        } else {
            long la = elm_gpt2_to_bytes(p, (size_t)(sp - p), tmp);
            long lb = la < 0 ? -1 : elm_gpt2_to_bytes(sp + 1, (size_t)(p + len - sp - 1), tmp + la);
            int32_t l = la < 0 ? -1 : find_any(b, all, amask, (char *)tmp, (size_t)la);
            int32_t r = lb < 0 ? -1 : find_any(b, all, amask, (char *)tmp + la, (size_t)lb);
            int32_t m =
                la < 0 || lb < 0 ? -1 : find_any(b, all, amask, (char *)tmp, (size_t)(la + lb));
            if (l < 0 || r < 0 || m < 0) {
                const char *what = l < 0   ? "its first token"
                                   : r < 0 ? "its second token"
                                           : "the merged token";
                return elm_err(err, "%s:%d: merge \"%.*s\": %s is not in %s", path, line,
                               (int)(len > 80 ? 80 : len), p, what, enc_path);
            }
            if (b->rank[m] != NO_RANK)
                return elm_err(err,
                               "%s:%d: merge \"%.*s\" makes a token that already has rank %u "
                               "(duplicate rank)",
                               path, line, (int)(len > 80 ? 80 : len), p, b->rank[m]);
            b->rank[m] = rank++;
            add_token(b, m);
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

// Every split of every merged token into two mergeable tokens is a pair that can merge.
static int build_pairs(ElmBpe *b, const char *path, ElmError *err) {
    size_t n_pairs = 0;
    for (int id = 0; id < b->n_vocab; id++)
        if (b->rank[id] != NO_RANK) n_pairs += b->off[id + 1] - b->off[id] - 1;
    b->pair_mask = pow2_above(n_pairs) - 1;
    b->pair_key = malloc((b->pair_mask + 1) * sizeof(uint64_t));
    b->pair_val = malloc((b->pair_mask + 1) * sizeof(uint64_t));
    if (!b->pair_key || !b->pair_val) return elm_err(err, "%s: out of memory", path);
    memset(b->pair_key, 0xFF, (b->pair_mask + 1) * sizeof(uint64_t));
    for (int id = 0; id < b->n_vocab; id++) {
        if (b->rank[id] == NO_RANK || b->off[id + 1] - b->off[id] < 2) continue;
        const char *p = b->blob + b->off[id];
        size_t len = b->off[id + 1] - b->off[id];
        for (size_t s = 1; s < len; s++) {
            int32_t l = find_token(b, p, s, hash_bytes(p, s));
            int32_t r = find_token(b, p + s, len - s, hash_bytes(p + s, len - s));
            if (l >= 0 && r >= 0) add_pair(b, l, r, b->rank[id], id);
        }
    }
    return 0;
}

static int load_merges(ElmBpe *b, const char *path, const char *enc_path, ElmError *err) {
    char *data;
    size_t n;
    if (elm_read_file(path, &data, &n, err)) return -1;
    int rc = -1;
    uint64_t amask = pow2_above((uint64_t)b->n_vocab) - 1;
    uint64_t *all = calloc(amask + 1, sizeof *all);
    unsigned char *tmp = malloc(n + 1);
    if (!all || !tmp) {
        elm_err(err, "%s: out of memory", path);
        goto out;
    }
    if (index_tokens(b, all, amask, enc_path, err) ||
        read_merge_lines(b, data, n, all, amask, tmp, path, enc_path, err) ||
        build_pairs(b, path, err))
        goto out;
    rc = 0;
out:
    free(all), free(tmp), free(data);
    return rc;
}

ElmBpe *elm_bpe_load(const char *encoder_json, const char *vocab_bpe, ElmError *err) {
    ElmBpe *b = elm_calloc(1, sizeof *b, err);
    if (!b) return NULL;
    if (load_encoder(b, encoder_json, err) || load_merges(b, vocab_bpe, encoder_json, err) ||
        elm_pretok_init(&b->pt, err)) {
        elm_bpe_free(b);
        return NULL;
    }
    return b;
}

ElmBpe *elm_bpe_load_dir(const char *dir, ElmError *err) {
    char enc[4096], merges[4096];
    elm_path_join(enc, sizeof enc, dir, "encoder.json");
    elm_path_join(merges, sizeof merges, dir, "vocab.bpe");
    if (!elm_is_dir(dir)) return elm_err(err, "%s: vocabulary folder not found", dir), NULL;
    return elm_bpe_load(enc, merges, err);
}

int elm_bpe_vocab_size(const ElmBpe *b) {
    return b->n_vocab;
}
int elm_bpe_eot(const ElmBpe *b) {
    return b->eot;
}

const char *elm_bpe_token_bytes(const ElmBpe *b, int32_t id, size_t *len) {
    if (id < 0 || id >= b->n_vocab) return NULL;
    *len = b->off[id + 1] - b->off[id];
    return b->blob + b->off[id];
}

char *elm_bpe_decode(const ElmBpe *b, const int32_t *ids, size_t n, size_t *n_out, ElmError *err) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= b->n_vocab) {
            elm_err(err, "token id %d (position %zu) is outside the vocabulary (0..%d)", ids[i], i,
                    b->n_vocab - 1);
            return NULL;
        }
        total += b->off[ids[i] + 1] - b->off[ids[i]];
    }
    char *out = malloc(total + 1);
    if (!out) return elm_err(err, "out of memory decoding %zu tokens", n), NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = b->off[ids[i] + 1] - b->off[ids[i]];
        memcpy(out + o, b->blob + b->off[ids[i]], len);
        o += len;
    }
    out[o] = '\0';
    *n_out = o;
    return out;
}

// ---- BPE merging of one piece ----

// Scratch for merging pieces up to `cap` bytes.
typedef struct Scratch {
    size_t cap;
    int32_t *id, *mid, *next, *prev;
    uint32_t *rank;
    struct HeapItem *heap;
} Scratch;

typedef struct HeapItem {
    uint32_t rank, pos; // pos: byte offset where the left part starts (leftmost wins a tie)
    int32_t l, r;
} HeapItem;

static int scratch_reserve(Scratch *s, size_t n) {
    if (n <= s->cap) return 0;
    size_t c = s->cap ? s->cap : 64;
    while (c < n) c *= 2;
    int32_t *id = realloc(s->id, c * sizeof *id);
    if (id) s->id = id;
    int32_t *mid = realloc(s->mid, c * sizeof *mid);
    if (mid) s->mid = mid;
    int32_t *nx = realloc(s->next, c * sizeof *nx);
    if (nx) s->next = nx;
    int32_t *pv = realloc(s->prev, c * sizeof *pv);
    if (pv) s->prev = pv;
    uint32_t *rk = realloc(s->rank, c * sizeof *rk);
    if (rk) s->rank = rk;
    HeapItem *hp = realloc(s->heap, 3 * c * sizeof *hp);
    if (hp) s->heap = hp;
    if (!id || !mid || !nx || !pv || !rk || !hp) return -1;
    s->cap = c;
    return 0;
}

static void scratch_free(Scratch *s) {
    free(s->id), free(s->mid), free(s->next), free(s->prev), free(s->rank), free(s->heap);
    memset(s, 0, sizeof *s);
}

// tiktoken's loop: scan for the lowest rank, merge, rescore the two neighbours. O(n^2) but
// fastest for the short pieces that are nearly all of real text.
static size_t merge_scan(const ElmBpe *b, const unsigned char *p, size_t n, Scratch *s,
                         int32_t *out) {
    int32_t *id = s->id, *mid = s->mid;
    uint32_t *rank = s->rank;
    for (size_t i = 0; i < n; i++) id[i] = b->byte_id[p[i]];
    for (size_t i = 0; i + 1 < n; i++) rank[i] = pair_rank(b, id[i], id[i + 1], &mid[i]);
    size_t m = n;
    while (m > 1) {
        uint32_t best = NO_RANK;
        size_t bi = 0;
        for (size_t i = 0; i + 1 < m; i++)
            if (rank[i] < best) best = rank[i], bi = i;
        if (best == NO_RANK) break;
        id[bi] = mid[bi];
        memmove(id + bi + 1, id + bi + 2, (m - bi - 2) * sizeof *id);
        memmove(rank + bi + 1, rank + bi + 2, (m - bi - 2) * sizeof *rank);
        memmove(mid + bi + 1, mid + bi + 2, (m - bi - 2) * sizeof *mid);
        m--;
        if (bi > 0) rank[bi - 1] = pair_rank(b, id[bi - 1], id[bi], &mid[bi - 1]);
        rank[bi] = bi + 1 < m ? pair_rank(b, id[bi], id[bi + 1], &mid[bi]) : NO_RANK;
    }
    memcpy(out, id, m * sizeof *id);
    return m;
}

static int heap_less(const HeapItem *a, const HeapItem *c) {
    return a->rank < c->rank || (a->rank == c->rank && a->pos < c->pos);
}

static void heap_push(HeapItem *h, size_t *n, HeapItem it) {
    size_t i = (*n)++;
    while (i > 0 && heap_less(&it, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = it;
}

static HeapItem heap_pop(HeapItem *h, size_t *n) {
    HeapItem top = h[0], last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && heap_less(&h[c + 1], &h[c])) c++;
        if (!heap_less(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = last;
    return top;
}

// The same merges in O(n log n): parts form a linked list (a part is named by the byte offset
// where it starts), candidate pairs sit in a min-heap by (rank, offset), and stale candidates
// are skipped when popped.
static size_t merge_heap(const ElmBpe *b, const unsigned char *p, size_t n, Scratch *s,
                         int32_t *out) {
    int32_t *id = s->id, *next = s->next, *prev = s->prev;
    HeapItem *h = s->heap;
    size_t nh = 0;
    for (size_t i = 0; i < n; i++) {
        id[i] = b->byte_id[p[i]];
        next[i] = i + 1 < n ? (int32_t)(i + 1) : -1;
        prev[i] = (int32_t)i - 1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        int32_t m;
        uint32_t r = pair_rank(b, id[i], id[i + 1], &m);
        if (r != NO_RANK) heap_push(h, &nh, (HeapItem){r, (uint32_t)i, id[i], id[i + 1]});
    }
    while (nh) {
        HeapItem it = heap_pop(h, &nh);
        int32_t i = (int32_t)it.pos, j = next[i];
        // A merged part only grows, so matching ids mean the pair is still there.
        if (id[i] != it.l || j < 0 || id[j] != it.r) continue;
        int32_t m = -1;
        pair_rank(b, it.l, it.r, &m);
        id[i] = m;
        id[j] = -1;
        next[i] = next[j];
        if (next[j] >= 0) prev[next[j]] = i;
        int32_t q = prev[i];
        uint32_t r;
        if (q >= 0 && (r = pair_rank(b, id[q], id[i], &m)) != NO_RANK)
            heap_push(h, &nh, (HeapItem){r, (uint32_t)q, id[q], id[i]});
        if (next[i] >= 0 && (r = pair_rank(b, id[i], id[next[i]], &m)) != NO_RANK)
            heap_push(h, &nh, (HeapItem){r, (uint32_t)i, id[i], id[next[i]]});
    }
    size_t k = 0;
    for (int32_t i = 0; i >= 0; i = next[i]) out[k++] = id[i];
    return k;
}

size_t elm_bpe_merge_piece(const ElmBpe *b, const char *piece, size_t n, int use_heap,
                           int32_t *out) {
    Scratch s = {0};
    if (n == 0 || scratch_reserve(&s, n)) return 0;
    size_t k = use_heap ? merge_heap(b, (const unsigned char *)piece, n, &s, out)
                        : merge_scan(b, (const unsigned char *)piece, n, &s, out);
    scratch_free(&s);
    return k;
}

// ---- workers: encoding with a per-thread cache ----

typedef struct CacheEntry {
    uint64_t hash;
    uint32_t key_off, ids_off;
    uint16_t key_len, n_ids;
} CacheEntry;

struct ElmBpeWorker {
    const ElmBpe *bpe;
    ElmPretokState st;
    Scratch scratch;
    // cache: open addressing over entries; cleared whole when full
    uint32_t *slot; // entry index + 1
    CacheEntry *ent;
    size_t n_ent;
    char *keys;
    int32_t *cids;
    size_t keys_used, cids_used;
    // output of the call in progress
    int32_t **ids;
    size_t *n_ids, *cap;
    ElmError *err;
};

#define CACHE_ENTRIES (CACHE_SLOTS / 2)

ElmBpeWorker *elm_bpe_worker_new(const ElmBpe *bpe, ElmError *err) {
    ElmBpeWorker *w = elm_calloc(1, sizeof *w, err);
    if (!w) return NULL;
    w->bpe = bpe;
    if (scratch_reserve(&w->scratch, 256)) {
        elm_bpe_worker_free(w);
        return elm_err(err, "out of memory for a BPE worker"), NULL;
    }
    if (elm_pretok_state_init(&bpe->pt, &w->st, err)) {
        elm_bpe_worker_free(w);
        return NULL;
    }
    return w;
}

void elm_bpe_worker_free(ElmBpeWorker *w) {
    if (!w) return;
    if (w->st.md || w->st.mctx) elm_pretok_state_free(&w->st);
    scratch_free(&w->scratch);
    free(w->slot), free(w->ent), free(w->keys), free(w->cids);
    free(w);
}

static int reserve_out(ElmBpeWorker *w, size_t more) {
    if (*w->n_ids + more <= *w->cap) return 0;
    size_t c = *w->cap ? *w->cap : 256;
    while (c < *w->n_ids + more) c *= 2;
    int32_t *p = realloc(*w->ids, c * sizeof *p);
    if (!p) return elm_err(w->err, "out of memory for %zu token ids", c);
    *w->ids = p;
    *w->cap = c;
    return 0;
}

static const CacheEntry *cache_find(const ElmBpeWorker *w, const char *p, size_t n, uint64_t h) {
    if (!w->slot) return NULL;
    for (uint32_t s = (uint32_t)h & (CACHE_SLOTS - 1);; s = (s + 1) & (CACHE_SLOTS - 1)) {
        uint32_t v = w->slot[s];
        if (!v) return NULL;
        const CacheEntry *e = &w->ent[v - 1];
        if (e->hash == h && e->key_len == n && memcmp(w->keys + e->key_off, p, n) == 0) return e;
    }
}

static void cache_add(ElmBpeWorker *w, const char *p, size_t n, uint64_t h, const int32_t *ids,
                      size_t k) {
    if (!w->slot) { // allocated on first use: a one-shot elm_bpe_encode may never need it
        w->slot = calloc(CACHE_SLOTS, sizeof *w->slot);
        w->ent = malloc(CACHE_ENTRIES * sizeof *w->ent);
        w->keys = malloc((size_t)CACHE_ENTRIES * 16);
        w->cids = malloc((size_t)CACHE_ENTRIES * 8 * sizeof(int32_t));
        if (!w->slot || !w->ent || !w->keys || !w->cids) {
            free(w->slot), free(w->ent), free(w->keys), free(w->cids);
            w->slot = NULL; // no cache, still correct
            return;
        }
    }
    if (w->n_ent == CACHE_ENTRIES || w->keys_used + n > (size_t)CACHE_ENTRIES * 16 ||
        w->cids_used + k > (size_t)CACHE_ENTRIES * 8) {
        memset(w->slot, 0, CACHE_SLOTS * sizeof *w->slot);
        w->n_ent = w->keys_used = w->cids_used = 0;
    }
    CacheEntry *e = &w->ent[w->n_ent];
    *e = (CacheEntry){h, (uint32_t)w->keys_used, (uint32_t)w->cids_used, (uint16_t)n, (uint16_t)k};
    memcpy(w->keys + w->keys_used, p, n);
    memcpy(w->cids + w->cids_used, ids, k * sizeof *ids);
    w->keys_used += n, w->cids_used += k;
    uint32_t s = (uint32_t)h & (CACHE_SLOTS - 1);
    while (w->slot[s]) s = (s + 1) & (CACHE_SLOTS - 1);
    w->slot[s] = (uint32_t)++w->n_ent;
}

static int on_piece(const char *p, size_t n, void *user) {
    ElmBpeWorker *w = user;
    const ElmBpe *b = w->bpe;
    if (reserve_out(w, n)) return -1;
    int32_t *out = *w->ids + *w->n_ids;
    uint64_t h = hash_bytes(p, n);
    int32_t id = find_token(b, p, n, h);
    if (id >= 0) {
        out[0] = id;
        *w->n_ids += 1;
        return 0;
    }
    int cacheable = n <= CACHE_KEY_MAX;
    if (cacheable) {
        const CacheEntry *e = cache_find(w, p, n, h);
        if (e) {
            memcpy(out, w->cids + e->ids_off, e->n_ids * sizeof *out);
            *w->n_ids += e->n_ids;
            return 0;
        }
    }
    if (scratch_reserve(&w->scratch, n)) return elm_err(w->err, "out of memory in BPE");
    size_t k = n > HEAP_FROM ? merge_heap(b, (const unsigned char *)p, n, &w->scratch, out)
                             : merge_scan(b, (const unsigned char *)p, n, &w->scratch, out);
    if (cacheable) cache_add(w, p, n, h, out, k);
    *w->n_ids += k;
    return 0;
}

int elm_bpe_worker_encode(ElmBpeWorker *w, const char *text, size_t n, int allow_special,
                          int32_t **ids, size_t *n_ids, size_t *cap, ElmError *err) {
    const ElmBpe *b = w->bpe;
    w->ids = ids, w->n_ids = n_ids, w->cap = cap, w->err = err;
    if (allow_special && b->eot >= 0) {
        size_t elen = 0;
        const char *eot = elm_bpe_token_bytes(b, b->eot, &elen);
        const char *p = text, *end = text + n, *q;
        while ((q = memmem(p, (size_t)(end - p), eot, elen))) {
            if (elm_pretok_split(&b->pt, &w->st, p, (size_t)(q - p), on_piece, w, err) ||
                reserve_out(w, 1))
                return -1;
            (*ids)[(*n_ids)++] = b->eot;
            p = q + elen;
        }
        return elm_pretok_split(&b->pt, &w->st, p, (size_t)(end - p), on_piece, w, err) ? -1 : 0;
    }
    return elm_pretok_split(&b->pt, &w->st, text, n, on_piece, w, err) ? -1 : 0;
}

int elm_bpe_encode(const ElmBpe *bpe, const char *text, size_t n, int allow_special, int32_t **ids,
                   size_t *n_ids, size_t *cap, ElmError *err) {
    ElmBpeWorker *w = elm_bpe_worker_new(bpe, err);
    if (!w) return -1;
    int rc = elm_bpe_worker_encode(w, text, n, allow_special, ids, n_ids, cap, err);
    elm_bpe_worker_free(w);
    return rc;
}
