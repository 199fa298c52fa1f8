"""`elm tokenize CONFIG` end to end on the seed tweets.

Trained vocabulary (vocab_size 8192): the merges equal HF tokenizers' BpeTrainer on the same
corpus (same byte order, same tie rule), tiktoken and HF load elm's files, and tiktoken's ids
equal elm's on every seed tweet; compression beside GPT-2's is printed. Shards: every document,
read back from train.bin / val.bin, is tiktoken's encoding of that tweet, preceded by
<|endoftext|>, in corpus order; the split has round(val_fraction * n) documents, follows the seed
and is reproducible; tokens.json counts match the shards; allow_special is honoured."""
import csv
import glob
import json
import os
import struct
import sys

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from elmtest import ELM, SHARED, Checks, run_elm, tmpdir
import tokref

csv.field_size_limit(1 << 30)
GPT2 = os.path.join(SHARED, "data", "gpt2-vocab")


def seed_tweets():
    out = []
    for path in sorted(glob.glob(os.path.join(SHARED, "data", "seed-tweets", "*.csv"))):
        if "real_vs_generated" in path:
            continue
        with open(path, newline="", encoding="utf-8") as f:
            head = f.readline()
            f.seek(0)
            delim = "\t" if head.count("\t") > head.count(",") else ","
            out += [row["tweet"] for row in csv.DictReader(f, delimiter=delim)]
    return out


def read_shard(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, version, vocab, dtype, eot, n_tokens, n_docs = struct.unpack("<8sIIIIQQ", data[:40])
    assert magic == b"ELMTOK1\0" and version == 1, (magic, version)
    body = data[64:]
    assert len(body) == n_tokens * dtype
    ids = list(struct.unpack(f"<{n_tokens}{'H' if dtype == 2 else 'I'}", body))
    return dict(vocab=vocab, dtype=dtype, eot=eot, n_docs=n_docs, ids=ids)


def split_docs(ids, eot):
    docs = []
    for t in ids:
        if t == eot:
            docs.append([])
        else:
            docs[-1].append(t)
    return docs


def write_run(tmp, name, docs, extra):
    run = os.path.join(tmp, "out", name)
    os.makedirs(run, exist_ok=True)
    with open(os.path.join(run, "clean.jsonl"), "w") as f:
        for d in docs:
            f.write(json.dumps({"text": d}) + "\n")
    cfg = os.path.join(tmp, name + ".ini")
    with open(cfg, "w") as f:
        f.write(f"[run]\nname = {name}\nout_dir = {tmp}/out\nthreads = 2\n[tokenizer]\n{extra}")
    return cfg, run


def check_shards(c, run, docs, enc, val_fraction, tag):
    tr = read_shard(os.path.join(run, "tokens", "train.bin"))
    va = read_shard(os.path.join(run, "tokens", "val.bin"))
    meta = json.load(open(os.path.join(run, "tokens.json")))
    n_val = round(val_fraction * len(docs))
    if val_fraction > 0:
        n_val = max(n_val, 1)
    c.check(va["n_docs"] == n_val and tr["n_docs"] == len(docs) - n_val,
            f"{tag}: split {tr['n_docs']}/{va['n_docs']}, want {len(docs) - n_val}/{n_val}")
    c.check(tr["ids"][:1] == [tr["eot"]] and (not va["ids"] or va["ids"][0] == va["eot"]),
            f"{tag}: shards start with <|endoftext|>")
    c.check(tr["dtype"] == 2 and tr["vocab"] == enc.n_vocab and tr["eot"] == enc.eot_token,
            f"{tag}: header {tr['vocab']} {tr['dtype']} {tr['eot']}")
    c.check(meta["tokens"]["train"] == len(tr["ids"]) and meta["tokens"]["val"] == len(va["ids"])
            and meta["docs"]["val"] == n_val, f"{tag}: tokens.json counts {meta}")
    want = enc.encode_ordinary_batch(docs, num_threads=2)
    # Each split holds its documents in corpus order: walk the corpus and match.
    got_tr, got_va = split_docs(tr["ids"], tr["eot"]), split_docs(va["ids"], va["eot"])
    c.check(len(got_tr) == tr["n_docs"] and len(got_va) == va["n_docs"], f"{tag}: doc count")
    i = j = bad = 0
    val_set = []
    for k, w in enumerate(want):
        if i < len(got_tr) and got_tr[i] == w:
            i += 1
        elif j < len(got_va) and got_va[j] == w:
            j += 1
            val_set.append(k)
        else:
            bad += 1
    c.check(bad == 0 and i == len(got_tr) and j == len(got_va),
            f"{tag}: {bad} documents not found in order in the shards")
    return val_set


def main():
    c = Checks()
    tmp = tmpdir()
    docs = seed_tweets()
    c.check(len(docs) == 14412, f"{len(docs)} seed tweets")

    # --- a trained vocabulary: 8192 tokens on the seed tweets ---
    cfg, run = write_run(tmp, "trained", docs, "train = true\nvocab_size = 8192\nval_fraction = 0\n")
    p = run_elm("tokenize", cfg, "--quiet")
    c.check(p.returncode == 0, f"elm tokenize (train): {p.stderr}")
    vdir = os.path.join(run, "tokenizer")
    enc = tokref.tiktoken_from_dir(vdir, name="elm8192")  # asserts encoder.json == merges
    c.check(enc.n_vocab == 8192 and enc.eot_token == 8191, f"trained n_vocab {enc.n_vocab}")
    want = enc.encode_ordinary_batch(docs, num_threads=2)
    got = tokref.elm_encode_batch(ELM, vdir, [d.encode() for d in docs], tmp)
    bad = sum(1 for a, b in zip(want, got) if a != b)
    c.check(bad == 0, f"trained vocab: tiktoken and elm differ on {bad} tweets")
    hf = Tokenizer(models.BPE.from_file(os.path.join(vdir, "encoder.json"),
                                        os.path.join(vdir, "vocab.bpe")))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf_ids = [e.ids for e in hf.encode_batch(docs)]
    bad = sum(1 for a, b in zip(want, hf_ids) if a != b)
    c.check(bad == 0, f"trained vocab: HF tokenizers and tiktoken differ on {bad} tweets")
    # The merges themselves: HF's BpeTrainer with the byte alphabet (ids in GPT-2's byte order)
    # and no special token learns the same pairs in the same order.
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    t.train_from_iterator(docs, trainers.BpeTrainer(
        vocab_size=8191, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    hm = [m if isinstance(m, list) else m.split(" ") for m in json.loads(t.to_str())["model"]["merges"]]
    em = [l.split(" ") for l in open(os.path.join(vdir, "vocab.bpe")).read().split("\n")[1:-1]]
    same = next((k for k in range(min(len(hm), len(em))) if hm[k] != em[k]), min(len(hm), len(em)))
    c.check(len(em) == 7935 and hm == em,
            f"merges: {len(em)} from elm, {len(hm)} from HF, equal for the first {same}")
    check_shards(c, run, docs, enc, 0.0, "trained")
    files = [open(os.path.join(vdir, f), "rb").read() for f in ("encoder.json", "vocab.bpe")]
    p = run_elm("tokenize", cfg, "--quiet", "--set", "run.threads=1")
    c.check(p.returncode == 0 and files == [open(os.path.join(vdir, f), "rb").read()
                                            for f in ("encoder.json", "vocab.bpe")],
            "training on 1 thread writes the same vocabulary as on 2")
    gpt2 = tokref.tiktoken_from_dir(GPT2)
    nbytes = sum(len(d.encode()) for d in docs)
    n_gpt2 = sum(map(len, gpt2.encode_ordinary_batch(docs, num_threads=2)))
    n_elm = sum(map(len, want))
    print(f"compression on the seed tweets ({nbytes} bytes): GPT-2 {nbytes / n_gpt2:.3f} "
          f"bytes/token, elm-trained 8192 {nbytes / n_elm:.3f} bytes/token")

    # A corpus too small for the vocabulary asked for: training stops when no pair is left, and a
    # literal <|endoftext|> in the text never becomes a merged token of its own.
    tiny = ["<|endoftext|>ab<|endoftext|>"] * 30 + ["abc abd", "x"]
    cfg, run = write_run(tmp, "tiny", tiny, "train = true\nvocab_size = 5000\nval_fraction = 0\n")
    p = run_elm("tokenize", cfg, "--quiet")
    c.check(p.returncode == 0, f"tiny corpus: {p.stderr}")
    tenc = tokref.tiktoken_from_dir(os.path.join(run, "tokenizer"), name="tiny")
    c.check(tenc.n_vocab < 300, f"tiny corpus vocab {tenc.n_vocab}")
    got = tokref.elm_encode_batch(ELM, os.path.join(run, "tokenizer"), [d.encode() for d in tiny], tmp)
    c.check(got == tenc.encode_ordinary_batch(tiny), "tiny corpus: elm != tiktoken")
    c.check(read_shard(os.path.join(run, "tokens", "train.bin"))["ids"].count(tenc.eot_token) == 32,
            "tiny corpus: the literal <|endoftext|> is text, not the separator")

    # Tokens longer than any fixed buffer: a 6,000-letter word seen three times.
    longw = ["a" * 6000, "a" * 6000 + " b", "xyz" * 2000, "xyz" * 2000, "a" * 6000]
    cfg, run = write_run(tmp, "long", longw, "train = true\nvocab_size = 600\nval_fraction = 0\n")
    p = run_elm("tokenize", cfg, "--quiet")
    c.check(p.returncode == 0, f"long tokens: {p.stderr}")
    lenc = tokref.tiktoken_from_dir(os.path.join(run, "tokenizer"), name="long")
    longest = max(len(lenc.decode_single_token_bytes(i)) for i in range(lenc.n_vocab - 1))
    c.check(longest >= 6000, f"longest trained token {longest} bytes")
    got = tokref.elm_encode_batch(ELM, os.path.join(run, "tokenizer"), [d.encode() for d in longw], tmp)
    c.check(got == lenc.encode_ordinary_batch(longw), "long tokens: elm != tiktoken")

    # --- GPT-2's vocabulary with a validation split ---
    cfg, run = write_run(tmp, "gpt2", docs, f"vocab = {GPT2}\nval_fraction = 0.1\n")
    p = run_elm("tokenize", cfg, "--quiet")
    c.check(p.returncode == 0, f"elm tokenize (gpt2): {p.stderr}")
    val1 = check_shards(c, run, docs, gpt2, 0.1, "gpt2")
    first = open(os.path.join(run, "tokens", "val.bin"), "rb").read()
    p = run_elm("tokenize", cfg, "--quiet", "--set", "run.threads=1")
    c.check(p.returncode == 0 and open(os.path.join(run, "tokens", "val.bin"), "rb").read() == first,
            "a rerun (1 thread) writes the same shard")
    p = run_elm("tokenize", cfg, "--quiet", "--set", "run.seed=7")
    val2 = check_shards(c, run, docs, gpt2, 0.1, "gpt2 seed 7")
    c.check(p.returncode == 0 and val1 != val2, "another seed holds out other documents")

    # --- <|endoftext|> inside a text: plain text by default, the special id when allowed ---
    few = ["hello <|endoftext|> world", "plain", "a<|endoftext|>"]
    for allow in (False, True):
        cfg, run = write_run(tmp, f"special{int(allow)}", few,
                             f"vocab = {GPT2}\nval_fraction = 0\nallow_special = {str(allow).lower()}\n")
        p = run_elm("tokenize", cfg, "--quiet")
        c.check(p.returncode == 0, f"special: {p.stderr}")
        ids = read_shard(os.path.join(run, "tokens", "train.bin"))["ids"]
        want = []
        for d in few:
            want += [gpt2.eot_token] + (gpt2.encode(d, allowed_special="all") if allow
                                        else gpt2.encode_ordinary(d))
        c.check(ids == want, f"allow_special={allow}: {ids} != {want}")
    c.done()


if __name__ == "__main__":
    main()
