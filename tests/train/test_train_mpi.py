"""`mpirun -np N elm train`: data-parallel training on the CPU (issue 15, acceptance 1 without
ZeRO-1, and 6's batch size the ranks do not divide).

gpt2-tiny (../shared/fixtures/gpt2-tiny: 2 layers, 64 channels, vocab 50257) trained 20 steps
on Markov-chain shards with a loss mask that leaves about a quarter of the targets out (control
headers: train.condition = account, header_loss = off), so the ranks' rows count different
numbers of targets; batch 6 in 2 accumulated micro-batches, clipping at a norm the gradients
pass. Checked:
- the per-step losses, gradient norms and validation losses at -np 2 and -np 3 are within 1e-5
  relative of one process's with the same global batch (-np 1: the same, bit for bit);
- rank 0 alone writes: one log with one process's lines, the same checkpoints;
- step_10 of the 2-rank run resumed (--from) in 1 and in 3 ranks logs steps 11..20 within 1e-5
  of the uninterrupted run, and so does --resume in the 2-rank run's own folder on 3 ranks;
- batch_size 5 at -np 2, and configs that differ across the ranks: one line from rank 0 naming
  the key, a non-zero exit, no run folder; a shard missing on rank 1's node: one line naming
  rank 1 and the file, nothing in the run folder but its lock;
- a SIGTERM to one of 2 ranks stops both at the same step, with its checkpoint, exit 0.
Skipped without mpirun or an MPI build."""
import json
import os
import shutil
import signal
import subprocess
import time

import numpy as np

from elmtest import ELM, TINY_MODEL, Checks, child_pids, mpi_env_or_skip, markov_shards, run_elm, tmpdir, write

c = Checks()
ENV = mpi_env_or_skip("test_train_mpi")
REL = 1e-5
VOCAB = 50257

d = tmpdir("elm-train-mpi-")
tokens = os.path.join(d, "tokens")
markov_shards(tokens, vocab=VOCAB)
rng = np.random.default_rng(15)
for split, n in (("train", 20000), ("val", 2000)):
    # 1 = a header's token, left out of the loss: about a quarter, in runs as headers come.
    mask = (rng.random(n) < 0.25).astype(np.uint8)
    mask.tofile(os.path.join(tokens, split + ".mask"))

CLIP = 0.5
cfg = write(os.path.join(d, "t.ini"), f"""[run]
name = t
out_dir = {d}/plain
threads = 1
seed = 7
{TINY_MODEL}[train]
data = {tokens}
condition = account
header_loss = false
batch_size = 6
seq_len = 16
grad_accum = 2
steps = 20
lr = 3e-3
min_lr = 1e-4
warmup_steps = 5
grad_clip = {CLIP}
eval_every = 10
eval_batches = 1
checkpoint_every = 10
keep_last = 3
""")


def mpirun(*blocks):
    """mpirun with one `-np N elm train CONFIG ARGS... --quiet` block per (N, args)."""
    cmd = ["timeout", "600", "mpirun", "--oversubscribe"]
    for i, (n, args) in enumerate(blocks):
        cmd += ([":"] if i else []) + ["-np", str(n), ELM, "train", cfg, *args, "--quiet"]
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV)


def run_dir(tag):
    return os.path.join(d, tag, "t")


def log(tag):
    with open(os.path.join(run_dir(tag), "train_log.jsonl")) as f:
        return [json.loads(x) for x in f.read().splitlines()]


def series(lines, key):
    return {o["step"]: o[key] for o in lines if key in o}


def close(tag, got, want, key, steps):
    """Every step's value of key within REL of the reference's."""
    for s in steps:
        if not c.check(s in got and s in want, f"{tag}: no {key} at step {s}"):
            return
        a, b = got[s], want[s]
        c.check(abs(a - b) <= REL * abs(b), f"{tag}: step {s} {key} {a!r} vs {b!r} "
                f"(rel {abs(a - b) / abs(b):.2e})")


def worst(got, want, steps):
    return max(abs(got[s] - want[s]) / abs(want[s]) for s in steps if s in got and s in want)


p = run_elm("train", cfg, "--quiet")
c.check(p.returncode == 0, f"one process: exit {p.returncode}: {p.stderr[-2000:]}")
ref = log("plain")
want = {k: series(ref, k) for k in ("loss", "grad_norm", "val_loss")}
steps = range(1, 21)
c.check(sorted(want["loss"]) == list(steps), f"one process logged steps {sorted(want['loss'])}")
clipped = sum(want["grad_norm"][s] > CLIP for s in steps)
print(f"one process: {clipped} of 20 steps clipped, grad_norm {min(want['grad_norm'].values()):.3f}"
      f"..{max(want['grad_norm'].values()):.3f}")
c.check(clipped >= 10, f"the clip is not active: norms {want['grad_norm']}")

# A job of one is one process: the same losses, bit for bit.
p = mpirun((1, ["--set", f"run.out_dir={d}/np1"]))
if c.check(p.returncode == 0, f"-np 1: exit {p.returncode}: {p.stderr[-2000:]}"):
    c.check(series(log("np1"), "loss") == want["loss"],
            "-np 1: the losses differ from one process's")

for n in (2, 3):
    tag = f"np{n}"
    p = mpirun((n, ["--set", f"run.out_dir={d}/{tag}"]))
    if not c.check(p.returncode == 0, f"-np {n}: exit {p.returncode}: {p.stderr[-2000:]}"):
        continue
    got = log(tag)
    for key in ("loss", "grad_norm"):
        close(tag, series(got, key), want[key], key, steps)
    close(tag, series(got, "val_loss"), want["val_loss"], "val_loss", (10, 20))
    print(f"-np {n}: worst relative loss difference "
          f"{worst(series(got, 'loss'), want['loss'], steps):.2e}")
    # Rank 0 alone wrote: the log has one process's lines, the same checkpoints are there.
    c.check([sorted(o) for o in got] == [sorted(o) for o in ref],
            f"-np {n}: the log's lines differ in kind from one process's")
    c.check(sorted(os.listdir(os.path.join(run_dir(tag), "checkpoints"))) ==
            sorted(os.listdir(os.path.join(run_dir("plain"), "checkpoints"))),
            f"-np {n}: checkpoints {os.listdir(os.path.join(run_dir(tag), 'checkpoints'))}")

# Resume the 2-rank run's step_10 in 1 and in 3 ranks: steps 11..20 as the uninterrupted run.
ck = os.path.join(run_dir("np2"), "checkpoints", "step_10")
if c.check(os.path.isdir(ck), "the 2-rank run left no step_10"):
    for n in (1, 3):
        tag = f"resume{n}"
        args = ["--set", f"run.out_dir={d}/{tag}", f"--from={ck}"]
        p = run_elm("train", cfg, *args, "--quiet") if n == 1 else mpirun((n, args))
        if not c.check(p.returncode == 0,
                       f"resume in {n}: exit {p.returncode}: {p.stderr[-2000:]}"):
            continue
        got = series(log(tag), "loss")
        c.check(sorted(got) == list(range(11, 21)), f"resume in {n}: logged steps {sorted(got)}")
        close(tag, got, want["loss"], "loss", range(11, 21))
        print(f"resume of the 2-rank step_10 in {n}: worst relative loss difference "
              f"{worst(got, want['loss'], range(11, 21)):.2e}")

# --resume in the 2-rank run's own folder on 3 ranks, as after a kill past step_10: the log's
# lines after step 10 go, steps 11..20 are logged again, once each, on the same curve.
own = run_dir("own3")
if c.check(os.path.isdir(ck), "the 2-rank run left no step_10"):
    shutil.copytree(run_dir("np2"), own)
    shutil.rmtree(os.path.join(own, "checkpoints", "step_20"))
    os.remove(os.path.join(own, ".lock"))
    p = mpirun((3, ["--set", f"run.out_dir={d}/own3", "--resume"]))
    if c.check(p.returncode == 0, f"--resume in 3: exit {p.returncode}: {p.stderr[-2000:]}"):
        lines = log("own3")
        got = [o["step"] for o in lines if "loss" in o]
        c.check(got == list(steps), f"--resume in 3: logged steps {got}")
        close("own3", series(lines, "loss"), want["loss"], "loss", steps)
        c.check(sorted(os.listdir(os.path.join(own, "checkpoints"))) == ["step_10", "step_20"],
                f"--resume in 3: checkpoints {os.listdir(os.path.join(own, 'checkpoints'))}")


def elm_lines(text):
    return [l for l in text.splitlines() if l.startswith("elm ")]


# Batch 5 over 2 ranks: one line naming the key and the ranks; nothing written.
p = mpirun((2, ["--set", f"run.out_dir={d}/odd", "--set", "train.batch_size=5"]))
lines = elm_lines(p.stderr)
c.check(p.returncode != 0, f"batch 5 at -np 2: exit {p.returncode}")
c.check(len(lines) == 1 and "[train] batch_size = 5" in lines[0] and "2 ranks" in lines[0],
        f"batch 5 at -np 2: {lines} {p.stderr[-1500:]}")
c.check(not os.path.exists(f"{d}/odd"), "batch 5 at -np 2 wrote into the run folder")

# Configs that differ across the ranks: rank 0 names the key; nothing written.
p = mpirun((1, ["--set", f"run.out_dir={d}/mismatch"]),
           (1, ["--set", f"run.out_dir={d}/mismatch", "--set", "train.lr=1e-3"]))
lines = elm_lines(p.stderr)
c.check(p.returncode != 0 and len(lines) == 1 and "rank 1 has train.lr" in lines[0],
        f"mismatched configs: exit {p.returncode}, {lines} {p.stderr[-1500:]}")
c.check(not os.path.exists(f"{d}/mismatch"), "mismatched configs wrote into the run folder")


# A shard missing on one rank's node (rank 1 runs in a folder whose relative train.data is
# empty; the configs' text agrees): rank 0 says which rank, every rank exits non-zero, no log.
for node, have in (("nodeA", True), ("nodeB", False)):
    os.makedirs(os.path.join(d, node))
    with open(cfg) as f:
        text = f.read().replace(f"data = {tokens}", "data = tokens")
    write(os.path.join(d, node, "t.ini"), text.replace(f"{d}/plain", f"{d}/nodes"))
    if have:
        os.symlink(tokens, os.path.join(d, node, "tokens"))
    else:
        os.makedirs(os.path.join(d, node, "tokens"))
p = subprocess.run(["timeout", "300", "mpirun", "--oversubscribe",
                    "-wdir", os.path.join(d, "nodeA"), "-np", "1", ELM, "train", "t.ini", ":",
                    "-wdir", os.path.join(d, "nodeB"), "-np", "1", ELM, "train", "t.ini"],
                   capture_output=True, text=True, env=ENV)
lines = elm_lines(p.stderr)
c.check(p.returncode != 0 and len(lines) == 1 and
        lines[0].startswith("elm train: rank 1: tokens/train.bin: not found"),
        f"a shard missing on rank 1: exit {p.returncode}, {lines} {p.stderr[-1500:]}")
nodes = run_dir("nodes")
c.check(not os.path.exists(nodes) or os.listdir(nodes) == [".lock"],
        f"a shard missing on rank 1 wrote {os.listdir(nodes) if os.path.exists(nodes) else []}")



# A SIGTERM to one rank stops both at the end of the same step, with a checkpoint, exit 0.
long_run = ["--set", f"run.out_dir={d}/stop", "--set", "train.steps=100000", "--set",
            "train.checkpoint_every=0", "--set", "train.eval_every=0", "--quiet"]
mp = subprocess.Popen(["timeout", "600", "mpirun", "--oversubscribe", "-np", "2", ELM, "train",
                       cfg, *long_run], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                      env=ENV)
stop_log = os.path.join(run_dir("stop"), "train_log.jsonl")
deadline = time.time() + 120
while time.time() < deadline and mp.poll() is None:
    if os.path.exists(stop_log) and sum(1 for _ in open(stop_log)) >= 4:
        break
    time.sleep(0.2)
ranks = [q for r in child_pids(mp.pid) for q in [r, *child_pids(r)]
         if os.path.basename(os.readlink(f"/proc/{q}/exe")) == "elm"]
c.check(len(ranks) == 2, f"found ranks {ranks} under mpirun")
if ranks:
    os.kill(ranks[-1], signal.SIGTERM)
out, errs = mp.communicate(timeout=300)
c.check(mp.returncode == 0, f"a SIGTERM to one rank: exit {mp.returncode}: {errs[-1500:]}")
got = log("stop")
last = max((o["step"] for o in got if "loss" in o), default=0)
ckpts = [o["checkpoint"] for o in got if "checkpoint" in o]
c.check(0 < last < 100000 and ckpts == [f"checkpoints/step_{last}"],
        f"a SIGTERM to one rank: last step {last}, checkpoints {ckpts}")

if c.failed == 0:
    shutil.rmtree(d, ignore_errors=True)
c.done()
