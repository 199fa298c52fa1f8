"""`elm generate` end to end on ../shared/fixtures/gpt2-tiny with GPT-2's vocabulary:

- every text, token count and mean log-prob equals a numpy reimplementation of the whole
  pipeline (GPT-2 forward in float64 from the fixture's weights, [<|endoftext|>] + tiktoken ids,
  the sampler of test_sampling.py with elm's uniforms, the tweet cut), with all five sampling
  settings on at once, three prompts (one empty) and an uneven last batch;
- texts do not depend on the batch size (1, 3, 7) or the thread count;
- tweet mode: <= max_chars characters, truncated texts cut at a word boundary; story mode:
  never ends at <|endoftext|>, ends at a sentence boundary (or a word when it has none);
- bad input (missing prompts file, prompt longer than max_chars, no checkpoint) is a one-line
  error and leaves no output file."""
import json
import os
import sys

import numpy as np
import tiktoken
from safetensors.numpy import load_file
from tiktoken.load import data_gym_to_mergeable_bpe_ranks

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from elmtest import SHARED, Checks, run_elm, tmpdir  # noqa: E402
from test_sampling import CLOSERS, SPACE, chars_of, draw, ref_cut_words, reference, uniform  # noqa: E402

FIXTURE = os.path.join(SHARED, "fixtures", "gpt2-tiny")
VOCAB = os.path.join(SHARED, "data", "gpt2-vocab")
EOT = 50256

CONFIG = """[run]
name = g
out_dir = {root}
threads = 2
seed = 4242
[tokenizer]
vocab = {vocab}
[generate]
checkpoint = {fixture}
count = 7
batch_size = 3
prompts = I think
prompts =
prompts = Hello world, this is
temperature = 0.8
top_k = 50
top_p = 0.9
repetition_penalty = 1.3
no_repeat_ngram = 2
max_new_tokens = 20
max_chars = 1000
"""


def encoder():
    ranks = data_gym_to_mergeable_bpe_ranks(os.path.join(VOCAB, "vocab.bpe"),
                                            os.path.join(VOCAB, "encoder.json"))
    return tiktoken.Encoding("gpt2", pat_str=r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
                             mergeable_ranks=ranks, special_tokens={"<|endoftext|>": EOT})


class Gpt2:
    """GPT-2 forward in float64 from HF weights (Conv1D [in, out]); logits of the last position."""

    def __init__(self, path):
        self.w = {k: v.astype(np.float64) for k, v in load_file(path).items()}
        self.L = 1 + max(int(k.split(".")[2]) for k in self.w if k.startswith("transformer.h."))
        self.nh = json.load(open(os.path.join(os.path.dirname(path), "config.json")))["n_head"]

    @staticmethod
    def ln(x, g, b):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + 1e-5) * g + b

    def last_logits(self, ids):
        w, T = self.w, len(ids)
        x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][:T]
        C = x.shape[1]
        hs = C // self.nh
        mask = np.triu(np.full((T, T), -np.inf), 1)
        for l in range(self.L):
            p = f"transformer.h.{l}."
            h = self.ln(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"])
            qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
            q, k, v = (qkv[:, i * C:(i + 1) * C].reshape(T, self.nh, hs).transpose(1, 0, 2) for i in range(3))
            att = q @ k.transpose(0, 2, 1) / np.sqrt(hs) + mask
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            y = (att @ v).transpose(1, 0, 2).reshape(T, C)
            x = x + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
            h = self.ln(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"])
            h = h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]
            h = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h ** 3)))
            x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
        x = self.ln(x[-1], w["transformer.ln_f.weight"], w["transformer.ln_f.bias"])
        return x @ w["transformer.wte.weight"].T


def sanitize(b):
    return "".join("\ufffd" if 0xDC80 <= ord(ch) <= 0xDCFF else ch
                   for ch in b.decode("utf-8", "surrogateescape"))


def reference_text(model, enc, prompt, index, seed, s):
    """One text exactly as docs/train.md describes `elm generate` (tweet mode)."""
    ids = [EOT] + enc.encode_ordinary(prompt)
    ctx = ids[1:]
    pb = prompt.encode()
    body, ends, lps, stop = pb, [], [], None
    for pos in range(s["max_new_tokens"]):
        logits = model.last_logits(ids).astype(np.float32)
        lse = np.log(np.exp(logits.astype(np.float64) - logits.max()).sum()) + logits.max()
        if pos == 0:
            logits[EOT] = -np.inf  # at least one new token
        q = reference(logits, s["temperature"], s["top_k"], s["top_p"], s["penalty"], s["ngram"], ctx)
        tok = draw(q, uniform(seed, index, pos))
        if tok < 0:
            stop = "banned"
            break
        if tok == EOT:
            stop = "eot"
            break
        body += enc.decode_single_token_bytes(tok)
        ends.append(len(body))
        lps.append(float(logits[tok]) - lse)
        ids.append(tok)
        ctx.append(tok)
        if len(chars_of(body)) > s["max_chars"]:
            stop = "max_chars"
            break
    stop = stop or "max_tokens"
    cut = ref_cut_words(body, len(pb), s["max_chars"], stop in ("eot", "banned"))
    while cut > len(pb) and body[cut - 1] in SPACE:
        cut -= 1
    kept = [lp for e, lp in zip(ends, lps) if e <= cut]
    start = 0
    while not pb and start < cut and body[start] in SPACE:  # an unprompted text's first space
        start += 1
    return sanitize(body[start:cut]), len(kept), (sum(kept) / len(kept) if kept else 0.0), stop


def sentence_ends(b, keep):
    """Byte offsets after '.', '!', '?' or an ellipsis (plus closers) followed by white space or
    the end of b."""
    out = []
    for start, end in chars_of(b):
        if b[start:end] not in (b".", b"!", b"?", "\u2026".encode()):
            continue
        j = end
        while True:
            m = next((x for x in CLOSERS if b[j:j + len(x)] == x), None)
            if m is None:
                break
            j += len(m)
        if j > keep and (j == len(b) or b[j] in SPACE):
            out.append(j)
    return out


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(x) for x in f if x.strip()]


def main():
    os.environ["OMP_WAIT_POLICY"] = "passive"
    c = Checks()
    root = tmpdir("elm-generate-")
    cfg = os.path.join(root, "g.ini")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(root=root, vocab=VOCAB, fixture=FIXTURE))
    out = os.path.join(root, "g", "generated", "tweets.jsonl")

    p = run_elm("generate", cfg, "--quiet")
    c.check(p.returncode == 0, f"generate failed: {p.stderr}")
    rows = read_jsonl(out)
    c.check(len(rows) == 7 and [r["index"] for r in rows] == list(range(7)), f"{len(rows)} rows")
    c.check(not os.path.exists(out + ".part"), "the .part file was left behind")
    prompts = ["I think", "", "Hello world, this is"]
    model, enc = Gpt2(os.path.join(FIXTURE, "model.safetensors")), encoder()
    s = dict(temperature=0.8, top_k=50, top_p=0.9, penalty=1.3, ngram=2, max_new_tokens=20,
             max_chars=1000)
    for r in rows:
        i = r["index"]
        text, n, mlp, stop = reference_text(model, enc, prompts[i % 3], i, 4242, s)
        c.check(r["prompt"] == prompts[i % 3] and r["seed"] == 4242, f"row {i}: {r}")
        c.check(r["text"] == text, f"row {i}: text {r['text']!r}\n   reference {text!r}")
        c.check(r["tokens"] == n and r["stop"] == stop, f"row {i}: tokens/stop {r['tokens']}/{r['stop']} vs {n}/{stop}")
        c.check(abs(r["mean_logprob"] - mlp) < 1e-4, f"row {i}: mean_logprob {r['mean_logprob']} vs {mlp}")

    # The same texts whatever the batch size or thread count, or with each prompt prefilled
    # alone ([generate] prefill = serial; the default packs a batch's prompts into one forward).
    for extra in (["--set", "generate.batch_size=1"], ["--set", "generate.batch_size=7"],
                  ["--set", "run.threads=1"], ["--set", "generate.prefill=serial"],
                  ["--set", "generate.prefill=serial", "--set", "generate.batch_size=7"]):
        p = run_elm("generate", cfg, "--quiet", *extra)
        c.check(p.returncode == 0, f"{extra}: {p.stderr}")
        again = read_jsonl(out)
        c.check([r["text"] for r in again] == [r["text"] for r in rows], f"{extra}: texts differ")
        c.check(all(abs(a["mean_logprob"] - b["mean_logprob"]) < 1e-6 for a, b in zip(again, rows)),
                f"{extra}: log-probs differ")

    # bf16 and int8 weights (the portable loops where the CPU lacks AVX512-BF16/VNNI): batched
    # and serial prefill give the same texts and log-probs.
    for w in ("bf16", "int8"):
        got = {}
        for how in ("batched", "serial"):
            p = run_elm("generate", cfg, "--quiet", "--set", f"generate.weights={w}", "--set",
                        f"generate.prefill={how}", "--set", "generate.batch_size=7")
            c.check(p.returncode == 0, f"{w}, {how} prefill: {p.stderr}")
            got[how] = read_jsonl(out)
        a, b = got["batched"], got["serial"]
        c.check(len(a) == 7 and [r["text"] for r in a] == [r["text"] for r in b] and
                [r["tokens"] for r in a] == [r["tokens"] for r in b], f"{w}: texts differ")
        c.check(all(abs(x["mean_logprob"] - y["mean_logprob"]) <= 1e-5 for x, y in zip(a, b)),
                f"{w}: log-probs differ batched vs serial")

    # Tweet limit: texts over max_chars are cut at a word boundary; checked against the
    # reference pipeline too.
    p = run_elm("generate", cfg, "--quiet", "--set", "generate.max_chars=60", "--set",
                "generate.max_new_tokens=40", "--set", "generate.count=5")
    c.check(p.returncode == 0, f"short tweets: {p.stderr}")
    s60 = dict(s, max_chars=60, max_new_tokens=40)
    for r in read_jsonl(out):
        t, i = r["text"], r["index"]
        c.check(len(t) <= 60 and t == t.rstrip(), f"tweet over 60 characters or untrimmed: {t!r}")
        text, n, _, stop = reference_text(model, enc, prompts[i % 3], i, 4242, s60)
        c.check((t, r["tokens"], r["stop"]) == (text, n, stop),
                f"row {i} at 60 chars: {t!r} {r['tokens']} {r['stop']}\n   reference {text!r} {n} {stop}")

    # Story mode: no <|endoftext|> stop; ends at a sentence boundary when the text has one.
    p = run_elm("generate", cfg, "--quiet", "--mode", "story", "--count", "4", "--set",
                "generate.story_max_chars=200", "--set", "generate.story_max_new_tokens=40")
    c.check(p.returncode == 0, f"stories: {p.stderr}")
    stories = read_jsonl(os.path.join(root, "g", "generated", "stories.jsonl"))
    c.check(len(stories) == 4, f"{len(stories)} stories")
    for r in stories:
        t = r["text"]
        c.check(r["stop"] != "eot", f"a story ended at <|endoftext|>: {r}")
        c.check(len(t) <= 200, f"story over 200 characters: {len(t)}")
        b = t.encode()
        ends = sentence_ends(b, len(r["prompt"].encode()))
        c.check(not ends or ends[-1] == len(b), f"story does not end at its last sentence: {t[-40:]!r}")

    # Prompts from a file: blank lines skipped, invalid UTF-8 written as U+FFFD (valid JSON).
    pf = os.path.join(root, "prompts.txt")
    with open(pf, "wb") as f:
        f.write(b"caf\xe9 au lait\n\nI think\r\n")
    p = run_elm("generate", cfg, "--quiet", "--set", f"generate.prompts_file={pf}", "--set",
                "generate.count=5")
    c.check(p.returncode == 0, f"prompts file: {p.stderr}")
    with open(out, "rb") as f:
        raw = f.read()
    try:
        rows = [json.loads(x) for x in raw.decode("utf-8").splitlines()]
    except (UnicodeDecodeError, ValueError) as e:
        rows = []
        c.check(False, f"output is not UTF-8 JSON lines: {e}")
    want = prompts + ["caf\ufffd au lait", "I think"]  # config prompts first, then the file's
    c.check([r["prompt"] for r in rows] == want, f"prompts {[r['prompt'] for r in rows]} vs {want}")
    c.check(all(r["text"].startswith(r["prompt"]) for r in rows), "a text does not start with its prompt")

    # Bad input: one line, non-zero exit, no output file.
    os.remove(out)
    for sets, needle in ((["generate.prompts_file=missing.txt"], "missing.txt"),
                         (["generate.max_chars=5"], "max_chars"),
                         (["generate.checkpoint=", "run.name=empty"], "no checkpoint")):
        args = [x for kv in sets for x in ("--set", kv)]
        p = run_elm("generate", cfg, "--quiet", *args)
        err = p.stderr.strip()
        c.check(p.returncode != 0 and "\n" not in err and needle in err,
                f"{sets}: rc {p.returncode}, message {err!r}")
        c.check(not os.path.exists(out), f"{sets}: output written")
    c.done()


if __name__ == "__main__":
    main()
