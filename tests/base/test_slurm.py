"""`srun elm ...` under a real Slurm (slurmkit.py: slurmctld + slurmd on localhost with the
test's own config): the tasks are ranks of one MPI job through PMIx, `elm validate` over 2 and 3
tasks (srun, and an sbatch script as docs/distributed.md gives it) writes the single-process
metrics.json but for timings; `srun -n 2 elm train` (gpt2-tiny, 10 steps, batch 4 in 2
accumulated micro-batches, clipped) logs per-step losses within 1e-5 relative of one process's
and rank 0 alone writes; srun with --mpi=none is one line naming the fix. Skipped without Slurm,
mpirun or an MPI build."""
import json
import os
import re
import sys

import slurmkit
from elmtest import ELM, SHARED, TINY_MODEL, Checks, markov_shards, run_elm, tmpdir, write

c = Checks()
why = slurmkit.missing()
if why is None and "mpi build: yes" not in run_elm("info").stdout.splitlines():
    why = "built without MPI"
if why:
    print(f"test_slurm: skipped: {why}")
    sys.exit(77)

d = tmpdir("elm-slurm-")
CSV = os.path.join(SHARED, "data", "seed-tweets", "real_vs_generated.csv")
cfg = write(os.path.join(d, "v.ini"), f"""[run]
name = t
out_dir = {d}/plain
threads = 1
seed = 3
[validate]
data = {CSV}
max_rows = 600
max_features = 2000
models = nb,rf
rf.n_estimators = 6
grid.n_estimators = 2,4
grid.min_samples_leaf = 1,2
grid_folds = 2
""")


def untimed(path):
    with open(path) as f:
        return re.sub(r'"seconds":\s*[-+0-9.eE]+', '"seconds": 0', f.read())


# Training: gpt2-tiny on a Markov-chain shard (tests/train's kit).
tokens = os.path.join(d, "tokens")
markov_shards(tokens, (("train", 8000, 1), ("val", 1000, 2)))
tcfg = write(os.path.join(d, "t.ini"), f"""[run]
name = t
out_dir = {d}/tplain
threads = 1
seed = 7
{TINY_MODEL}[train]
data = {tokens}
batch_size = 4
seq_len = 16
grad_accum = 2
steps = 10
lr = 3e-3
warmup_steps = 2
grad_clip = 0.5
eval_every = 5
eval_batches = 1
checkpoint_every = 5
""")


def losses(out_dir):
    with open(os.path.join(out_dir, "t", "train_log.jsonl")) as f:
        return {r["step"]: r["loss"] for r in map(json.loads, f) if "loss" in r and "step" in r}


metrics = lambda name: os.path.join(d, name, "t", "validate", "metrics.json")
p = run_elm("validate", cfg, "--quiet")
c.check(p.returncode == 0, f"plain validate: {p.stderr}")
want = untimed(metrics("plain"))

with slurmkit.Cluster(os.path.join(d, "slurm")) as cl:
    # Every task is a rank of one job of the size srun asked for.
    p = cl.run(["srun", "-O", "-n", "2", ELM, "info"])
    ranks = sorted(re.findall(r"^mpi: rank (\d) of (\d) \(launched by srun", p.stdout, re.M))
    c.check(p.returncode == 0 and ranks == [("0", "2"), ("1", "2")],
            f"srun -n 2 elm info: exit {p.returncode}, {ranks}: {p.stdout} {p.stderr}")

    for n in (2, 3):
        p = cl.run(["srun", "-O", "-n", str(n), ELM, "validate", cfg, "--quiet",
                    "--set", f"run.out_dir={d}/srun{n}"])
        ok = c.check(p.returncode == 0, f"srun -n {n} validate: {p.returncode} {p.stderr[-1500:]}")
        if ok and c.check(os.path.exists(metrics(f"srun{n}")), f"srun -n {n}: no metrics.json"):
            c.check(untimed(metrics(f"srun{n}")) == want,
                    f"srun -n {n}: metrics.json differs from one process's but for timings")

    # Data-parallel training: 2 tasks, each half of every micro-batch, one process's losses.
    p = run_elm("train", tcfg, "--quiet")
    c.check(p.returncode == 0, f"plain train: {p.stderr}")
    one = losses(f"{d}/tplain")
    p = cl.run(["srun", "-O", "-n", "2", ELM, "train", tcfg, "--quiet",
                "--set", f"run.out_dir={d}/tsrun"])
    if c.check(p.returncode == 0, f"srun -n 2 train: {p.returncode} {p.stderr[-1500:]}"):
        two = losses(f"{d}/tsrun")
        c.check(sorted(two) == sorted(one) == list(range(1, 11)), f"steps logged: {sorted(two)}")
        worst = max(abs(two[k] - one[k]) / abs(one[k]) for k in one if k in two)
        print(f"srun -n 2 elm train: worst relative loss difference {worst:.2e} over 10 steps")
        c.check(worst <= 1e-5, f"srun -n 2 train: losses differ by {worst:.2e} relative")
        with open(os.path.join(d, "tsrun", "t", "train_log.jsonl")) as f:
            starts = [r for r in map(json.loads, f) if "start" in r]
        c.check(len(starts) == 1 and starts[0].get("ranks") == 2,
                f"one log start line with ranks 2: {starts}")
        c.check(sorted(os.listdir(os.path.join(d, "tsrun", "t", "checkpoints"))) ==
                sorted(os.listdir(os.path.join(d, "tplain", "t", "checkpoints"))),
                "srun -n 2 train: other checkpoints than one process's")

    # A batch script, the form docs/distributed.md gives; sbatch --wait returns the job's status.
    script = write(os.path.join(d, "job.sh"), f"""#!/bin/bash
#SBATCH --ntasks=2
#SBATCH --overcommit
#SBATCH --output={d}/job.out
srun {ELM} validate {cfg} --quiet --set run.out_dir={d}/sbatch
""")
    p = cl.run(["sbatch", "--wait", script])
    c.check(p.returncode == 0, f"sbatch --wait: {p.returncode} {p.stdout} {p.stderr}")
    if c.check(os.path.exists(metrics("sbatch")), "the batch job wrote no metrics.json"):
        c.check(untimed(metrics("sbatch")) == want, "the batch job's metrics.json differs")

    # Slurm's default PMI (none) gives MPI_Init nothing to join: elm says how, before MPI aborts.
    p = cl.run(["srun", "-O", "--mpi=none", "-n", "2", ELM, "validate", cfg, "--quiet",
                "--set", f"run.out_dir={d}/nopmi"])
    lines = [l for l in p.stderr.splitlines() if l.startswith("elm ")]
    c.check(p.returncode != 0, f"srun --mpi=none: exit {p.returncode}")
    c.check(lines and all("without an MPI plugin: run `srun --mpi=pmix ...`" in l for l in lines),
            f"srun --mpi=none: {p.stderr[-1500:]}")
    c.check(not os.path.exists(f"{d}/nopmi"), "srun --mpi=none wrote into the run folder")
c.done()
