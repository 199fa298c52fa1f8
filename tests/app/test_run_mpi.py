"""`mpirun -np 2 elm run` (issue #15: elm run under mpirun): the demo study at CI size
(crashkit's, account+topic conditioning) over two ranks. Checked:
- it finishes, every stage ran, the training log says "ranks": 2, rank 0 alone wrote (one
  manifest, stage lines once);
- a second `mpirun -np 2 elm run` is all cached, and so is a plain one-process `elm run` on the
  same folder (the manifest does not depend on the number of ranks);
- the stages that ran on both ranks in-process (generate sharded, validate spread) wrote what
  one process writes: a copy of the folder rerun by one process `--from generate` is the same,
  file for file, but for timings;
- a batch size the ranks do not divide is one line from rank 0, a non-zero exit and no run
  folder; a serial stage that fails on rank 0 (topics.k larger than the vocabulary) is one line
  naming the stage, a non-zero exit on every rank.
Skipped without mpirun or an MPI build."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crashkit import differences, snapshot, study_args  # noqa: E402
from elmtest import ELM, Checks, mpi_env_or_skip, run_elm, tmpdir  # noqa: E402

c = Checks()
ENV = mpi_env_or_skip("test_run_mpi")

d = tmpdir("elm-run-mpi-")
# One thread a rank and a batch 2 divides (the study's is 16); the ranks' losses match one
# process's within rounding, so the folders are compared from generate on, over the same model.
ONE = {"run.threads": "1"}


def mpirun(n, args):
    return subprocess.run(["timeout", "600", "mpirun", "--oversubscribe", "-np", str(n), ELM, "run",
                           *args], capture_output=True, text=True, env=ENV)


def statuses(run_dir):
    with open(os.path.join(run_dir, "manifest.json")) as f:
        return {s["name"]: s["status"] for s in json.load(f)["stages"]}


def elm_lines(text):
    return [l for l in text.splitlines() if l.startswith("elm ")]


args = study_args(f"{d}/a", **ONE)
run_dir = os.path.join(d, "a", "study")
p = mpirun(2, args)
if not c.check(p.returncode == 0, f"mpirun -np 2 elm run: {p.returncode} {p.stderr[-2000:]}"):
    c.done()
st = statuses(run_dir)
c.check(all(v == "ran" for v in st.values()) and len(st) == 12, f"every stage ran: {st}")
with open(os.path.join(run_dir, "train_log.jsonl")) as f:
    starts = [r for r in map(json.loads, f) if "start" in r]
c.check(len(starts) == 1 and starts[0].get("ranks") == 2, f"one start line, ranks 2: {starts}")
for name in ("train", "generate", "validate"):
    c.check(p.stderr.count(f"elm run: {name:<9} running on every rank") == 1,
            f"{name} ran once on every rank (one line from rank 0)")
c.check(p.stderr.count("elm run: topics    running") == 1, "topics ran once (rank 0)")

p = mpirun(2, args)
st = statuses(run_dir)
c.check(p.returncode == 0 and all(v == "cached" for v in st.values()),
        f"second mpirun -np 2: all cached: {p.returncode} {st}")
p = run_elm("run", *args, "--quiet")
st = statuses(run_dir)
c.check(p.returncode == 0 and all(v == "cached" for v in st.values()),
        f"one process on the 2-rank folder: all cached: {p.returncode} {st} {p.stderr[-500:]}")

# generate and validate in-process over 2 ranks == one process, and the stages after them too.
ref = snapshot(run_dir)
shutil.copytree(os.path.join(d, "a"), os.path.join(d, "b"))
p = run_elm("run", *study_args(f"{d}/b", **ONE), "--from", "generate", "--quiet")
c.check(p.returncode == 0, f"one process --from generate: {p.stderr[-800:]}")
st = statuses(os.path.join(d, "b", "study"))
c.check(st.get("generate") == "ran" and st.get("validate") == "ran", f"reran: {st}")
diff = differences(ref, snapshot(os.path.join(d, "b", "study")))
c.check(not diff, f"one process's generate/validate/... differ from the 2-rank run's in {diff[:8]}")

# Bad input: one line from rank 0, non-zero, nothing written.
p = mpirun(2, study_args(f"{d}/odd", **ONE, **{"train.batch_size": "5"}) + ["--quiet"])
lines = elm_lines(p.stderr)
c.check(p.returncode != 0 and len(lines) == 1 and "batch_size" in lines[0],
        f"batch 5 at -np 2: {p.returncode} {lines} {p.stderr[-800:]}")
c.check(not os.path.exists(f"{d}/odd"), "batch 5 at -np 2 wrote a run folder")
p = mpirun(2, args + ["--set", "topics.k=9000", "--set", "topics.sweep.k=", "--quiet"])
lines = elm_lines(p.stderr)
c.check(p.returncode != 0 and len(lines) == 1 and "stage topics" in lines[0] and "topics.k" in lines[0],
        f"failing topics at -np 2: {p.returncode} {lines} {p.stderr[-800:]}")
st = statuses(run_dir)
c.check(st.get("topics") == "failed" and st.get("validate") == "cached",
        f"the manifest records the failed stage: {st}")
shutil.rmtree(d, ignore_errors=True)
c.done()
