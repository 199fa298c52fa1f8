"""A rank lost mid-training (issue 15, acceptance 3): `mpirun -np 2 elm train` on gpt2-tiny, one
rank SIGKILLed once a few checkpoints are on disk:
- SIGKILL of rank 1, then of rank 0: the job ends within 60 s of the kill with a non-zero exit,
  and mpirun names the lost rank (Open MPI sees the process die and ends the others);
- SIGSTOP of rank 1 (a rank that hangs: mpirun sees nothing) with ELM_DIST_TIMEOUT=15: rank 0
  itself fails within 60 s with "rank 0 of 2 waited 15 s for the other ranks (rank 1 died or
  hangs ...)", and the job exits non-zero;
- no half-written checkpoint: every checkpoints/step_N folder holds a complete model
  (config.json and model.safetensors), and no temporary folder is left in checkpoints/;
- after each, the last checkpoint on disk resumes: `elm train --resume` in one process continues
  from it, logging each step after it once;
- the same SIGKILL and SIGSTOP of rank 1 with [train] zero = 1 (ZeRO-1: the rank dies or hangs
  in a reduce-scatter, an all-gather or the moments' gather), resumed by one process with zero = 0.
Skipped without mpirun or an MPI build."""
import json
import os
import shutil
import signal
import subprocess
import time

from elmtest import ELM, SHARED, Checks, child_pids, mpi_env_or_skip, run_elm, tmpdir, write

c = Checks()
ENV = mpi_env_or_skip("test_train_mpi_fault")
BUILD = os.environ.get("ELM_BUILD", ".")
KIT = os.path.join(BUILD, "tests", "train_test_trainkit")
VOCAB = 50257
STEPS = 100000
# The collectives' timeout when a rank hangs: well above a checkpoint's write on a busy machine,
# well below the 60 s the job has to end in.
HUNG = "15"

d = tmpdir("elm-train-fault-")
tokens = os.path.join(d, "tokens")
os.makedirs(tokens)
for split, n, seed in (("train", 20000, 1), ("val", 2000, 2)):
    subprocess.run([KIT, "shard", os.path.join(tokens, split + ".bin"), str(VOCAB), str(n),
                    str(seed)], check=True)
cfg = write(os.path.join(d, "t.ini"), f"""[run]
name = t
out_dir = {d}/out
threads = 1
seed = 7
[model]
init = {os.path.join(SHARED, "fixtures", "gpt2-tiny")}
preset = custom
n_layer = 2
n_head = 4
n_embd = 64
n_ctx = 64
[train]
data = {tokens}
batch_size = 4
seq_len = 16
steps = {STEPS}
lr = 1e-3
eval_every = 0
checkpoint_every = 5
keep_last = 2
""")
run_dir = os.path.join(d, "out", "t")



def alive(pid):
    """Whether pid runs (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def rank_of(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        env = dict(x.split(b"=", 1) for x in f.read().split(b"\0") if b"=" in x)
    return int(env.get(b"OMPI_COMM_WORLD_RANK", b"-1"))


def steps_logged():
    path = os.path.join(run_dir, "train_log.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(x) for x in f.read().splitlines() if x.endswith("}")]


def checkpoints():
    ck = os.path.join(run_dir, "checkpoints")
    return sorted(os.listdir(ck)) if os.path.isdir(ck) else []


def kill_one(victim, sig, timeout, zero):
    """Starts the 2-rank run ([train] zero as given), sends sig to rank `victim` past step 12;
    returns (exit, stderr, seconds from the signal to the end)."""
    shutil.rmtree(os.path.join(d, "out"), ignore_errors=True)
    mp = subprocess.Popen(["timeout", "300", "mpirun", "--oversubscribe", "-x", "ELM_DIST_TIMEOUT",
                           "-np", "2", ELM, "train", cfg, "--set", f"train.zero={zero}",
                           "--quiet"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=dict(ENV, ELM_DIST_TIMEOUT=timeout))
    deadline = time.time() + 120
    while time.time() < deadline and mp.poll() is None:
        if sum(1 for o in steps_logged() if "loss" in o) >= 12:
            break
        time.sleep(0.1)
    ranks = {rank_of(q): q for r in child_pids(mp.pid) for q in [r, *child_pids(r)]
             if os.path.basename(os.readlink(f"/proc/{q}/exe")) == "elm"}
    if not c.check(sorted(ranks) == [0, 1], f"found ranks {ranks} under mpirun"):
        mp.kill()
        mp.communicate()
        return None, "", 0
    os.kill(ranks[victim], sig)
    t0 = time.time()
    try:
        _, errs = mp.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        mp.kill()
        _, errs = mp.communicate()
    # mpirun may return while a rank it signalled is still on its way out (it stops at the end of
    # its step and may save a checkpoint): the job has ended when no rank is left.
    while time.time() - t0 < 120 and any(alive(q) for q in ranks.values()):
        time.sleep(0.1)
    return mp.returncode, errs, time.time() - t0


def resume(what):
    """The last checkpoint on disk resumes in one process: 3 more steps, each logged once."""
    ck = checkpoints()
    last = max(int(x.split("_")[1]) for x in ck) if ck else 0
    if not c.check(last > 0, f"{what}: no checkpoint to resume"):
        return
    p = run_elm("train", cfg, "--resume", "--set", f"train.steps={last + 3}", "--quiet")
    c.check(p.returncode == 0, f"{what}: --resume: exit {p.returncode}: {p.stderr[-1500:]}")
    got = [o["step"] for o in steps_logged() if "loss" in o]
    after = [s for s in got if s > last]
    c.check(after == [last + 1, last + 2, last + 3], f"{what}: --resume from step_{last}: {after}")
    print(f"  --resume in one process from step_{last}: steps {after} logged")


for victim, sig, zero in ((1, signal.SIGKILL, 0), (0, signal.SIGKILL, 0), (1, signal.SIGSTOP, 0),
                          (1, signal.SIGKILL, 1), (1, signal.SIGSTOP, 1)):
    rc, errs, took = kill_one(victim, sig, HUNG if sig == signal.SIGSTOP else "1800", zero)
    if rc is None:
        continue
    print(f"rank {victim} {sig.name} (zero = {zero}): the job ended in {took:.1f} s, exit {rc}; "
          "its messages:")
    for line in errs.splitlines():
        if line.strip():
            print("  |", line)
    c.check(rc != 0, f"rank {victim} killed: exit 0")
    c.check(took < 60, f"rank {victim} killed: the job took {took:.1f} s to end")
    c.check(f"rank {victim}" in errs, f"rank {victim} killed: no message names rank {victim}")
    if sig == signal.SIGSTOP:
        c.check("elm train: " in errs and f"rank 0 of 2 waited {HUNG} s for the other ranks (rank 1 "
                "died or hangs" in errs, f"rank 1 stopped: rank 0 did not say so: {errs[-1500:]}")
    # No half-written checkpoint: the folders there are complete models.
    ck = checkpoints()
    c.check(ck and all(x.startswith("step_") for x in ck), f"rank {victim} killed: checkpoints {ck}")
    for x in ck:
        for f in ("config.json", "model.safetensors"):
            c.check(os.path.exists(os.path.join(run_dir, "checkpoints", x, f)),
                    f"rank {victim} killed: {x} has no {f}")
    resume(f"rank {victim} {sig.name} zero {zero}")

if c.failed == 0:
    shutil.rmtree(d, ignore_errors=True)
c.done()
