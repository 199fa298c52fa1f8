"""The cache of `elm run` never takes a failed, interrupted or tampered stage as done (issue #21,
reproductions 2, 4 and 7, and a damaged manifest). Each case ends with a plain rerun whose
tweets.jsonl and metrics.json (timings aside) must equal those of an uninterrupted run:
- Ctrl-C (SIGINT to the run's process group) once training has written its first checkpoint:
  exit 130 with one line naming the stage; the stage had saved a checkpoint at its step, and the
  rerun resumes from it instead of taking the half-trained model as the study's (the final
  checkpoint equals the uninterrupted run's byte for byte); SIGTERM the same with exit 143; a
  second Ctrl-C stops at once and the rerun still ends as the uninterrupted run;
- `--only clean` after a full run keeps the later stages' records (they stay cached);
- tweets.jsonl overwritten by hand (`elm generate --count 5`): the output hash no longer matches
  the manifest, so generate runs again (and any later stage whose inputs then differ);
- checkpoints/ deleted: train runs again; the trained tokenizer/ deleted or changed: tokenize runs
  again; stories.jsonl deleted: generate runs again; with
  stories = 0 an earlier run's stories.jsonl does not stay behind;
- a truncated manifest.json: a warning naming it, then every stage runs, no crash;
- a run path with an apostrophe survives three trainings (no shell in between), and one with
  `[`, `*` and `?` runs and caches (literal paths never go through glob's patterns)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from elmtest import ELM, Checks, SOURCE, run_elm, tmpdir  # noqa: E402

c = Checks()
out = tmpdir()
demo = os.path.join(SOURCE, "configs", "demo.ini")
small = ["--set", "train.steps=40", "--set", "train.eval_every=10", "--set", "train.checkpoint_every=10",
         "--set", "generate.count=60", "--set", "generate.stories=1", "--set", "generate.max_new_tokens=30",
         "--set", "validate.models=nb", "--set", "topics.iterations=5", "--set", "topics.sweep.k=2,3",
         "--set", f"run.out_dir={out}"]


def args(name, *extra):
    return [demo, *small, "--set", f"run.name={name}", *extra]


def run(name, *extra, quiet=True):
    p = run_elm("run", *args(name, *extra), *(["--quiet"] if quiet else []))
    c.check(p.returncode == 0, f"elm run {name} {extra}: {p.stderr.strip()[-400:]}")
    return p


def statuses(name):
    man = json.load(open(os.path.join(out, name, "manifest.json")))
    return {s["name"]: s.get("status") for s in man["stages"]}


def result(name):
    """tweets.jsonl's bytes and metrics.json without timings and the run's name."""
    m = json.load(open(os.path.join(out, name, "metrics.json")))
    m.pop("timings", None)
    m.get("run", {}).pop("name", None)
    with open(os.path.join(out, name, "generated", "tweets.jsonl"), "rb") as f:
        return f.read(), m


def same_as_ref(name, what):
    tweets, m = result(name)
    c.check(tweets == ref_tweets, f"{what}: tweets.jsonl differs from the uninterrupted run's")
    c.check(m == ref_metrics, f"{what}: metrics.json differs: "
            + str([k for k in set(m) | set(ref_metrics) if m.get(k) != ref_metrics.get(k)]))


run("ref")
ref_tweets, ref_metrics = result("ref")
c.check(ref_tweets.count(b"\n") == 60, "the reference run wrote 60 tweets")

# Ctrl-C during training, then the same command again.
p = subprocess.Popen([ELM, "run", *args("int"), "--quiet"], stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE, text=True, start_new_session=True)
first = os.path.join(out, "int", "checkpoints", "step_10")
t0 = time.time()
while not os.path.isdir(first) and p.poll() is None and time.time() - t0 < 120:
    time.sleep(0.02)
os.killpg(p.pid, signal.SIGINT)
_, err = p.communicate(timeout=120)
c.check(p.returncode == 130, f"the interrupted run exits 130 ({p.returncode})")
lines = err.strip().splitlines()
c.check(len(lines) == 1 and "interrupted at stage train" in lines[0] and "rerun to continue" in lines[0]
        and "stopped at step" in lines[0], f"one line says where it stopped and what to do: {lines}")
st = statuses("int")
landed = st.get("train") == "failed" and "generate" not in st
c.check(landed, f"the interrupt landed in training: {st}")
run("int")
st = statuses("int")
c.check(st["train"] == "ran", f"the rerun trains again (train {st['train']})")
c.check(not os.path.exists(os.path.join(out, "int", "checkpoints.old")),
        "the rerun resumed from the interrupted training's checkpoint (nothing moved aside)")
for f in ("model.safetensors", "state.bin"):
    with open(os.path.join(out, "int", "checkpoints", "step_40", f), "rb") as a, \
            open(os.path.join(out, "ref", "checkpoints", "step_40", f), "rb") as b:
        c.check(a.read() == b.read(), f"the resumed run's final {f} equals the uninterrupted run's")
same_as_ref("int", "after Ctrl-C in training")

# SIGTERM: the same, with exit status 143.
p = subprocess.Popen([ELM, "run", *args("term"), "--quiet"], stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE, text=True)
t0 = time.time()
while not os.path.isdir(os.path.join(out, "term", "checkpoints", "step_10")) and p.poll() is None \
        and time.time() - t0 < 120:
    time.sleep(0.02)
p.send_signal(signal.SIGTERM)
p.communicate(timeout=120)
c.check(p.returncode == 143, f"SIGTERM: exit 143 ({p.returncode})")
run("term")
same_as_ref("term", "after SIGTERM in training")

# A second Ctrl-C stops at once (no checkpoint at the current step); the rerun still resumes from
# the newest intact checkpoint and ends as the uninterrupted run.
p = subprocess.Popen([ELM, "run", *args("int2"), "--quiet"], stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE, text=True, start_new_session=True)
t0 = time.time()
while not os.path.isdir(os.path.join(out, "int2", "checkpoints", "step_10")) and p.poll() is None \
        and time.time() - t0 < 120:
    time.sleep(0.02)
os.killpg(p.pid, signal.SIGINT)
time.sleep(0.01)
try:
    os.killpg(p.pid, signal.SIGINT)
except ProcessLookupError:
    pass
_, err = p.communicate(timeout=120)
c.check(p.returncode == 130, f"two Ctrl-C: exit 130 ({p.returncode}): {err.strip()[-300:]}")
c.check("interrupted at stage train" in err, f"two Ctrl-C: the line names the stage: {err.strip()[-300:]}")
st = statuses("int2")
c.check(st.get("train") == "failed" and "generate" not in st, f"two Ctrl-C landed in training: {st}")
run("int2")
same_as_ref("int2", "after two Ctrl-C in training")

# --only keeps the other stages' records.
run("only")
run("only", "--only", "clean")
st = statuses("only")
c.check(list(st) == list(statuses("ref")), f"--only clean keeps every stage's record: {list(st)}")
run("only")
st = statuses("only")
c.check(all(v == "cached" for v in st.values()), f"after --only clean, a plain run is all cached: {st}")

# An output changed behind the cache's back.
p = run_elm("generate", *args("only"), "--count", "5", "--quiet")
c.check(p.returncode == 0, f"elm generate --count 5: {p.stderr.strip()[-300:]}")
run("only")
st = statuses("only")
c.check(st["generate"] == "ran", f"a tampered tweets.jsonl re-runs generate: {st}")
c.check(all(st[s] == "cached" for s in ("ingest", "clean", "tokenize", "train")),
        f"the stages before generate stay cached: {st}")
same_as_ref("only", "after tweets.jsonl was overwritten")

# Deleting checkpoints/ re-runs train (they are a declared output; generate failed on old code).
shutil.rmtree(os.path.join(out, "only", "checkpoints"))
run("only")
st = statuses("only")
c.check(st["train"] == "ran", f"a deleted checkpoints/ re-runs train: {st}")
same_as_ref("only", "after checkpoints/ was deleted")

# The trained vocabulary (tokenizer/, written by tokenize only when it trains one): deleted or
# changed by hand, tokenize runs again and writes it back.
vocab = os.path.join(out, "only", "tokenizer")
with open(os.path.join(vocab, "vocab.bpe"), "rb") as f:
    ref_vocab = f.read()
shutil.rmtree(vocab)
run("only")
st = statuses("only")
c.check(st["tokenize"] == "ran", f"a deleted tokenizer/ re-runs tokenize: {st}")
c.check(open(os.path.join(vocab, "vocab.bpe"), "rb").read() == ref_vocab, "and writes it back")
with open(os.path.join(vocab, "vocab.bpe"), "ab") as f:
    f.write(b"x y\n")
run("only")
c.check(statuses("only")["tokenize"] == "ran", "a changed tokenizer/vocab.bpe re-runs tokenize")
same_as_ref("only", "after tokenizer/ was deleted and changed")

# stories.jsonl: deleted by hand, generate runs again; with stories = 0 no old file is left.
stories = os.path.join(out, "only", "generated", "stories.jsonl")
with open(stories, "rb") as f:
    ref_stories = f.read()
os.remove(stories)
run("only")
c.check(statuses("only")["generate"] == "ran", "a deleted stories.jsonl re-runs generate")
c.check(os.path.exists(stories) and open(stories, "rb").read() == ref_stories, "and writes it again")
run("only", "--set", "generate.stories=0")
c.check(not os.path.exists(stories), "with generate.stories = 0 the old stories.jsonl is gone")
m = json.load(open(os.path.join(out, "only", "metrics.json")))
c.check(not m.get("stories"), f"and metrics.json shows no stories: {str(m.get('stories'))[:100]}")

# A damaged manifest means no cache, with a warning.
mpath = os.path.join(out, "only", "manifest.json")
with open(mpath, "rb") as f:
    text = f.read()
with open(mpath, "wb") as f:
    f.write(text[: len(text) // 2])
p = run("only", quiet=False)
c.check("manifest.json is damaged" in p.stderr, f"the damaged manifest is named: {p.stderr[:300]}")
st = statuses("only")
c.check(all(v == "ran" for v in st.values()), f"with a damaged manifest every stage runs: {st}")
same_as_ref("only", "after a damaged manifest")

# A run folder whose path has an apostrophe: the third training moves aside the second's
# checkpoints and removes the first's (elm's own file functions, no shell).
for steps in (10, 12, 14):
    run("it's", "--set", f"train.steps={steps}", "--set", "generate.count=10")
c.check(os.path.isdir(os.path.join(out, "it's", "checkpoints.old", "step_12")),
        "the third training kept the second's checkpoints aside")

# A run folder named with glob's special characters is matched as itself (it failed every run:
# "finished without writing corpus.jsonl"), and its second run is all cached.
run("a[1]*?", "--set", "train.steps=10", "--set", "generate.count=10")
run("a[1]*?", "--set", "train.steps=10", "--set", "generate.count=10")
st = statuses("a[1]*?")
c.check(all(v == "cached" for v in st.values()), f"a run folder named a[1]*? caches: {st}")

shutil.rmtree(out, ignore_errors=True)
c.done()
