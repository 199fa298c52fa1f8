"""[train] condition = account: tokens/train.mask and tokens/val.mask line up with the shards and,
for every document of both splits, the masked tokens decode to its "@<account>:" header (the
space after ':' starts the text's first token), recomputed here from clean.jsonl's accounts; the
unmasked tokens decode to the text. Without conditioning no mask is written."""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from elmtest import SOURCE, Checks, run_elm, tmpdir  # noqa: E402

c = Checks()
root = tmpdir("elm-mask-")
DEMO = os.path.join(SOURCE, "configs", "demo.ini")
S = ["--set", f"run.out_dir={root}", "--set", "train.condition=account", "--quiet"]
for stage in ("ingest", "clean", "tokenize"):
    run_elm(stage, DEMO, *S, check=True)
d = os.path.join(root, "demo")
j = json.load(open(os.path.join(d, "tokens.json")))
vd = j["vocab"] if os.path.isabs(j["vocab"]) else os.path.join(d, j["vocab"])
dec = {v: k for k, v in json.load(open(os.path.join(vd, "encoder.json"))).items()}
bs = [chr(b) for b in range(ord("!"), ord("~") + 1)] + [chr(b) for b in range(0xA1, 0xAD)] + \
    [chr(b) for b in range(0xAE, 0x100)]
byte_of = {}
n = 0
for b in range(256):
    ch = chr(b) if chr(b) in bs else chr(256 + n)
    if chr(b) not in bs:
        n += 1
    byte_of[ch] = b
texts = {}
for line in open(os.path.join(d, "clean.jsonl"), encoding="utf-8"):
    if line.strip():
        o = json.loads(line)
        texts.setdefault(o["text"], o["account"])


def tok_bytes(t):
    return bytes(byte_of[ch] for ch in dec[t])


for split in ("train", "val"):
    raw = open(os.path.join(d, "tokens", split + ".bin"), "rb").read()[64:]
    ids = struct.unpack("<%dH" % (len(raw) // 2), raw)
    m = open(os.path.join(d, "tokens", split + ".mask"), "rb").read()
    c.check(len(m) == len(ids), f"{split}.mask bytes")
    docs = []
    for t, k in zip(ids, m):
        if t == j["eot"]:
            c.check(k == 0, f"{split}: eot unmasked")
            docs.append([b"", b""])
            continue
        docs[-1][0 if k else 1] += tok_bytes(t)
    c.check(len(docs) == j["docs"][split], f"{split}: documents")
    bad = 0
    for head, body in docs:
        full = (head + body).decode("utf-8")
        acc = full[1:full.index(": ")]
        text = full[len(acc) + 3:]
        want = ("@" + acc + ":").encode()
        if head != want or texts.get(text) != acc or body != (" " + text).encode():
            bad += 1
    c.check(bad == 0, f"{split}: documents whose masked tokens are not exactly their header")

run_elm("tokenize", DEMO, "--set", f"run.out_dir={root}", "--set", "train.condition=none",
        "--quiet", check=True)
c.check(not os.path.exists(os.path.join(d, "tokens", "train.mask")),
        "no mask without conditioning")
c.done()
