"""`mpirun -np N elm train` with [train] zero = 1 (ZeRO-1: the AdamW moments sharded over the
ranks; issue 15, acceptance 1 "with ZeRO-1 too").

The setting of test_train_mpi.py: gpt2-tiny trained 20 steps on Markov-chain shards with a loss
mask over about a quarter of the targets, batch 6 in 2 accumulated micro-batches, clipped at a
norm the gradients pass at every step (the ZeRO norm: the shards' chunk sums of squares).
Checked, against one process with zero = 0:
- -np 1 with zero = 1: the same losses, bit for bit (one rank does not shard);
- -np 2 and -np 3 with zero = 1: per-step losses, gradient norms and validation losses within
  1e-5 relative; the start line says zero 1 and a per-rank optimizer state of about 1/N; the
  same kinds of log lines and the same checkpoints; the final weights and the moments of
  state.bin (gathered by rank 0) within 1e-4 of one process's, every element;
- step_10 of the 2-rank ZeRO run resumed in 1 rank (zero = 0) and in 3 ranks (zero = 1), and one
  process's step_10 resumed in 2 ranks with zero = 1: steps 11..20 on the same loss curve.
Skipped without mpirun or an MPI build."""
import json
import os
import shutil
import struct
import subprocess

import numpy as np

from elmtest import ELM, TINY_MODEL, Checks, mpi_env_or_skip, markov_shards, run_elm, tmpdir, write

c = Checks()
ENV = mpi_env_or_skip("test_train_mpi_zero")
REL = 1e-5
WEIGHTS_TOL = 1e-4

d = tmpdir("elm-train-zero-")
tokens = os.path.join(d, "tokens")
markov_shards(tokens)
rng = np.random.default_rng(15)
for split, n in (("train", 20000), ("val", 2000)):
    (rng.random(n) < 0.25).astype(np.uint8).tofile(os.path.join(tokens, split + ".mask"))

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


def mpirun(n, *args):
    return subprocess.run(["timeout", "600", "mpirun", "--oversubscribe", "-np", str(n), ELM,
                           "train", cfg, *args, "--quiet"], capture_output=True, text=True,
                          env=ENV)


def run_dir(tag):
    return os.path.join(d, tag, "t")


def log(tag):
    with open(os.path.join(run_dir(tag), "train_log.jsonl")) as f:
        return [json.loads(x) for x in f.read().splitlines()]


def series(lines, key):
    return {o["step"]: o[key] for o in lines if key in o}


def rel(a, b):
    return abs(a - b) / abs(b)


def close(tag, got, want, key, steps):
    for s in steps:
        if not c.check(s in got and s in want, f"{tag}: no {key} at step {s}"):
            return
        c.check(rel(got[s], want[s]) <= REL, f"{tag}: step {s} {key} {got[s]!r} vs {want[s]!r} "
                f"(rel {rel(got[s], want[s]):.2e})")


def worst(got, want, steps):
    return max(rel(got[s], want[s]) for s in steps if s in got and s in want)


def weights(ckpt):
    """model.safetensors as one float32 array, tensors in name order."""
    with open(os.path.join(ckpt, "model.safetensors"), "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    out = []
    for name in sorted(k for k in head if k != "__metadata__"):
        a, b = head[name]["data_offsets"]
        c.check(head[name]["dtype"] == "F32", f"{ckpt}: {name} is {head[name]['dtype']}")
        out.append(np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4"))
    return np.concatenate(out)


def moments(ckpt):
    """state.bin's m and v (checkpoint.h: a 128-byte header, then m and v)."""
    raw = np.fromfile(os.path.join(ckpt, "state.bin"), dtype=np.uint8)
    n = int(raw[32:40].view("<u8")[0])
    c.check(raw.size == 128 + 8 * n, f"{ckpt}: state.bin of {raw.size} bytes for {n} params")
    f = raw[128:].view("<f4")
    return f[:n], f[n:2 * n]


def same_arrays(tag, what, got, want):
    """Every element within WEIGHTS_TOL of want, relative to want's largest magnitude."""
    if not c.check(got.shape == want.shape, f"{tag}: {what} shape {got.shape} vs {want.shape}"):
        return
    scale = float(np.max(np.abs(want)))
    diff = float(np.max(np.abs(got - want))) / scale
    c.check(diff <= WEIGHTS_TOL, f"{tag}: {what} differ by {diff:.2e} of their largest")
    print(f"{tag}: {what} within {diff:.2e} of one process's (relative to the largest)")


p = run_elm("train", cfg, "--quiet")
c.check(p.returncode == 0, f"one process: exit {p.returncode}: {p.stderr[-2000:]}")
ref = log("plain")
want = {k: series(ref, k) for k in ("loss", "grad_norm", "val_loss")}
steps = range(1, 21)
c.check(sorted(want["loss"]) == list(steps), f"one process logged steps {sorted(want['loss'])}")
clipped = sum(want["grad_norm"][s] > CLIP for s in steps)
print(f"one process: {clipped} of 20 steps clipped")
c.check(clipped >= 10, f"the clip is not active: norms {want['grad_norm']}")
plain_state = ref[0]["optimizer_bytes_per_rank"]
c.check(plain_state == 8 * ref[0]["params"], f"one process's optimizer state {plain_state}")
ref_ck = os.path.join(run_dir("plain"), "checkpoints", "step_20")

# One rank with zero = 1 is zero = 0: the same losses, bit for bit, no "zero" in its start line.
p = mpirun(1, "--set", f"run.out_dir={d}/np1", "--set", "train.zero=1")
if c.check(p.returncode == 0, f"-np 1 zero: exit {p.returncode}: {p.stderr[-2000:]}"):
    c.check(series(log("np1"), "loss") == want["loss"], "-np 1 zero: the losses differ")
    c.check("zero" not in log("np1")[0], f"-np 1 zero: start line {log('np1')[0]}")


def strip(o):
    return sorted(k for k in o if k not in ("zero",))


for n in (2, 3):
    tag = f"zero{n}"
    p = mpirun(n, "--set", f"run.out_dir={d}/{tag}", "--set", "train.zero=1")
    if not c.check(p.returncode == 0, f"-np {n} zero: exit {p.returncode}: {p.stderr[-2000:]}"):
        continue
    got = log(tag)
    for key in ("loss", "grad_norm"):
        close(tag, series(got, key), want[key], key, steps)
    close(tag, series(got, "val_loss"), want["val_loss"], "val_loss", (10, 20))
    print(f"-np {n} zero = 1: worst relative loss difference "
          f"{worst(series(got, 'loss'), want['loss'], steps):.2e}, grad_norm "
          f"{worst(series(got, 'grad_norm'), want['grad_norm'], steps):.2e}")
    start = got[0]
    state = start.get("optimizer_bytes_per_rank", 0)
    c.check(start.get("zero") == 1 and start.get("ranks") == n, f"{tag}: start line {start}")
    # rank 0's shard: ceil(chunks / n) chunks of 65536 parameters (train_zero.h)
    chunks = -(-start["params"] // 65536)
    c.check(state == 8 * min(start["params"], -(-chunks // n) * 65536),
            f"{tag}: rank 0's optimizer state {state} bytes of {plain_state}")
    print(f"-np {n} zero = 1: optimizer state of rank 0 {state} bytes, one process {plain_state}")
    c.check([strip(o) for o in got] == [strip(o) for o in ref],
            f"{tag}: the log's lines differ in kind from one process's")
    ck = os.path.join(run_dir(tag), "checkpoints")
    c.check(sorted(os.listdir(ck)) == sorted(os.listdir(os.path.dirname(ref_ck))),
            f"{tag}: checkpoints {os.listdir(ck)}")
    if os.path.isdir(os.path.join(ck, "step_20")):
        same_arrays(tag, "weights", weights(os.path.join(ck, "step_20")), weights(ref_ck))
        for name, g, w in zip("mv", moments(os.path.join(ck, "step_20")), moments(ref_ck)):
            same_arrays(tag, f"moment {name}", g, w)

# Resumes: the ZeRO 2-rank step_10 in 1 rank (zero = 0) and 3 ranks (zero = 1); one process's
# step_10 in 2 ranks with zero = 1. Steps 11..20 on the uninterrupted run's curve.
cases = [("zero2", 1, "0"), ("zero2", 3, "1"), ("plain", 2, "1")]
for src, n, zero in cases:
    ck = os.path.join(run_dir(src), "checkpoints", "step_10")
    if not c.check(os.path.isdir(ck), f"{src} left no step_10"):
        continue
    tag = f"resume_{src}_{n}"
    args = ["--set", f"run.out_dir={d}/{tag}", "--set", f"train.zero={zero}", f"--from={ck}"]
    p = run_elm("train", cfg, *args, "--quiet") if n == 1 else mpirun(n, *args)
    if not c.check(p.returncode == 0, f"{tag}: exit {p.returncode}: {p.stderr[-2000:]}"):
        continue
    got = series(log(tag), "loss")
    c.check(sorted(got) == list(range(11, 21)), f"{tag}: logged steps {sorted(got)}")
    close(tag, got, want["loss"], "loss", range(11, 21))
    print(f"{src}'s step_10 resumed in {n} rank(s), zero = {zero}: worst relative loss "
          f"difference {worst(got, want['loss'], range(11, 21)):.2e}")

if c.failed == 0:
    shutil.rmtree(d, ignore_errors=True)
c.done()
