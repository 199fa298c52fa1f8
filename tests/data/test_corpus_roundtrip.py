"""`elm clean` reads corpus.jsonl with its own JSON Lines reader (engine/base/json_line.c). Python's
json writes random posts here — escaped and raw UTF-8, surrogate pairs, control characters,
quotes, backslashes, extra fields, nested values, numbers — and with every entity kept and HTML
decoding off, each cleaned text must be Python's " ".join(text.split()). Malformed lines must be
errors naming the line."""
import json
import os
import random

from elmtest import Checks, read_jsonl, run_elm, tmpdir, write

c = Checks()
rng = random.Random(99)
d = tmpdir()
ALPHABET = (list("abcXYZ019 .,;:!?'\"\\/{}[]\t\n\r\x0b\x0c\x1c\x1f") +
            ["é", "ж", "日", "😀", "👍🏽", "\u00a0", "\u3000", "\u2028", "\u200b", "\ufffd", "&amp;"])
posts = []
for i in range(3000):
    text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 80)))
    if not text.split():
        text += "x"
    post = {"id": str(i), "account": rng.choice(["ann", "bob", "cé"]), "created_at": "t",
            "text": text}
    if i % 3 == 0:
        post["extra"] = {"nested": [1, 2.5e-3, None, True, "s\\"], "n": -0.0}
    if i % 5 == 0:
        post = dict(reversed(list(post.items())))  # key order does not matter
    posts.append(post)
run = os.path.join(d, "out", "rt")
os.makedirs(run)
with open(os.path.join(run, "corpus.jsonl"), "w", encoding="utf-8") as f:
    for i, p in enumerate(posts):
        f.write(json.dumps(p, ensure_ascii=(i % 2 == 0)) + "\n")
keep = "\n".join(f"{k} = keep" for k in ("urls", "mentions", "hashtags", "cashtags", "emojis",
                                          "smileys", "reserved", "numbers"))
cfg = write(os.path.join(d, "rt.ini"),
            f"[run]\nname = rt\nout_dir = {d}/out\n[clean]\n{keep}\nhtml_entities = false\nmin_chars = 0\n")
r = run_elm("clean", cfg, "--quiet")
c.check(r.returncode == 0, f"elm clean: {r.stderr}")
out = {o["id"]: o for o in read_jsonl(os.path.join(run, "clean.jsonl"))}
bad = []
for p in posts:
    # Python's split() also splits at U+001C..U+001F, as elm does (controls are blanks to elm)
    want = " ".join(p["text"].split())
    got = out.get(p["id"], {}).get("text")
    if got != want or out[p["id"]]["account"] != p["account"]:
        bad.append((p["text"], want, got))
c.check(not bad, f"{len(bad)} texts differ, first: {bad[:1]}")
print(f"{len(posts) - len(bad)}/{len(posts)} posts read back exactly")

cases = {
    "bad escape": '{"account": "a", "text": "bad \\q escape"}',
    "unclosed string": '{"account": "a", "text": "never closed}',
    "trailing comma": '{"account": "a", "text": "x",}',
    "two objects": '{"account": "a", "text": "x"} {"b": 1}',
    "raw control": '{"account": "a", "text": "a\x01b"}',
    "not an object": '["account", "text"]',
    "bad number": '{"account": "a", "text": "x", "n": 1.}',
}
for name, line in cases.items():
    with open(os.path.join(run, "corpus.jsonl"), "w", encoding="utf-8") as f:
        f.write('{"id": "1", "account": "a", "text": "fine"}\n' + line + "\n")
    r = run_elm("clean", cfg)
    c.check(r.returncode != 0 and "corpus.jsonl:2: malformed JSON" in r.stderr
            and len(r.stderr.strip().splitlines()) == 1, f"{name}: {r.stderr!r}")

# invalid UTF-8 inside a corpus line (a hand-made corpus): replaced, dropped or an error
with open(os.path.join(run, "corpus.jsonl"), "wb") as f:
    f.write(b'{"id": "1", "account": "a", "text": "fine"}\n')
    f.write(b'{"id": "2", "account": "a", "text": "bad \xff\xfe bytes \xe2\x82"}\n')
r = run_elm("clean", cfg, "--quiet")
out = read_jsonl(os.path.join(run, "clean.jsonl")) if r.returncode == 0 else []
rep = json.load(open(os.path.join(run, "clean.json"))) if r.returncode == 0 else {}
c.check([o["text"] for o in out] == ["fine", b"bad \xff\xfe bytes \xe2\x82".decode("utf-8", "replace")],
        f"replace: {out}")
c.check(rep.get("total", {}).get("utf8_replaced") == 1, f"replace counted: {rep.get('total')}")
r = run_elm("clean", cfg, "--quiet", "--set", "data.invalid_utf8=drop")
rep = json.load(open(os.path.join(run, "clean.json"))) if r.returncode == 0 else {}
c.check(rep.get("total", {}).get("kept") == 1 and rep["total"]["dropped"]["invalid_utf8"] == 1,
        f"drop: {rep.get('total')}")
r = run_elm("clean", cfg, "--set", "data.invalid_utf8=error")
c.check(r.returncode != 0 and "corpus.jsonl:2: invalid UTF-8" in r.stderr, f"error: {r.stderr!r}")
c.done()
