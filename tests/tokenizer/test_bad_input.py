"""Bad input to `elm tokenize` gets one clear error line naming the file (and line or key), a
non-zero exit, and no partial output: missing or corrupt vocabulary files (bad JSON, a merge
naming an unknown token, duplicate ranks and ids, foreign characters, a missing byte token),
ids out of range or not numbers for decode, token shards with lying headers, a broken
clean.jsonl, bad hex in --batch, config values out of range."""
import json
import os
import shutil
import struct

from elmtest import SHARED, Checks, run_elm, tmpdir

GPT2 = os.path.join(SHARED, "data", "gpt2-vocab")


def expect_error(c, args, *needles, cwd=None):
    p = run_elm("tokenize", *args, cwd=cwd)
    lines = p.stderr.strip().split("\n")
    ok = (p.returncode != 0 and len(lines) == 1 and lines[0].startswith("elm tokenize: ")
          and all(n in lines[0] for n in needles))
    c.check(ok, f"{args}: rc {p.returncode}, stderr {p.stderr!r}, want {needles}")
    return p


def small_vocab(d, encoder=None, merges=None):
    """A tiny valid vocabulary (bytes + 3 merges + <|endoftext|>), optionally corrupted."""
    os.makedirs(d, exist_ok=True)
    enc = json.load(open(os.path.join(GPT2, "encoder.json")))
    byte_tokens = sorted(enc.items(), key=lambda kv: kv[1])[:256]
    e = {k: v for k, v in byte_tokens}
    m = ["\u0120 t", "h e", "\u0120t he"]
    for i, line in enumerate(m):
        e[line.replace(" ", "")] = 256 + i
    e["<|endoftext|>"] = 259
    if encoder:
        encoder(e)
    if merges:
        m = merges(m)
    with open(os.path.join(d, "encoder.json"), "w") as f:
        f.write(e if isinstance(e, str) else json.dumps(e, ensure_ascii=False))
    with open(os.path.join(d, "vocab.bpe"), "w") as f:
        f.write("#version: 0.2\n" + "".join(x + "\n" for x in m))
    return d


def main():
    c = Checks()
    tmp = tmpdir()

    # A good small vocabulary works (so the failures below are about the corruption).
    good = small_vocab(os.path.join(tmp, "good"))
    p = run_elm("tokenize", "--vocab", good, "--encode", " the")
    c.check(p.returncode == 0 and p.stdout.split() == ["258"], f"small vocab: {p.stdout} {p.stderr}")

    # Vocabulary folders and files.
    expect_error(c, ["--vocab", os.path.join(tmp, "nope"), "--encode", "x"], "nope", "not found")
    d = os.path.join(tmp, "nofile")
    shutil.copytree(good, d)
    os.remove(os.path.join(d, "vocab.bpe"))
    expect_error(c, ["--vocab", d, "--encode", "x"], "vocab.bpe")
    d = os.path.join(tmp, "badjson")
    shutil.copytree(good, d)
    with open(os.path.join(d, "encoder.json"), "a") as f:
        f.write('\n{"oops": ')
    expect_error(c, ["--vocab", d, "--encode", "x"], "encoder.json", "not valid JSON")
    d = os.path.join(tmp, "truncjson")
    shutil.copytree(good, d)
    raw = open(os.path.join(d, "encoder.json")).read()
    open(os.path.join(d, "encoder.json"), "w").write(raw[: len(raw) // 2])
    expect_error(c, ["--vocab", d, "--encode", "x"], "encoder.json", "not valid JSON")
    d = small_vocab(os.path.join(tmp, "unknown"), merges=lambda m: m + ["\u0120t xyz"])
    expect_error(c, ["--vocab", d, "--encode", "x"], "vocab.bpe:5", "not in")
    d = small_vocab(os.path.join(tmp, "unknown2"), merges=lambda m: m[:1] + ["q z"] + m[1:])
    expect_error(c, ["--vocab", d, "--encode", "x"], "vocab.bpe:3", "merged token", "not in")
    d = small_vocab(os.path.join(tmp, "duprank"), merges=lambda m: m + ["h e"])
    expect_error(c, ["--vocab", d, "--encode", "x"], "vocab.bpe:5", "duplicate rank")
    d = small_vocab(os.path.join(tmp, "dupid"), encoder=lambda e: e.update({"he": 256}))
    expect_error(c, ["--vocab", d, "--encode", "x"], "encoder.json", "id 256")
    d = small_vocab(os.path.join(tmp, "gap"), encoder=lambda e: e.update({"<|endoftext|>": 400}))
    expect_error(c, ["--vocab", d, "--encode", "x"], "encoder.json", "id 400")
    d = small_vocab(os.path.join(tmp, "negid"), encoder=lambda e: e.update({"he": -3}))
    expect_error(c, ["--vocab", d, "--encode", "x"], "encoder.json", "he")
    d = small_vocab(os.path.join(tmp, "strid"), encoder=lambda e: e.update({"he": "257"}))
    expect_error(c, ["--vocab", d, "--encode", "x"], "encoder.json", "not a number")
    d = small_vocab(os.path.join(tmp, "foreign"), encoder=lambda e: e.update({"h\u00e9\u4e00": 260}))
    expect_error(c, ["--vocab", d, "--encode", "x"], "encoder.json", "byte alphabet")
    d = small_vocab(os.path.join(tmp, "nobyte"),
                    encoder=lambda e: e.update({"xyz": e.pop("\u0100")}))
    expect_error(c, ["--vocab", d, "--encode", "x"], "encoder.json", "byte 0x00")
    d = small_vocab(os.path.join(tmp, "badline"), merges=lambda m: m + ["h  e"])
    expect_error(c, ["--vocab", d, "--encode", "x"], "vocab.bpe:5", "one space")
    d = os.path.join(tmp, "array")
    shutil.copytree(good, d)
    open(os.path.join(d, "encoder.json"), "w").write("[1, 2]")
    expect_error(c, ["--vocab", d, "--encode", "x"], "encoder.json", "object")

    # Decoding.
    expect_error(c, ["--vocab", GPT2, "--decode", "15496 50257"], "50257", "outside the vocabulary")
    expect_error(c, ["--vocab", GPT2, "--decode", "15496 -1"], "'-1' is not a token id")
    expect_error(c, ["--vocab", GPT2, "--decode", "15496 x7"], "'x7' is not a token id")
    expect_error(c, ["--vocab", GPT2, "--decode", "99999999999"], "not a token id")
    ids = os.path.join(tmp, "ids.txt")
    open(ids, "w").write("1 2 3\n4 70000\n")
    expect_error(c, ["--vocab", GPT2, "--decode-batch", ids], "ids.txt:2", "70000")
    hexf = os.path.join(tmp, "bad.hex")
    open(hexf, "w").write("6869\n68zz\n")
    expect_error(c, ["--vocab", GPT2, "--batch", hexf], "bad.hex:2", "not hex")
    open(hexf, "w").write("686\n")
    expect_error(c, ["--vocab", GPT2, "--batch", hexf], "bad.hex:1", "odd")
    expect_error(c, ["--encode", "x"], "--vocab")

    # Token shards with lying headers.
    shard = os.path.join(tmp, "s.bin")

    def write_shard(n_claimed, ids, vocab=50257, dtype=2, magic=b"ELMTOK1\0", version=1):
        body = struct.pack(f"<{len(ids)}{'H' if dtype == 2 else 'I'}", *ids)
        hdr = struct.pack("<8sIIIIQQ", magic, version, vocab, dtype, 50256 % vocab, n_claimed, 1)
        open(shard, "wb").write(hdr + b"\0" * 24 + body)

    write_shard(3, [1, 2, 3])
    p = run_elm("tokenize", "--shard", shard)
    c.check(p.returncode == 0 and "3 tokens" in p.stdout, f"good shard: {p.stdout} {p.stderr}")
    write_shard(4, [1, 2, 3])
    expect_error(c, ["--shard", shard], "s.bin", "header says 4 tokens")
    write_shard(2, [1, 2, 3])
    expect_error(c, ["--shard", shard], "s.bin", "header says 2 tokens")
    write_shard(3, [1, 2, 60000])
    expect_error(c, ["--shard", shard], "s.bin", "outside the vocabulary")
    write_shard(3, [1, 2, 3], dtype=3)
    expect_error(c, ["--shard", shard], "s.bin", "dtype")
    write_shard(3, [1, 2, 3], magic=b"NOTATOK\0")
    expect_error(c, ["--shard", shard], "s.bin", "bad magic")
    write_shard(3, [1, 2, 3], version=9)
    expect_error(c, ["--shard", shard], "s.bin", "version")
    open(shard, "wb").write(b"ELMTOK1\0\1\0")
    expect_error(c, ["--shard", shard], "s.bin", "shorter than its header")

    # The stage: broken clean.jsonl, missing inputs, config values; no output left behind.
    run = os.path.join(tmp, "out", "r")
    os.makedirs(run)
    cfg = os.path.join(tmp, "r.ini")
    open(cfg, "w").write(f"[run]\nname = r\nout_dir = {tmp}/out\n[tokenizer]\nvocab = {GPT2}\n")
    expect_error(c, [cfg], "clean.jsonl", "not found")
    lines = [json.dumps({"text": "fine"}), json.dumps({"text": "also fine"}), '{"text": "broken',
             json.dumps({"txt": "x"})]
    open(os.path.join(run, "clean.jsonl"), "w").write("\n".join(lines) + "\n")
    expect_error(c, [cfg], "clean.jsonl:3", "not valid JSON")
    lines[2] = json.dumps({"text": "ok"}) + " x"
    open(os.path.join(run, "clean.jsonl"), "w").write("\n".join(lines) + "\n")
    expect_error(c, [cfg], "clean.jsonl:3", "not valid JSON")
    lines[2] = json.dumps({"text": "ok"})
    open(os.path.join(run, "clean.jsonl"), "w").write("\n".join(lines) + "\n")
    expect_error(c, [cfg], "clean.jsonl:4", "no \"text\" string")
    lines[3] = "[1, 2]"
    open(os.path.join(run, "clean.jsonl"), "w").write("\n".join(lines) + "\n")
    expect_error(c, [cfg], "clean.jsonl:4", "not a JSON object")
    open(os.path.join(run, "clean.jsonl"), "w").write("\n\n")
    expect_error(c, [cfg], "clean.jsonl", "no documents")
    c.check(not os.path.exists(os.path.join(run, "tokens")) and
            not os.path.exists(os.path.join(run, "tokens.json")), "no output after errors")
    open(os.path.join(run, "clean.jsonl"), "w").write(json.dumps({"text": "hi"}) + "\n")
    expect_error(c, [cfg, "--set", "tokenizer.vocab_size=100", "--set", "tokenizer.train=true"],
                 "vocab_size")
    expect_error(c, [cfg, "--set", "tokenizer.val_fraction=0.9"], "val_fraction")
    expect_error(c, [cfg, "--set", "tokenizer.vocab="], "[tokenizer] vocab is not set")
    expect_error(c, [cfg, "--set", f"tokenizer.vocab={tmp}/badjson"], "not valid JSON")
    bad_cfg = os.path.join(tmp, "typo.ini")
    open(bad_cfg, "w").write("[tokenizer]\nvocab_sise = 10\n")
    expect_error(c, [bad_cfg], "vocab_sise")
    c.check(not os.path.exists(os.path.join(run, "tokens")), "no shards after errors")
    c.done()


if __name__ == "__main__":
    main()
