"""Helpers for elm's Python-driven tests: find the binary and ../shared, run elm, count checks.

Each test prints a closing 'N passed, N failed' line and exits non-zero on any failure."""
import json
import os
import subprocess
import sys
import tempfile

ELM = os.environ.get("ELM_BIN", "elm")
SHARED = os.environ.get("ELM_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
SOURCE = os.environ.get("ELM_SOURCE", os.path.join(os.path.dirname(__file__), ".."))


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, msg):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL:", msg, file=sys.stderr)
        return cond

    def done(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15  # 2^64 / golden ratio (engine/base/rng.h)


def mix64(x):
    """SplitMix64's finaliser of x + GOLDEN, as engine/base/rng.h's elm_rng_mix."""
    z = (x + GOLDEN) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def weyl_pick(seed, index, weights, salt, step=GOLDEN):
    """The name engine/generate/mix.c's Weyl sequence gives entry `index` over (name, weight)
    pairs: u = frac(mix64(seed ^ salt) / 2^64 + index * step / 2^64) by the cumulative weights;
    None when the weights sum to nothing."""
    total = sum(w for _, w in weights)
    if not total > 0:
        return None
    x = (mix64(seed ^ salt) + index * step) & M64
    u = (x >> 11) * 2.0 ** -53 * total
    acc = 0.0
    for name, w in weights:
        acc += w
        if u < acc:
            return name
    return weights[-1][0]


def run_elm(*args, check=False, input=None, cwd=None):
    """Runs elm; returns CompletedProcess with text stdout/stderr."""
    p = subprocess.run([ELM, *args], capture_output=True, text=True, input=input, cwd=cwd)
    if check and p.returncode != 0:
        raise RuntimeError(f"elm {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p


def tmpdir(prefix="elmtest-"):
    return tempfile.mkdtemp(prefix=prefix)


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)
    return path


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


# gpt2-tiny (../shared/fixtures/gpt2-tiny) as a config's [model] section: the fixture and its shape.
TINY_MODEL = f"""[model]
init = {os.path.join(SHARED, "fixtures", "gpt2-tiny")}
preset = custom
n_layer = 2
n_head = 4
n_embd = 64
n_ctx = 64
"""


def markov_shards(folder, splits=(("train", 20000, 1), ("val", 2000, 2)), vocab=50257):
    """Token shards of a seeded Markov chain (tests/train/test_trainkit.c) into folder/<split>.bin,
    one per (split, tokens, seed)."""
    kit = os.path.join(os.environ.get("ELM_BUILD", "."), "tests", "train_test_trainkit")
    os.makedirs(folder, exist_ok=True)
    for split, n, seed in splits:
        subprocess.run([kit, "shard", os.path.join(folder, split + ".bin"), str(vocab), str(n),
                        str(seed)], check=True)


def mpi_env_or_skip(test):
    """The environment for `mpirun` in a test (root allowed, no launcher variables of an outer job),
    or a skip (exit 77) with a message naming `test` when mpirun or elm's MPI build is missing."""
    import shutil
    if shutil.which("mpirun") is None:
        print(f"{test}: skipped: no mpirun (Debian: openmpi-bin)")
        sys.exit(77)
    if "mpi build: yes" not in run_elm("info").stdout.splitlines():
        print(f"{test}: skipped: built without MPI")
        sys.exit(77)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    for v in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS", "PMIX_RANK"):
        env.pop(v, None)
    return env


def child_pids(pid):
    """The pids whose parent is pid (read from /proc: mpirun's ranks on this node, say)."""
    out = []
    for e in os.listdir("/proc"):
        try:
            with open(f"/proc/{e}/stat") as f:
                if e.isdigit() and int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(e))
        except (OSError, IndexError, ValueError):
            pass
    return out
