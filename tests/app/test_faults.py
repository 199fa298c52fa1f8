"""Issue #21, reproduction 1 (acceptance 1) and the write-error promise: `elm run configs/demo.ini
--set train.steps=40 --set train.checkpoint_every=10` (the rest of the study shrunk) with the run
folder on a tmpfs that fills up at the checkpoint of step 20:

- the run fails, and its one error line names the file and the OS reason ("…/state.bin: write
  failed: No space left on device", where it said "write failed" alone);
- the checkpoint of step 10 stays as it was (byte-identical to the uninterrupted run's) and no
  half-written step_20 or temporary is left where a good file is expected;
- with space again (the tmpfs remounted bigger, same folder), the same command resumes training
  from step_10 — it never takes the half-trained model as the study's — and ends with
  metrics.json (timings aside), tweets.jsonl and the final checkpoint byte-identical to an
  uninterrupted run's.

Reproduction 2 (Ctrl-C to the run's process group during training, then a rerun) is
tests/app/test_cache.py's first case, reproduction 3 (two runs at once) tests/app/test_lock.py.
Needs root for the tmpfs (CI runs as root): skipped with a message otherwise."""
import atexit
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from elmtest import Checks, tmpdir  # noqa: E402
from crashkit import (can_mount, differences, folder_bytes, mount, remount, run_to_end,  # noqa: E402
                      snapshot, study_args, umount)

why = can_mount()
if why:
    print(f"skipped: {why}")
    sys.exit(77)

c = Checks()
base = tmpdir("elmfaults-")
work = os.path.join(base, "t")
run_dir = os.path.join(work, "study")
# The demo's own model and batch (a checkpoint is ~11 MB), 40 steps, a checkpoint every 10, all
# kept (so step_10 can be compared); the stages after training small.
over = {"model.n_layer": "4", "model.n_head": "4", "model.n_embd": "128", "train.steps": "40",
        "train.checkpoint_every": "10", "train.eval_every": "20", "train.keep_last": "0",
        "train.eval_batches": "2"}
args = study_args(work, **over)

os.makedirs(work)
atexit.register(umount, work)
c.check(mount(work, 512 << 20), "mount a 512 MiB tmpfs for the uninterrupted run")
rc, lines = run_to_end(args)
c.check(rc == 0, f"the uninterrupted run: {lines[-3:]}")
ref = snapshot(run_dir)
ckpt = folder_bytes(os.path.join(run_dir, "checkpoints", "step_10"))
before_train = sum(folder_bytes(os.path.join(run_dir, p)) for p in os.listdir(run_dir)
                   if os.path.isfile(os.path.join(run_dir, p))
                   or p in ("tokens", "tokenizer")) - os.path.getsize(
    os.path.join(run_dir, "manifest.json"))
umount(work)

# Room for the stages before training and one checkpoint and a half: step_10 is written, the
# checkpoint of step 20 runs out of space.
size = before_train + ckpt * 3 // 2 + (256 << 10)
c.check(mount(work, size), f"mount a {size >> 10} KiB tmpfs")
rc, lines = run_to_end(args)
msg = lines[-1] if lines else ""
c.check(rc != 0, "the run on the full disk fails")
c.check("No space left on device" in msg, f"the error says why: {msg}")
c.check(run_dir in msg and "checkpoint step 20" in msg and "step_20" in msg,
        f"the error names the file and the checkpoint: {msg}")
c.check(len([line for line in lines if "No space" in line]) == 1, f"said once: {lines[-4:]}")
ck = os.path.join(run_dir, "checkpoints")
c.check(sorted(os.listdir(ck)) == ["step_10"], f"only the good checkpoint is left: {os.listdir(ck)}")
now = snapshot(run_dir)
for rel in sorted(k for k in ref if k.startswith("checkpoints/step_10/")):
    c.check(now.get(rel) == ref[rel], f"{rel} is the uninterrupted run's")
c.check(not [k for k in now if ".tmp" in k or k.endswith(".part")],
        f"no temporary is left: {[k for k in now if '.tmp' in k]}")
with open(os.path.join(run_dir, "manifest.json")) as fh:
    st = {s["name"]: s.get("status") for s in json.load(fh)["stages"]}
c.check(st.get("train") in (None, "failed"), f"the manifest does not take train as done: {st}")

# Space again: the same folder, the same command.
c.check(remount(work, 512 << 20), "remount the tmpfs bigger")
rc, lines = run_to_end(args)
c.check(rc == 0, f"the rerun with space: {lines[-3:]}")
with open(os.path.join(run_dir, "train_log.jsonl")) as fh:
    resumed = [json.loads(line).get("resume") for line in fh if '"resume"' in line]
c.check(len(resumed) == 1 and resumed[0].endswith("checkpoints/step_10"),
        f"the rerun resumed training from step_10: {resumed}")
diff = differences(ref, snapshot(run_dir))
c.check(not diff, f"after the full disk and a rerun, the run folder differs from the "
        f"uninterrupted run's in {diff[:8]}")
for rel in ("metrics.json", "generated/tweets.jsonl", "checkpoints/step_40/model.safetensors",
            "checkpoints/step_40/state.bin"):
    c.check(rel in ref, f"{rel} was compared")
umount(work)
shutil.rmtree(base, ignore_errors=True)
c.done()
