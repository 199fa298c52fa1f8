"""One writer per run folder (issue #21, reproduction 3 and acceptance 3): two `elm run`s on one
folder give one success and one clear refusal naming the holder's pid and command, the
survivor's train_log.jsonl is an uninterrupted run's; `kill -9` of the holder leaves a folder a new
run takes over (the kernel drops the flock; the holder's stage process dies with it), and that
run finishes the study as an uninterrupted one does (tweets.jsonl, metrics.json without its
timings and the final checkpoint byte for byte). Also: a stage command (`elm train`) is
refused while `elm run` holds the folder."""
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
         "--set", "generate.count=40", "--set", "generate.stories=0", "--set", "generate.max_new_tokens=30",
         "--set", "validate.models=nb", "--set", "topics.iterations=5", "--set", "topics.sweep.k=2,3",
         "--set", f"run.out_dir={out}", "--quiet"]


def args(name):
    return [demo, *small, "--set", f"run.name={name}"]


def start(name):
    return subprocess.Popen([ELM, "run", *args(name)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def wait_for(path, p, limit=120):
    t0 = time.time()
    while not os.path.exists(path) and p.poll() is None and time.time() - t0 < limit:
        time.sleep(0.02)
    return os.path.exists(path)


def tweets(name):
    with open(os.path.join(out, name, "generated", "tweets.jsonl"), "rb") as f:
        return f.read()


def study(name):
    """metrics.json without timings and the run's name, and the final checkpoint's bytes."""
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items()
                    if k not in ("seconds", "wall_s", "peak_rss_mb", "timings")}
        return [strip(v) for v in x] if isinstance(x, list) else x
    m = json.load(open(os.path.join(out, name, "metrics.json")))
    m.get("run", {}).pop("name", None)
    ck = {}
    for f in ("model.safetensors", "state.bin"):
        with open(os.path.join(out, name, "checkpoints", "step_40", f), "rb") as fh:
            ck[f] = fh.read()
    return strip(m), ck


p = run_elm("run", *args("ref"))
c.check(p.returncode == 0, f"reference run: {p.stderr[-300:]}")

# Two writers at once.
a = start("two")
c.check(wait_for(os.path.join(out, "two", "checkpoints"), a), "the first run reaches training")
t0 = time.time()
b = run_elm("run", *args("two"))
c.check(b.returncode != 0, "the second run on the same folder is refused")
c.check(f"in use by pid {a.pid} elm run" in b.stderr, f"the refusal names the holder: {b.stderr.strip()}")
c.check(len(b.stderr.strip().splitlines()) == 1, f"the refusal is one line: {b.stderr.strip()}")
c.check(time.time() - t0 < 10, "the refusal comes at once")
t = run_elm("train", *args("two"))
c.check(t.returncode != 0 and "in use by pid" in t.stderr, f"elm train is refused too: {t.stderr.strip()}")
a.communicate(timeout=300)
c.check(a.returncode == 0, "the first run finishes")

def log_lines(name):
    """train_log.jsonl's lines without their timings."""
    drop = ("ms", "tok_per_s")
    rows = [json.loads(line) for line in open(os.path.join(out, name, "train_log.jsonl"))]
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


c.check(log_lines("two") == log_lines("ref"),
        f"the survivor's train_log.jsonl is the reference's ({len(log_lines('two'))} lines vs {len(log_lines('ref'))})")
c.check(tweets("two") == tweets("ref"), "the survivor's tweets equal the reference run's")
c.check(study("two") == study("ref"),
        "the survivor's metrics.json (timings aside) and final checkpoint equal the reference's")

# kill -9 of the holder (the elm run process only), then a new run.
k = start("kill")
c.check(wait_for(os.path.join(out, "kill", "checkpoints", "step_10"), k), "the run reaches its first checkpoint")
os.kill(k.pid, signal.SIGKILL)
k.communicate(timeout=60)
p = run_elm("run", *args("kill"))
c.check(p.returncode == 0, f"after kill -9 a new run proceeds: {p.stderr.strip()[-300:]}")
c.check(tweets("kill") == tweets("ref"), "and finishes the study as the reference run did")
c.check(study("kill") == study("ref"), "metrics.json and the final checkpoint included")
shutil.rmtree(out, ignore_errors=True)
c.done()
