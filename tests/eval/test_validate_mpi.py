"""`mpirun -np N elm validate`: the grid search's fits and the forests' trees spread over the
ranks give the single-process metrics.json byte for byte but the timings ("seconds"), the same
viable.jsonl and export; rank 0 does part of the work only (its progress counts); mismatched
configs across ranks (an MPMD line with a different --set), a bad key on one rank, a run folder
locked by another writer and a missing config are one line from rank 0, a non-zero exit and
nothing written. Skipped without mpirun or an MPI build."""
import fcntl
import os
import re
import subprocess

from elmtest import ELM, SHARED, Checks, mpi_env_or_skip, run_elm, tmpdir, write

c = Checks()
ENV = mpi_env_or_skip("test_validate_mpi")
CSV = os.path.join(SHARED, "data", "seed-tweets", "real_vs_generated.csv")
d = tmpdir("elm-mpi-")
cfg = write(os.path.join(d, "v.ini"), f"""[run]
name = t
out_dir = {d}/plain
threads = 1
seed = 11
[validate]
data = {CSV}
max_rows = 1200
max_features = 3000
cv = true
folds = 3
cv_repeats = 2
rf.n_estimators = 7
rf.oob_score = true
grid.n_estimators = 3,6
grid.max_depth = None,3
grid.criterion = gini,entropy
grid.min_samples_leaf = 1,2
grid_folds = 3
""")


def mpirun(*blocks, quiet=True):
    """mpirun with one `-np N elm validate ARGS...` block per (N, args), joined by ':'."""
    cmd = ["timeout", "300", "mpirun", "--oversubscribe"]
    for i, (n, args) in enumerate(blocks):
        cmd += ([":"] if i else []) + ["-np", str(n), ELM, "validate", cfg, *args]
        cmd += ["--quiet"] if quiet else []
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV)


def untimed(path):
    """metrics.json's text with every "seconds" value blanked."""
    with open(path) as f:
        return re.sub(r'"seconds":\s*[-+0-9.eE]+', '"seconds": 0', f.read())


def read(path):
    with open(path, "rb") as f:
        return f.read()


out = lambda name: os.path.join(d, name, "t")
p = run_elm("validate", cfg, f"--export={d}/exp-plain")
c.check(p.returncode == 0, f"plain validate failed: {p.stderr}")
plain_fits = re.findall(r"validate grid: (\d+)/\1 ", p.stderr)
want = untimed(os.path.join(out("plain"), "validate", "metrics.json"))
c.check('"grid"' in want and '"cv"' in want and '"oob_score"' in want,
        "the plain run has no grid, cv or OOB score")
for n in (1, 2, 3):
    p = mpirun((n, ["--set", f"run.out_dir={d}/np{n}", f"--export={d}/exp-np{n}"]), quiet=False)
    c.check(p.returncode == 0, f"-np {n}: exit {p.returncode}: {p.stderr[-2000:]}")
    got_path = os.path.join(out(f"np{n}"), "validate", "metrics.json")
    if not c.check(os.path.exists(got_path), f"-np {n} wrote no metrics.json"):
        continue
    got = untimed(got_path)
    c.check(got == want, f"-np {n}: metrics.json differs from one process's but for timings")
    for name in ("viable.jsonl",):
        c.check(read(os.path.join(out(f"np{n}"), "validate", name)) ==
                read(os.path.join(out("plain"), "validate", name)), f"-np {n}: {name} differs")
    for name in sorted(os.listdir(f"{d}/exp-plain")):
        c.check(read(f"{d}/exp-np{n}/{name}") == read(f"{d}/exp-plain/{name}"),
                f"-np {n}: export {name} differs")
    # Only rank 0 reports progress and prints the summary: one of each.
    c.check(p.stdout.count("wrote ") == 1, f"-np {n}: {p.stdout.count('wrote ')} summaries")
    fits = re.findall(r"validate grid: (\d+)/\1 ", p.stderr)
    c.check(len(fits) == 1, f"-np {n}: {len(fits)} grid progress lines: {p.stderr[-1500:]}")
    if fits and plain_fits:
        # rank 0's share of the fits: all of them alone, fewer with more ranks
        ok = int(fits[0]) == int(plain_fits[0]) if n == 1 else int(fits[0]) < int(plain_fits[0])
        c.check(ok, f"-np {n}: rank 0 made {fits[0]} of {plain_fits[0]} grid fits")
    c.check(not os.path.exists(os.path.join(out(f"np{n}"), "validate", "metrics.json.tmp")),
            f"-np {n}: a temporary file is left")


def elm_lines(text):
    return [l for l in text.splitlines() if l.startswith("elm ")]


# Mismatched configs: rank 1 gets another grid_folds; rank 0 names it, nothing is written.
p = mpirun((1, ["--set", f"run.out_dir={d}/mismatch"]),
           (2, ["--set", f"run.out_dir={d}/mismatch", "--set", "validate.grid_folds=2"]))
lines = elm_lines(p.stderr)
c.check(p.returncode != 0, f"mismatched configs: exit {p.returncode}")
c.check(len(lines) == 1, f"mismatched configs: {len(lines)} elm lines: {p.stderr[-1500:]}")
c.check(lines[:1] == ["elm validate: the ranks run different configs: rank 1 has "
                      "validate.grid_folds = 2, rank 0 validate.grid_folds = 3 (every rank must "
                      "get the same CONFIG.ini and --set)"], f"mismatch message: {lines}")
c.check(not os.path.exists(f"{d}/mismatch"), "mismatched configs wrote into the run folder")

# A --set only on one rank that names no key: that rank's error, from rank 0, with the rank.
p = mpirun((2, ["--set", f"run.out_dir={d}/badkey"]),
           (1, ["--set", f"run.out_dir={d}/badkey", "--set", "validate.no_such_key=1"]))
lines = elm_lines(p.stderr)
c.check(p.returncode != 0 and len(lines) == 1 and lines[0].startswith("elm validate: rank 2: ")
        and "no_such_key" in lines[0], f"a bad key on rank 2: exit {p.returncode}, {lines}")
c.check(not os.path.exists(f"{d}/badkey"), "a bad key on one rank wrote into the run folder")

# The run folder locked by another writer: rank 0 says so (the others never take the lock), and
# nothing lands in it.
locked = os.path.join(d, "locked", "t")
os.makedirs(locked)
with open(os.path.join(locked, ".lock"), "w") as lk:
    fcntl.flock(lk, fcntl.LOCK_EX)
    lk.write("4242 elm train\n")
    lk.flush()
    p = mpirun((2, ["--set", f"run.out_dir={d}/locked"]))
lines = elm_lines(p.stderr)
c.check(p.returncode != 0 and len(lines) == 1 and "in use by" in lines[0],
        f"a locked run folder: exit {p.returncode}, {lines}")
c.check(os.listdir(locked) == [".lock"], f"a locked run folder got {os.listdir(locked)}")

# A missing config on every rank: one line.
p = subprocess.run(["timeout", "300", "mpirun", "--oversubscribe", "-np", "2", ELM, "validate",
                    f"{d}/none.ini"], capture_output=True, text=True, env=ENV)
lines = elm_lines(p.stderr)
c.check(p.returncode != 0 and len(lines) == 1 and "none.ini" in lines[0],
        f"a missing config: exit {p.returncode}, {lines}")
c.done()
