"""The personal mix (issue #14): account-conditioned training and generation, and keyword steering,
on the demo corpus (three accounts) with a small model trained from scratch with
[train] condition = account:
- tokens.json records the condition and each account's documents, and its text bytes are those of
  every clean.jsonl text with its "@<account>: " header (so every document carries one);
- a 1,000-text run with accounts = ada_bakes:3, coach_rivera:1, orbit_otto:2 gives each text the
  account of the mix's Weyl sequence (recomputed here for every text) and holds the shares within
  3 points of the weights; the header never shows in a text;
- texts are identical for batch sizes 1, 8 and 32;
- elm validate's account classifier attributes account-conditioned texts to the account asked for
  at least twice as often as the unconditioned texts of the same model (per account), whose
  headers follow the data's own mix ("prior_account", recomputed here);
- keyword steering raises the share of texts holding a keyword over the unsteered run of the same
  model, records "keywords", and its cost in mean log-probability under the unsteered model is
  printed;
- bad input (an account not in the data, weights that are not positive numbers, an empty
  keyword) is one line naming the key and value, a non-zero exit and no output file."""
import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from elmtest import Checks, read_jsonl, run_elm, tmpdir, weyl_pick  # noqa: E402
from demo_model import DEMO  # noqa: E402

c = Checks()
root = tmpdir("elm-mix-")
ACCOUNTS = ["ada_bakes", "coach_rivera", "orbit_otto"]
# A small model that learns the three accounts in CI's budget.
TRAIN = ["--set", f"run.out_dir={root}", "--set", "train.condition=account",
         "--set", "train.eval_every=0", "--set", "train.checkpoint_every=0",
         "--set", "train.steps=1000", "--set", "train.lr=5e-3", "--set", "train.min_lr=5e-4",
         "--set", "model.n_layer=2",
         "--set", "model.n_embd=64", "--set", "model.n_head=2", "--quiet"]
for stage in ("ingest", "clean", "tokenize", "train"):
    run_elm(stage, DEMO, *TRAIN, check=True)
run_dir = os.path.join(root, "demo")
out = os.path.join(run_dir, "generated", "tweets.jsonl")
GEN = TRAIN + ["--set", "generate.temperature=0.6"]
NONE = "generate.accounts="  # configs/demo.ini asks for an even mix


def generate(count, *extra, tokens=24, batch=16):
    """Runs elm generate; returns its lines."""
    if os.path.exists(out):
        os.remove(out)
    sets = list(GEN) + ["--set", f"generate.count={count}", "--set", f"generate.max_new_tokens={tokens}",
                        "--set", f"generate.batch_size={batch}"]
    for e in extra:
        sets += ["--set", e]
    run_elm("generate", DEMO, *sets, check=True)
    return read_jsonl(out)


# ---- the training documents carry the header ------------------------------------------------
tokens = json.load(open(os.path.join(run_dir, "tokens.json")))
clean = read_jsonl(os.path.join(run_dir, "clean.jsonl"))
want_counts = {a: sum(1 for r in clean if r["account"] == a) for a in ACCOUNTS}
c.check(tokens.get("condition") == "account", f"tokens.json condition: {tokens.get('condition')}")
c.check(tokens.get("accounts") == want_counts, f"tokens.json accounts: {tokens.get('accounts')}")
want_bytes = sum(len(f"@{r['account']}: {r['text']}".encode()) for r in clean)
c.check(tokens["text_bytes"] == want_bytes, f"text bytes {tokens['text_bytes']} != {want_bytes}")


# ---- the mix: each text's account, the shares -----------------------------------------------
def pick(seed, index, weights, salt=0x6D6978):
    return weyl_pick(seed, index, weights, salt)


WEIGHTS = [("ada_bakes", 3.0), ("coach_rivera", 1.0), ("orbit_otto", 2.0)]
SPEC = "generate.accounts=" + ", ".join(f"{a}:{w:g}" for a, w in WEIGHTS)
lines = generate(1000, SPEC, tokens=4, batch=64)
c.check(len(lines) == 1000, f"{len(lines)} lines")
wrong = [r["index"] for r in lines if r.get("account") != pick(1337, r["index"], WEIGHTS)]
c.check(not wrong, f"texts with another account than the mix's sequence: {wrong[:10]}")
total = sum(w for _, w in WEIGHTS)
for a, w in WEIGHTS:
    share = sum(1 for r in lines if r.get("account") == a) / len(lines)
    print(f"mix: {a} asked {w / total:.3f} got {share:.3f}")
    c.check(abs(share - w / total) <= 0.03, f"{a}: share {share:.3f} vs {w / total:.3f}")
c.check(not [r for r in lines if r["text"].startswith("@")], "a text shows its header")

# ---- batch sizes -------------------------------------------------------------------------------
EQUAL = "generate.accounts=" + ", ".join(f"{a}:1" for a in ACCOUNTS)
by_batch = {b: [(r["account"], r["text"]) for r in generate(40, EQUAL, batch=b)] for b in (1, 8, 32)}
c.check(by_batch[1] == by_batch[8] == by_batch[32], "texts differ between batch sizes 1, 8, 32")

# ---- attribution: conditioned vs unconditioned -----------------------------------------------
gdir = os.path.join(root, "attr")
os.makedirs(gdir)
N = 150
cond = generate(N, EQUAL, "generate.seed=7")
shutil.copy(out, os.path.join(gdir, "cond.jsonl"))
none = generate(N, NONE, "generate.seed=8")
shutil.copy(out, os.path.join(gdir, "none.jsonl"))
c.check(all("account" not in r for r in none), "an unconditioned text has an account")
# An unconditioned text of the conditioned model is prompted for an account of the data's mix.
PRIOR = [(a, float(n)) for a, n in tokens["accounts"].items()]  # tokens.json order
wrong = [r["index"] for r in none if r.get("prior_account") != pick(8, r["index"], PRIOR, 0x7072696F72)]
c.check(not wrong, f"unconditioned texts with another prior account: {wrong[:10]}")
c.check(all("prior_account" not in r for r in cond), "a conditioned text has a prior account")
c.check(not [r for r in none if re.match(r"@\S*:", r["text"])], "an unconditioned text keeps a header")
run_elm("validate", DEMO, *GEN, "--set", f"validate.generated={gdir}", "--set", "validate.models=nb",
        "--set", "validate.grid.n_estimators=", "--set", "validate.grid.criterion=",
        "--set", "validate.grid.min_samples_leaf=", check=True)
attr = json.load(open(os.path.join(run_dir, "validate", "metrics.json")))["attribution"]
gen = attr["generated"]
print(f"attribution: real ceiling {attr['real']['accuracy']:.3f}")
for a in ACCOUNTS:
    asked, base = gen[a]["share_asked"], gen["none"]["attributed"][a]
    print(f"attribution: {a} conditioned {asked:.3f} unconditioned {base:.3f} ({gen[a]['count']} texts)")
    c.check(asked >= 2 * base, f"{a}: conditioned share {asked:.3f} < 2 x unconditioned {base:.3f}")

# ---- keyword steering --------------------------------------------------------------------------
KW = ["moon", "dough"]


def hits(rows):
    return sum(1 for r in rows if any(re.search(rf"\b{k}\b", r["text"], re.I) for k in KW)) / len(rows)


steered = generate(N, NONE, "generate.seed=8", "generate.keywords=" + ", ".join(KW))
h0, h1 = hits(none), hits(steered)
lp0 = sum(r["mean_logprob"] for r in none) / N
lp1 = sum(r["mean_logprob"] for r in steered) / N
print(f"keywords {KW}: hit rate unsteered {h0:.3f} steered {h1:.3f}; "
      f"mean log-prob (unsteered model) {lp0:.3f} -> {lp1:.3f}")
c.check(h1 > h0, f"steering did not raise the hit rate: {h0:.3f} -> {h1:.3f}")
c.check(all(r.get("keywords") == ", ".join(KW) for r in steered), "a steered line lacks its keywords")
c.check(all("keywords" not in r for r in none), "an unsteered line has keywords")

# ---- bad input: one line, non-zero exit, nothing written --------------------------------------
for key, value in [("accounts", "nobody:1"), ("accounts", "ada_bakes:0"), ("accounts", "ada_bakes:-2"),
                   ("accounts", "ada_bakes:x"), ("accounts", "ada_bakes:nan"), ("keywords", "moon, ,rain")]:
    if os.path.exists(out):
        os.remove(out)
    p = run_elm("generate", DEMO, *GEN, "--set", "generate.count=3", "--set", f"generate.{key}={value}")
    msg = p.stderr.strip()
    bad = value.split(":")[0] if value == "nobody:1" else value.split(":")[-1] if key == "accounts" else ""
    c.check(p.returncode != 0, f"{key}={value}: exit 0")
    c.check(len(msg.splitlines()) == 1 and f"generate.{key}" in msg and bad in msg,
            f"{key}={value}: message {msg!r}")
    c.check(not os.path.exists(out) and not os.path.exists(out + ".part"), f"{key}={value}: wrote output")

shutil.rmtree(root, ignore_errors=True)
c.done()
