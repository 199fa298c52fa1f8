"""Crash consistency of `elm run` on a full disk (issue #21, acceptance 2, the ENOSPC half): the
demo study, shrunk to seconds, run in a folder on a tmpfs whose size is drawn at random between
"too small for anything" (one page) and "enough" (twice what the finished study holds), >= 10
times: each stage in turn gets a size between what the disk holds before it and after it
(measured once, a stage at a time), so every stage meets a full disk, and one draw in ten is
near "enough". Each run that fails must say "No space left on device" and name a file of the
run folder in its one error line; one time in three the same command is run again on the disk
still full (it must fail with the same kind of line, or finish). Then the tmpfs is remounted with
room and the same command rerun, and the run folder must equal an uninterrupted run's file for
file, byte for byte (timings inside the JSON aside). A size that turns out enough must give the
uninterrupted result at once. The stage each fault hit is reported.

The seed is printed; ELM_CRASH_SEED=N repeats a run's sizes, ELM_CRASH_ENOSPC=N asks for more.
Needs root for the tmpfs (CI runs as root): skipped with a message otherwise."""
import atexit
import os
import random
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from elmtest import Checks, tmpdir  # noqa: E402
from crashkit import (STAGES, can_mount, differences, mount, remount,  # noqa: E402
                      run_to_end, snapshot, study_args, umount)

why = can_mount()
if why:
    print(f"skipped: {why}")
    sys.exit(77)

c = Checks()
seed = int(os.environ.get("ELM_CRASH_SEED", str(int(time.time() * 1000) % 1000000)))
wanted = int(os.environ.get("ELM_CRASH_ENOSPC", "10"))
print(f"seed {seed} (ELM_CRASH_SEED={seed} repeats these sizes)", flush=True)
rng = random.Random(seed)
t_start = time.time()

base = tmpdir("elmenospc-")
work = os.path.join(base, "t")
run_dir = os.path.join(work, "study")
# All checkpoints kept: the disk then holds more after each stage than at any moment before, so
# a size can let training pass and fill up in a later stage (with keep_last, training's peak, a
# checkpoint more than it keeps, would be the study's).
args = study_args(work, **{"train.keep_last": "0"})
os.makedirs(work)
atexit.register(umount, work)
ROOM = 256 << 20

c.check(mount(work, ROOM), "mount a tmpfs for the uninterrupted run")
rc, lines = run_to_end(args)
if not c.check(rc == 0, f"the uninterrupted run: {lines[-3:]}"):
    c.done()
ref = snapshot(run_dir)
umount(work)


def used(path):
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


# What the disk holds after each stage: the study once more, a stage at a time (--only).
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
c.check(mount(work, ROOM), "mount a tmpfs to measure")
after = []
for st in STAGES:
    rc, lines = run_to_end([*args, "--only", st])
    c.check(rc == 0, f"--only {st}: {lines[-3:]}")
    after.append(used(work))
umount(work)
print("bytes on the disk after each stage: "
      + ", ".join(f"{s} {b >> 10} KiB" for s, b in zip(STAGES, after)), flush=True)
PAGE = 4096


def draw_size(i):
    """A size in pages: one that should fill the disk during stage i % 9 (between what the disk
    holds before it and after it), or, one time in ten, one that is enough or nearly."""
    if rng.random() < 0.1:
        return PAGE * rng.randint(after[-1] // PAGE, 2 * after[-1] // PAGE)
    k = order[i % len(order)]
    lo = after[k - 1] // PAGE if k else 1
    return PAGE * rng.randint(lo, max(lo, after[k] // PAGE))


order = list(range(len(STAGES)))
rng.shuffle(order)


def failed_stage(lines):
    """The stage the error line names ("elm run: stage X: ..."), else the last one running."""
    for line in reversed(lines):
        if line.startswith("elm run: stage "):
            return line.split()[3].rstrip(":")
    running = [line.split()[2] for line in lines
               if line.startswith("elm run: ") and line.endswith(" running")]
    return running[-1] if running else "start"


hit = {s: 0 for s in ["start", *STAGES]}
faults = fits = trials = again = 0
while faults < wanted and trials < 4 * wanted:
    trials += 1
    size = draw_size(trials - 1)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    if not c.check(mount(work, size), f"mount a tmpfs of {size} bytes"):
        break
    rc, lines = run_to_end(args)
    what = f"tmpfs of {size >> 10} KiB"
    if rc == 0:
        fits += 1
        diff = differences(ref, snapshot(run_dir))
        c.check(not diff, f"{what}: the study fit, but differs from the uninterrupted run in {diff[:8]}")
        umount(work)
        continue
    faults += 1
    stage = failed_stage(lines)
    hit[stage if stage in hit else "start"] += 1
    msg = lines[-1] if lines else ""
    c.check("No space left on device" in msg, f"{what}, {stage}: the error says why: {lines[-3:]}")
    c.check(work in msg, f"{what}, {stage}: the error names the file: {msg}")
    if rng.random() < 1 / 3:  # the same command once more on the disk still full
        rc, lines = run_to_end(args)
        msg = lines[-1] if lines else ""
        c.check(rc == 0 or ("No space left on device" in msg and work in msg),
                f"{what}, {stage}, a second time: {lines[-3:]}")
        again += 1
    c.check(remount(work, ROOM), "remount the tmpfs with room")
    rc, lines = run_to_end(args)
    ok = c.check(rc == 0, f"{what}, {stage}: the rerun with room failed: {lines[-3:]}")
    diff = differences(ref, snapshot(run_dir)) if ok else ["(no result)"]
    if not c.check(not diff, f"{what}, full in {stage}: after the rerun the folder differs from "
                   f"the uninterrupted run's in {diff[:8]}"):
        keep = os.path.join(base, f"failed-{trials}")
        shutil.copytree(run_dir, keep, dirs_exist_ok=True)
        print(f"kept the differing run folder in {keep}", file=sys.stderr)
    umount(work)

c.check(faults >= wanted, f"{faults} full disks, {wanted} wanted")
print(f"{faults} full disks in {trials} sizes ({fits} were enough, {again} rerun once more while "
      f"full); the disk filled in: "
      + ", ".join(f"{k} {v}" for k, v in hit.items() if v or k in STAGES)
      + f"; {time.time() - t_start:.0f} s", flush=True)
if not c.failed:
    shutil.rmtree(base, ignore_errors=True)
c.done()
