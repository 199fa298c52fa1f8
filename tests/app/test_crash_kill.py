"""Crash consistency of `elm run` under SIGKILL (issue #21, acceptance 2; SQLite's habit): the
demo study, shrunk to seconds, killed at >= 30 random moments spread over all its stages, each
kill followed by a rerun, and every chain of kills ending in a rerun to the end whose run folder
equals an uninterrupted run's file for file, byte for byte (timings inside the JSON aside).

The moments: half the kills take the stages in turn, at a delay drawn uniformly over 1.1 times
that stage's wall time in the uninterrupted run, counted from the moment `elm run` says the
stage is running (so the short stages are hit too, and some kills fall between two stages); the
other half fall at a moment drawn uniformly over the uninterrupted run's whole wall time (its
stage timeline, from the manifest), which puts most of them in training. A chain is several kills on one folder in stage order (kill, rerun,
kill the rerun later, ..., rerun to the end). What is killed is drawn too: `elm run` and its
stage process together, `elm run` alone (its stage dies with it) or the stage process alone
(`elm run` records the stage as crashed). The stage each kill landed in is read from `elm
run`'s own lines at that moment and reported.

Two moments a random kill seldom hits are also made by hand: after training but before the
manifest's write (the rerun must take up the finished training, not train again) and after that
write but before train.running's removal (no stale mark may stay).

The seed is printed; ELM_CRASH_SEED=N repeats a run's plan of kills (where each lands still
depends on the machine's timing), ELM_CRASH_KILLS=N asks for more."""
import json
import os
import random
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from elmtest import Checks, tmpdir  # noqa: E402
from crashkit import SMALL, STAGES, Study, differences, gone, run_to_end, snapshot, study_args  # noqa: E402

c = Checks()
seed = int(os.environ.get("ELM_CRASH_SEED", str(int(time.time() * 1000) % 1000000)))
wanted = int(os.environ.get("ELM_CRASH_KILLS", "30"))
print(f"seed {seed} (ELM_CRASH_SEED={seed} repeats these kills)", flush=True)
rng = random.Random(seed)
t_start = time.time()

base = tmpdir("elmcrash-")
work = os.path.join(base, "t")
run_dir = os.path.join(work, "study")
args = study_args(work)

# The uninterrupted run, in the same folder the trials use (paths inside files then agree).
rc, lines = run_to_end(args)
if not c.check(rc == 0, f"the uninterrupted run: {lines[-5:]}"):
    c.done()
with open(os.path.join(run_dir, "manifest.json")) as f:
    wall = {s["name"]: s["wall_s"] for s in json.load(f)["stages"]}
ref_dir = os.path.join(base, "ref")
os.rename(work, ref_dir)
ref = snapshot(os.path.join(ref_dir, "study"))
print("stage wall times of the uninterrupted run: "
      + ", ".join(f"{s} {wall[s]:.3f} s" for s in STAGES), flush=True)


def by_hand(what, keep_stages):
    """Two moments a random kill seldom hits, made by hand on a copy of the finished run: the
    manifest keeps the records of keep_stages only and train.running holds train's fingerprint,
    as a kill leaves them (between the end of training and the manifest's write: keep_stages =
    the stages before train; between that write and the mark's removal: all of them)."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(ref_dir, work)
    mpath = os.path.join(run_dir, "manifest.json")
    with open(mpath) as f:
        man = json.load(f)
    fp = [st["fingerprint"] for st in man["stages"] if st["name"] == "train"][0]
    man["stages"] = [st for st in man["stages"] if st["name"] in keep_stages]
    with open(mpath, "w") as f:
        json.dump(man, f)
    with open(os.path.join(run_dir, "train.running"), "w") as f:
        f.write(fp)
    rc, lines = run_to_end(args)
    c.check(rc == 0, f"{what}: the rerun: {lines[-3:]}")
    diff = differences(ref, snapshot(run_dir))
    c.check(not diff, f"{what}: the rerun differs from the uninterrupted run in {diff[:8]}")


by_hand("killed after training, before the manifest's write", STAGES[:STAGES.index("train")])
with open(os.path.join(run_dir, "train_log.jsonl")) as f:
    took_up = [json.loads(x)["step"] for x in f if '"resume"' in x]
steps = int(SMALL["train.steps"])
c.check(took_up == [steps], f"the rerun takes up the finished training at step {steps}: {took_up}")
by_hand("killed after the manifest's write, before train.running's removal", STAGES)


def targets(n):
    """n kill targets (stage, delay after it starts): every other one takes the stages in turn
    (from a random one), the others a moment drawn uniformly over the whole run's wall time (so
    mostly in training, where most of the time goes)."""
    first = rng.randrange(len(STAGES))
    total = sum(wall.values())
    out = []
    for i in range(n):
        if i % 2 == 0:
            st = STAGES[(first + i // 2) % len(STAGES)]
            out.append((st, rng.uniform(0, 1.1 * wall[st])))
            continue
        t = rng.uniform(0, total)
        for st in STAGES:
            if t < wall[st] or st == STAGES[-1]:
                break
            t -= wall[st]
        out.append((st, t))
    rng.shuffle(out)
    return out


def kill(study, mode):
    """Kills as mode says; returns the pids that must be gone before the rerun."""
    child = study.stage_pid()
    if mode == "stage" and child is None:
        mode = "run"  # between stages there is no stage process
    for pid, when in ((study.p.pid, ("all", "run")), (child, ("all", "stage"))):
        if pid and mode in when:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # the stage process ended (and was reaped) just now
    return mode, [p for p in (child,) if p]


landed = {s: 0 for s in ["start", *STAGES, "between"]}
modes = {"all": 0, "run": 0, "stage": 0}
kills = missed = chains = failed_chains = 0
pending = targets(wanted)
while kills < wanted and chains < 3 * wanted:
    if not pending:
        pending = targets(wanted - kills)
    n = min(len(pending), rng.randint(1, 5))
    chain = sorted(pending[:n], key=lambda t: (STAGES.index(t[0]), t[1]))
    del pending[:n]
    chains += 1
    shutil.rmtree(work, ignore_errors=True)
    story = []
    for stage, delay in chain:
        s = Study(args)
        if not s.wait_running(stage):
            s.finish()
            missed += 1
            continue
        time.sleep(delay)
        where = s.current()
        if s.p.poll() is not None:
            s.finish()
            missed += 1
            continue
        mode, pids = kill(s, rng.choice(["all", "run", "stage"]))
        s.finish()
        for p in pids:
            c.check(gone(p), f"the killed stage process {p} exits")
        landed[where] += 1
        modes[mode] += 1
        kills += 1
        story.append(f"{where}+{delay:.3f}s/{mode}")
    rc, lines = run_to_end(args)
    ok = c.check(rc == 0, f"chain {chains} ({', '.join(story)}): the rerun to the end failed: "
                 f"{lines[-3:]}")
    diff = differences(ref, snapshot(run_dir)) if ok else ["(no result)"]
    if not c.check(not diff, f"chain {chains} ({', '.join(story)}): differs from the uninterrupted "
                   f"run in {diff[:8]}"):
        failed_chains += 1
        keep = os.path.join(base, f"failed-{chains}")
        shutil.copytree(run_dir, keep, dirs_exist_ok=True)
        print(f"kept the differing run folder in {keep}", file=sys.stderr)

c.check(kills >= wanted, f"{kills} kills landed, {wanted} wanted")
print(f"{kills} kills in {chains} chains ({missed} missed: the run had passed the stage), "
      f"{failed_chains} chains differing; by stage: "
      + ", ".join(f"{k} {v}" for k, v in landed.items() if v or k in STAGES)
      + "; killed: " + ", ".join(f"{k} {v}" for k, v in modes.items())
      + f"; {time.time() - t_start:.0f} s", flush=True)
if not failed_chains:
    shutil.rmtree(base, ignore_errors=True)
c.done()
