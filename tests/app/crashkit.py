"""Shared by the crash tests (test_crash_kill.py, test_crash_enospc.py, test_faults.py): the demo
study shrunk to seconds, run in a folder of its own; what "the same result" means (every file of
the run folder, byte for byte, but for the timings inside the JSON files); tmpfs mounts; the
stage a kill landed in (read from `elm run`'s own "<stage> running / done" lines on stderr)."""
import json
import os
import shutil
import subprocess
import threading
import time

from elmtest import ELM, SOURCE

DEMO = os.path.join(SOURCE, "configs", "demo.ini")
STAGES = ["ingest", "clean", "topicfit", "tokenize", "train", "generate", "validate", "topics",
          "viable", "feed", "report"]

# The demo study at CI size: a smaller model, 20 steps with a checkpoint every 5, few texts,
# topic conditioning on (so topicfit fits and saves its LDA, and the feed picks by topic too). The
# thread count is fixed: with it, the losses and weights are a function of the config alone.
SMALL = {
    "run.threads": "2", "model.n_layer": "2", "model.n_head": "2", "model.n_embd": "64",
    "train.steps": "20", "train.eval_every": "10", "train.eval_batches": "2",
    "train.checkpoint_every": "5", "train.keep_last": "2", "generate.count": "40",
    "generate.stories": "1", "generate.max_new_tokens": "20", "generate.batch_size": "8",
    "validate.models": "nb", "topics.iterations": "5", "topics.sweep.k": "2,3",
    "train.condition": "account+topic", "topicfit.k": "3", "topicfit.iterations": "5",
    "generate.topics": "0:2, 1:1, 2:1",
}

# Files that hold nothing but bookkeeping of a particular run (lock holder, the manifest with its
# wall times, the report page that prints them; the report's data is metrics.json, compared).
SKIP = {".lock", "manifest.json", "report/index.html"}
# (and the wall-clock times of a fetch: when the posts were asked for, not what they are)
TIMING_KEYS = {"seconds", "train_seconds", "wall_s", "peak_rss_mb", "timings", "ms", "tok_per_s",
               "total_wall_s", "ran_wall_s", "ran_peak_rss_mb", "updated_at", "fetched_at"}


def study_args(out_dir, name="study", **over):
    sets = dict(SMALL, **{"run.out_dir": out_dir, "run.name": name}, **over)
    args = [DEMO]
    for k, v in sets.items():
        args += ["--set", f"{k}={v}"]
    return args


def _strip(x):
    if isinstance(x, dict):
        return {k: _strip(v) for k, v in x.items() if k not in TIMING_KEYS}
    if isinstance(x, list):
        return [_strip(v) for v in x]
    return x


def _normal(rel, data):
    """A file's content with the timings taken out (JSON and JSON lines); train_log.jsonl also
    without its start/resume lines (a resumed training says where it resumed from)."""
    if rel.endswith(".json"):
        return json.dumps(_strip(json.loads(data)), sort_keys=True).encode()
    if rel.endswith(".jsonl"):
        rows = [json.loads(line) for line in data.splitlines()]
        if rel == "train_log.jsonl":
            rows = [r for r in rows if "start" not in r and "resume" not in r]
        return b"\n".join(json.dumps(_strip(r), sort_keys=True).encode() for r in rows)
    return data


def snapshot(run_dir):
    """{relative path: normalised content} of every file of a finished run folder."""
    snap = {}
    for root, _dirs, files in os.walk(run_dir):
        for f in files:
            p = os.path.join(root, f)
            rel = os.path.relpath(p, run_dir)
            if rel in SKIP:
                continue
            with open(p, "rb") as fh:
                data = fh.read()
            try:
                snap[rel] = _normal(rel, data)
            except (ValueError, UnicodeDecodeError):
                snap[rel] = b"unreadable: " + data
    return snap


def differences(ref, got):
    """The paths whose content differs, or that only one side has."""
    return sorted(k for k in set(ref) | set(got) if ref.get(k) != got.get(k))


class Study:
    """One `elm run` of the study, its stderr read as it comes, so that the stage under way at
    any moment is known (`elm run: <stage> running` ... `done`)."""

    def __init__(self, args):
        self.lines = []
        self.cond = threading.Condition()
        self.p = subprocess.Popen([ELM, "run", *args], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.p.stderr:
            with self.cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # end of output
            self.cond.notify_all()

    def wait_running(self, stage, limit=120):
        """Blocks until the stage starts running (True) or the run ends without that (False)."""
        want = f"elm run: {stage:<9} running"
        deadline = time.time() + limit
        with self.cond:
            while time.time() < deadline:
                if any(line == want for line in self.lines if line is not None):
                    return True
                if None in self.lines:
                    return False
                self.cond.wait(0.5)
        return False

    def current(self):
        """The stage under way now: 'STAGE', or 'between' stages (after one is done or cached,
        before the next starts: hashing, the manifest), or 'start' (before the first)."""
        with self.cond:
            lines = [line for line in self.lines if line and line.startswith("elm run: ")]
        for line in reversed(lines):
            words = line.split()
            if len(words) >= 4 and words[2] in STAGES:
                return words[2] if words[3] == "running" else "between"
        return "start"

    def stage_pid(self):
        """The pid of the stage process `elm run` has forked now, or None."""
        try:
            with open(f"/proc/{self.p.pid}/task/{self.p.pid}/children") as f:
                kids = f.read().split()
            return int(kids[0]) if kids else None
        except (OSError, ValueError):
            return None

    def finish(self, limit=300):
        self.p.wait(timeout=limit)
        self.reader.join(timeout=30)
        return self.p.returncode, [line for line in self.lines if line is not None]


def gone(pid, limit=30):
    """Waits until pid has exited (or is a zombie): a killed stage process no longer holds the run
    folder's lock."""
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except OSError:
            return True
        time.sleep(0.01)
    return False


def run_to_end(args):
    """A plain `elm run` to the end: (exit code, stderr lines)."""
    p = subprocess.run([ELM, "run", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    return p.returncode, p.stderr.splitlines()


def can_mount():
    """None when tmpfs mounts work here, else why not (the ENOSPC tests then skip)."""
    if os.geteuid() != 0:
        return "not root (mounting a tmpfs needs root; CI runs as root)"
    probe = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"elm-tmpfs-probe-{os.getpid()}")
    os.makedirs(probe, exist_ok=True)
    try:
        if not mount(probe, 64 * 1024):
            return "mount -t tmpfs failed"
        umount(probe)
        return None
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def mount(path, size):
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                          capture_output=True).returncode == 0


def remount(path, size):
    return subprocess.run(["mount", "-o", f"remount,size={size}", path],
                          capture_output=True).returncode == 0


def umount(path):
    subprocess.run(["umount", path], capture_output=True)


def folder_bytes(path):
    n = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            n += os.path.getsize(os.path.join(root, f))
    return n
