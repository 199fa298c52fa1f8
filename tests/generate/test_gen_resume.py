"""A rerun of generate after a kill keeps the finished texts of the `.part` and generates only the
missing ones, ending byte-identical to an uninterrupted run (issue #21, acceptance 4), on a demo
model trained for a few steps:
- a 2,000-text `elm generate` SIGKILLed at ~50% (the `.part`'s line count polled): the rerun
  reports K kept and 2,000 - K generated (K = the whole lines the `.part` held), and its
  tweets.jsonl equals the uninterrupted run's byte for byte, no `.part` or side file left;
- the same for batch sizes 1 and 7 and 1 or 2 threads (on the CPU a text depends on its batch:
  batches start at multiples of batch_size, a resumed batch is sampled whole);
- a torn last line is dropped, and a damaged line drops itself and everything after it;
- a `.part` from other settings is discarded (temperature, batch size, weights, KV cache,
  prefill, a changed weight byte of the model), while a byte-identical copy of the model folder still resumes;
- `elm run`'s generate stage: `elm run` SIGKILLed while it writes tweets.jsonl.part, then rerun:
  tweets.jsonl and stories.jsonl equal an uninterrupted run's."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from elmtest import ELM, Checks, run_elm, tmpdir  # noqa: E402
from demo_model import DEMO, train_demo  # noqa: E402

c = Checks()
root = tmpdir("elm-genresume-")
run_dir = train_demo(root)
gen_dir = os.path.join(run_dir, "generated")
out = os.path.join(gen_dir, "tweets.jsonl")
part, side = out + ".part", out + ".part.json"
BASE = ["--set", f"run.out_dir={root}", "--set", "generate.max_new_tokens=24", "--set", "generate.stories=0"]


def sets(count, extra):
    s = list(BASE) + ["--set", f"generate.count={count}"]
    for e in extra:
        s += ["--set", e]
    return s


def clear():
    for p in (out, part, side):
        if os.path.exists(p):
            os.remove(p)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def reference(count, *extra):
    """The uninterrupted run's tweets.jsonl."""
    clear()
    run_elm("generate", DEMO, *sets(count, extra), "--quiet", check=True)
    data = read(out)
    clear()
    return data


def whole_lines(path):
    with open(path, "rb") as f:
        data = f.read()
    return data.count(b"\n")


def kill_at(count, frac, *extra):
    """Starts `elm generate`, SIGKILLs it once the .part holds frac*count lines; returns the
    number of whole lines the .part held."""
    clear()
    p = subprocess.Popen([ELM, "generate", DEMO, *sets(count, extra), "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 600
    while time.time() < deadline and p.poll() is None:
        if os.path.exists(part) and whole_lines(part) >= frac * count:
            break
        time.sleep(0.01)
    p.send_signal(signal.SIGKILL)
    p.wait()
    c.check(p.returncode == -signal.SIGKILL, f"generate ended before the kill: {p.returncode}")
    return whole_lines(part) if os.path.exists(part) else 0


def rerun(count, *extra):
    """Reruns without --quiet; returns (kept, generated) from the final progress line."""
    p = run_elm("generate", DEMO, *sets(count, extra))
    c.check(p.returncode == 0, f"rerun failed: {p.stderr[-400:]}")
    done = re.findall(r"generate: (\d+)(?:/\d+ \(100%\))? tweets", p.stderr)
    kept = re.findall(r"(\d+) kept from the \.part", p.stderr)
    generated = int(done[-1]) if done else -1
    return (int(kept[-1]) if kept else 0), generated


def check_resumed(what, count, ref, held, *extra):
    kept, generated = rerun(count, *extra)
    print(f"{what}: the .part held {held} whole lines; the rerun kept {kept}, generated {generated}")
    c.check(0 < held <= count, f"{what}: the .part held {held} of {count} lines")
    c.check(kept == held, f"{what}: kept {kept}, the .part held {held}")
    c.check(generated == count - kept, f"{what}: generated {generated}, {count - kept} were missing")
    c.check(os.path.exists(out) and read(out) == ref, f"{what}: the result differs from an uninterrupted run")
    c.check(not os.path.exists(part) and not os.path.exists(side), f"{what}: a .part or side file stayed")


# A 2,000-text run killed at ~50%.
N = 2000
ref = reference(N)
n_ref = ref.count(b"\n")
c.check(n_ref == N, f"the reference has {n_ref} lines")
held = kill_at(N, 0.5)
saved_side = read(side) if os.path.exists(side) else b""
check_resumed("2000 texts killed at ~50%", N, ref, held)

# A torn last line goes; a damaged line goes with everything after it.
lines = ref.splitlines(keepends=True)
with open(side, "wb") as f:
    f.write(saved_side)
with open(part, "wb") as f:
    f.write(b"".join(lines[:1000]) + lines[1000][: len(lines[1000]) // 2])
check_resumed("a torn last line", N, ref, 1000)
with open(side, "wb") as f:
    f.write(saved_side)
with open(part, "wb") as f:
    f.write(b"".join(lines[:500]) + b'{"index":500,"seed":1337,"pro\n' + b"".join(lines[501:900]))
check_resumed("a damaged line 501", N, ref, 500)

# A .part that holds every text (killed before the rename): nothing is generated.
with open(side, "wb") as f:
    f.write(saved_side)
with open(part, "wb") as f:
    f.write(ref)
check_resumed("a complete .part", N, ref, N)

# Batch sizes and threads: each resumed run equals its own uninterrupted run.
M = 300
for batch, threads in ((1, 1), (7, 2), (16, 1)):
    extra = (f"generate.batch_size={batch}", f"run.threads={threads}")
    r = reference(M, *extra)
    held = kill_at(M, 0.5, *extra)
    check_resumed(f"batch {batch}, {threads} threads", M, r, held, *extra)
    if batch == 7:
        same = sum(a == b for a, b in zip(r.splitlines(), reference(M).splitlines()))
        print(f"batch 7 vs batch 16: {same}/{M} lines equal")


def discarded(what, *extra):
    """A .part left by a default run, rerun with other settings: nothing kept."""
    r = reference(M, *extra)
    held = kill_at(M, 0.5)
    c.check(held > 0, f"{what}: the kill left no lines")
    kept, generated = rerun(M, *extra)
    print(f"{what}: the .part held {held} lines; the rerun kept {kept}, generated {generated}")
    c.check(kept == 0 and generated == M, f"{what}: kept {kept} texts of other settings")
    c.check(os.path.exists(out) and read(out) == r, f"{what}: the result differs from an uninterrupted run")


discarded("temperature 0.9 -> 0.7", "generate.temperature=0.7")
discarded("batch size 16 -> 8", "generate.batch_size=8")
discarded("weights fp32 -> int8", "generate.weights=int8")
discarded("KV cache fp32 -> bf16", "generate.kv_cache=bf16")
discarded("prefill batched -> serial", "generate.prefill=serial")

# The model by content: a copy of the checkpoint folder resumes, one with a weight byte changed
# does not.
step = sorted(os.listdir(os.path.join(run_dir, "checkpoints")))[-1]
copy = os.path.join(root, "model-copy")
shutil.copytree(os.path.join(run_dir, "checkpoints", step), copy)
r = reference(M)
held = kill_at(M, 0.5)
check_resumed("the same model in another folder", M, r, held, f"generate.checkpoint={copy}")
weights = os.path.join(copy, "model.safetensors")
with open(weights, "r+b") as f:
    hlen = int.from_bytes(f.read(8), "little")
    f.seek(8 + hlen + 4 * 1000)  # a float of the first tensor
    b = f.read(4)
    f.seek(8 + hlen + 4 * 1000)
    f.write(bytes([b[0] ^ 0x40]) + b[1:])
discarded("a changed weight byte", f"generate.checkpoint={copy}")

# `elm run`'s generate stage (tweets, then 2 stories), killed while it writes the tweets.
RUN = ["--set", f"run.out_dir={root}", "--set", "generate.max_new_tokens=24", "--set", "generate.count=1000",
       "--set", "generate.stories=2", "--only", "generate", "--quiet"]
stories = os.path.join(gen_dir, "stories.jsonl")
clear()
run_elm("run", DEMO, *RUN, check=True)
ref_t, ref_s = read(out), read(stories)
os.remove(out)  # the next run's generate stage must run
os.remove(stories)
p = subprocess.Popen([ELM, "run", DEMO, *RUN], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.time() + 600
while time.time() < deadline and p.poll() is None:
    if os.path.exists(part) and whole_lines(part) >= 500:
        break
    time.sleep(0.01)
children = []
try:  # the stage runs in a child of `elm run`: both go
    with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
        children = [int(x) for x in f.read().split()]
except OSError:
    pass
p.send_signal(signal.SIGKILL)
p.wait()
for pid in children:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
for pid in children:
    for _ in range(500):
        if not os.path.exists(f"/proc/{pid}"):
            break
        time.sleep(0.01)
held = whole_lines(part) if os.path.exists(part) else 0
q = run_elm("run", DEMO, *RUN[:-1])
c.check(q.returncode == 0, f"elm run after the kill: {q.stderr[-400:]}")
kept = re.findall(r"(\d+) kept from the \.part", q.stderr)
kept = int(kept[-1]) if kept else 0
print(f"elm run killed in generate: the .part held {held} lines, the rerun kept {kept}")
c.check(0 < held < 1000 and kept == held, f"elm run: the .part held {held}, the rerun kept {kept}")
c.check(read(out) == ref_t, "elm run: tweets.jsonl differs from an uninterrupted run")
c.check(read(stories) == ref_s, "elm run: stories.jsonl differs from an uninterrupted run")

shutil.rmtree(root, ignore_errors=True)
c.done()
