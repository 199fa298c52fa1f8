"""`elm train` end to end on a tiny model (2 layers, 64 channels, vocab 256) and Markov-chain
token shards written by elm_shard_write (test_trainkit's `shard` tool):

- acceptance 3: a run SIGKILLed between checkpoints and resumed with --resume logs the same
  per-step losses, bit for bit, as an uninterrupted run (same threads), and ends with
  byte-identical model.safetensors and state.bin;
- SIGINT and SIGTERM finish the step, save a checkpoint at it and exit 0; resuming from there
  again reproduces the uninterrupted losses;
- acceptance 4: truncated model.safetensors, a header that lies about offsets, an unknown dtype,
  a config.json whose shape disagrees with the tensors, a damaged state.bin, and a NaN loss
  each give a clear one-line error naming the file (or the step) and leave the previous
  checkpoint loadable; an interrupted save (.step_N.tmp) is ignored by --resume;
- the checkpoint read by the Python safetensors package: HF GPT-2 names, shapes and values
  (init from ../shared/fixtures/gpt2-tiny, one step at lr 0, must give back every tensor)."""
import json
import os
import shutil
import signal
import struct
import subprocess
import time

import numpy as np
from safetensors.numpy import load_file
from safetensors import safe_open

from elmtest import ELM, SHARED, Checks, run_elm, tmpdir

BUILD = os.environ.get("ELM_BUILD", ".")
KIT = os.path.join(BUILD, "tests", "train_test_trainkit")

TINY = """[run]
name = {name}
out_dir = {root}
threads = 2
seed = 7
[model]
preset = custom
n_layer = 2
n_head = 4
n_embd = 64
n_ctx = 64
[train]
batch_size = 4
seq_len = 32
grad_accum = 2
steps = {steps}
lr = 3e-3
min_lr = 1e-4
warmup_steps = 10
eval_every = 50
eval_batches = 2
checkpoint_every = 40
keep_last = 2
"""


def make_run(root, name, steps=160, vocab=256, text=TINY):
    run = os.path.join(root, name)
    os.makedirs(os.path.join(run, "tokens"), exist_ok=True)
    for split, n, seed in (("train", 60000, 1), ("val", 4000, 2)):
        subprocess.run([KIT, "shard", os.path.join(run, "tokens", split + ".bin"), str(vocab),
                        str(n), str(seed)], check=True)
    cfg = os.path.join(root, name + ".ini")
    with open(cfg, "w") as f:
        f.write(text.format(name=name, root=root, steps=steps))
    return cfg, run


def log_lines(run):
    path = os.path.join(run, "train_log.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(x) for x in f.read().splitlines() if x.strip().endswith("}")]


def loss_texts(run):
    """step -> the loss exactly as logged (9 significant digits: a float32 round trip)."""
    out = {}
    with open(os.path.join(run, "train_log.jsonl")) as f:
        for line in f:
            if '"loss":' in line:
                step = json.loads(line)["step"]
                out[step] = line.split('"loss":')[1].split(",")[0]
    return out


def val_losses(run):
    return {o["step"]: o["val_loss"] for o in log_lines(run) if "val_loss" in o}


def wait_for_step(proc, run, step, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        lines = [o for o in log_lines(run) if "loss" in o]
        if lines and lines[-1]["step"] >= step:
            return lines[-1]["step"]
        if proc.poll() is not None:
            return -1
        time.sleep(0.002)
    return -1


def ckpt_steps(run):
    d = os.path.join(run, "checkpoints")
    return sorted(int(x[5:]) for x in os.listdir(d) if x.startswith("step_")) if os.path.isdir(d) else []


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def cpu_has_bf16():
    """The CPU flags elm's bf16 matrix products need (engine/model/bf16.h), from /proc/cpuinfo."""
    try:
        flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
    except (OSError, StopIteration):
        return False
    return all(f in flags for f in ("avx512f", "avx512bw", "avx512_bf16"))


def one_line_error(c, p, needles, what):
    err = p.stderr.strip()
    c.check(p.returncode != 0, f"{what}: exit 0")
    c.check("\n" not in err and err.startswith("elm train:"), f"{what}: not one error line: {err!r}")
    for n in needles:
        c.check(n in err, f"{what}: message lacks {n!r}: {err!r}")


def main():
    # Two OpenMP threads on a shared 2-core machine: sleep rather than spin at barriers.
    os.environ["OMP_WAIT_POLICY"] = "passive"
    c = Checks()
    root = tmpdir("elm-train-")

    # ---- the uninterrupted reference run ---------------------------------------------------
    cfg_a, run_a = make_run(root, "a")
    p = run_elm("train", cfg_a, "--quiet")
    c.check(p.returncode == 0, f"run a failed: {p.stderr}")
    ref = loss_texts(run_a)
    c.check(sorted(ref) == list(range(1, 161)), f"run a logged steps {sorted(ref)[:3]}...")
    first, last = float(ref[1]), float(ref[160])
    c.check(last < first - 1.0, f"the loss did not fall: {first} -> {last}")
    c.check(ckpt_steps(run_a) == [120, 160], f"keep_last 2 kept {ckpt_steps(run_a)}")
    c.check(not any(x.startswith(".") for x in os.listdir(os.path.join(run_a, "checkpoints"))),
            "temporary folders left in checkpoints/")

    # ---- acceptance 3: SIGKILL between checkpoints, then --resume ---------------------------
    cfg_b, run_b = make_run(root, "b")
    proc = subprocess.Popen([ELM, "train", cfg_b, "--quiet"], stderr=subprocess.PIPE)
    at = wait_for_step(proc, run_b, 100)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    c.check(at >= 100, "run b ended before it could be killed")
    killed_log = max(loss_texts(run_b))
    latest = ckpt_steps(run_b)[-1]
    c.check(latest < killed_log < 160, f"kill not between checkpoints: ckpt {latest}, log {killed_log}")
    p = run_elm("train", cfg_b, "--resume", "--quiet")
    c.check(p.returncode == 0, f"resume failed: {p.stderr}")
    got = loss_texts(run_b)
    diff = [s for s in ref if got.get(s) != ref[s]]
    c.check(not diff and sorted(got) == sorted(ref),
            f"resumed losses differ at steps {diff[:5]} (e.g. {[(got.get(s), ref[s]) for s in diff[:2]]})")
    c.check(val_losses(run_b) == val_losses(run_a), "validation losses differ after resume")
    for f in ("model.safetensors", "state.bin"):
        c.check(read_bytes(os.path.join(run_a, "checkpoints/step_160", f)) ==
                read_bytes(os.path.join(run_b, "checkpoints/step_160", f)), f"final {f} differs")
    resumed = [o for o in log_lines(run_b) if "resume" in o]
    c.check(len(resumed) == 1 and resumed[0]["step"] == latest, f"resume line {resumed}")

    # ---- SIGINT / SIGTERM: finish the step, save there, exit 0 -------------------------------
    for sig, name in ((signal.SIGINT, "c"), (signal.SIGTERM, "d")):
        cfg_s, run_s = make_run(root, name)
        proc = subprocess.Popen([ELM, "train", cfg_s], stderr=subprocess.PIPE, text=True)
        at = wait_for_step(proc, run_s, 57)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        c.check(proc.returncode == 0, f"{sig.name}: exit {proc.returncode}: {err}")
        stop_step = max(loss_texts(run_s))
        c.check(at > 0 and stop_step < 160, f"{sig.name}: ran to {stop_step}")
        c.check(ckpt_steps(run_s)[-1] == stop_step,
                f"{sig.name}: checkpoints {ckpt_steps(run_s)} but the log stops at {stop_step}")
        c.check("stopped at step" in err, f"{sig.name}: no stop message: {err[-200:]}")
        p = run_elm("train", cfg_s, "--resume", "--quiet")
        c.check(p.returncode == 0, f"{sig.name} resume failed: {p.stderr}")
        got = loss_texts(run_s)
        c.check(got == ref, f"{sig.name}: resumed losses differ from the uninterrupted run")

    # ---- acceptance 4: damaged checkpoints -------------------------------------------------
    good = os.path.join(run_a, "checkpoints", "step_160")
    scratch = os.path.join(root, "damaged")

    def damaged(fn):
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.copytree(good, scratch)
        fn(scratch)
        return scratch

    def st_header(path):
        raw = read_bytes(path)
        n = struct.unpack("<Q", raw[:8])[0]
        return raw, n, json.loads(raw[8:8 + n])

    def st_rewrite(path, header, raw, n):
        h = json.dumps(header).encode()
        h += b" " * ((8 - len(h) % 8) % 8)
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + raw[8 + n:])

    def truncate(d):
        path = os.path.join(d, "model.safetensors")
        raw = read_bytes(path)
        with open(path, "wb") as f:
            f.write(raw[:len(raw) - 1000])

    def lie_offsets(d):
        path = os.path.join(d, "model.safetensors")
        raw, n, h = st_header(path)
        t = h["transformer.h.0.attn.c_attn.weight"]
        t["data_offsets"] = [t["data_offsets"][0] + 4, t["data_offsets"][1] + 4]
        st_rewrite(path, h, raw, n)

    def bad_dtype(d):
        path = os.path.join(d, "model.safetensors")
        raw, n, h = st_header(path)
        h["transformer.ln_f.weight"]["dtype"] = "Q7"
        st_rewrite(path, h, raw, n)

    def bad_shape(d):
        path = os.path.join(d, "config.json")
        cj = json.load(open(path))
        cj["n_embd"] = 128
        json.dump(cj, open(path, "w"))

    def bad_state(d):
        path = os.path.join(d, "state.bin")
        raw = bytearray(read_bytes(path))
        raw[200] ^= 0xFF
        open(path, "wb").write(bytes(raw))

    cases = [
        (truncate, ["model.safetensors"], "truncated checkpoint"),
        (lie_offsets, ["model.safetensors"], "header lying about offsets"),
        (bad_dtype, ["model.safetensors", "Q7"], "unknown dtype"),
        (bad_shape, ["damaged"], "shape disagreeing with config"),
        (bad_state, ["state.bin", "checksum"], "damaged state.bin"),
    ]
    before = {f: read_bytes(os.path.join(good, f)) for f in os.listdir(good)}
    for fn, needles, what in cases:
        d = damaged(fn)
        p = run_elm("train", cfg_a, "--from", d, "--set", "train.steps=170", "--quiet")
        one_line_error(c, p, needles, what)
        c.check(ckpt_steps(run_a) == [120, 160], f"{what}: checkpoints changed to {ckpt_steps(run_a)}")

    # An interrupted save leaves only a .step_N.tmp folder, which --resume ignores.
    os.makedirs(os.path.join(run_a, "checkpoints", ".step_170.tmp"))
    open(os.path.join(run_a, "checkpoints", ".step_170.tmp", "model.safetensors"), "wb").write(b"xx")
    p = run_elm("train", cfg_a, "--resume", "--set", "train.steps=165", "--quiet")
    c.check(p.returncode == 0, f"resume past a torn save failed: {p.stderr}")
    c.check(ckpt_steps(run_a)[-1] == 165, f"checkpoints {ckpt_steps(run_a)}")

    # A NaN loss: a huge learning rate blows the weights up; the error names the step and the
    # last checkpoint stays as it was and loadable.
    cfg_n, run_n = make_run(root, "n", steps=40)
    c.check(run_elm("train", cfg_n, "--quiet").returncode == 0, "run n failed")
    ck = os.path.join(run_n, "checkpoints", "step_40")
    before = {f: read_bytes(os.path.join(ck, f)) for f in os.listdir(ck)}
    p = run_elm("train", cfg_n, "--resume", "--set", "train.steps=80", "--set", "train.lr=1e6",
                "--set", "train.warmup_steps=0", "--quiet")
    one_line_error(c, p, ["step 4", "step_40 is intact"], "NaN loss")
    c.check("NaN" in p.stderr or "infinite" in p.stderr, f"NaN loss: {p.stderr}")
    c.check(ckpt_steps(run_n) == [40], f"NaN run wrote checkpoints {ckpt_steps(run_n)}")
    c.check(all(read_bytes(os.path.join(ck, f)) == b for f, b in before.items()),
            "the last good checkpoint changed")
    p = run_elm("train", cfg_n, "--resume", "--set", "train.steps=42", "--quiet")
    c.check(p.returncode == 0, f"the good checkpoint does not resume: {p.stderr}")

    # Other refusals: starting over on top of checkpoints; resuming with another batch shape.
    p = run_elm("train", cfg_n, "--quiet")
    one_line_error(c, p, ["--resume"], "fresh run over checkpoints")
    p = run_elm("train", cfg_n, "--resume", "--set", "train.batch_size=8", "--quiet")
    one_line_error(c, p, ["batch_size"], "resume with another batch size")

    # A state.bin with a right checksum but a data cursor near 2^64: cursor + batch_size wrapped
    # past the end-of-epoch check and the next batch was read far outside the window order.
    # Now that check cannot wrap (a new epoch starts). A step past 2^63 is refused.
    def fnv1a(h, data):  # elm_hash_fnv1a; started from ELM_HASH_FNV_OFFSET (engine/base/hash.h)
        for b in data:
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        return h

    for field, off, val, ok in (("cursor", 56, 2**64 - 2, True), ("step", 16, 2**63, False)):
        d = os.path.join(root, "crafted")
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(os.path.join(run_n, "checkpoints", "step_42"), d)
        path = os.path.join(d, "state.bin")
        raw = bytearray(read_bytes(path))
        raw[off:off + 8] = struct.pack("<Q", val)
        raw[120:128] = struct.pack("<Q", fnv1a(fnv1a(1469598103934665603, raw[:120]), raw[128:]))
        open(path, "wb").write(bytes(raw))
        p = run_elm("train", cfg_n, "--from", d, "--set", "train.steps=44", "--quiet")
        if ok:
            c.check(p.returncode == 0, f"state.bin {field} near 2^64: {p.returncode} {p.stderr}")
            saved = read_bytes(os.path.join(run_n, "checkpoints", "step_44", "state.bin"))
            epoch, cursor = struct.unpack("<QQ", saved[48:64])
            c.check(epoch == struct.unpack("<Q", raw[48:56])[0] + 1 and cursor < 2**32,
                    f"state.bin {field} near 2^64: saved epoch {epoch}, cursor {cursor}")
        else:
            one_line_error(c, p, ["state.bin", "out of range"], f"state.bin {field} past 2^63")

    # ---- the checkpoint in Python's safetensors: names, shapes, values -------------------------
    fixture = os.path.join(SHARED, "fixtures", "gpt2-tiny")
    text = TINY.replace("preset = custom", f"init = {fixture}\npreset = custom").replace(
        "seq_len = 32", "seq_len = 16") + "lr = 0\nmin_lr = 0\n"
    text = text.replace("lr = 3e-3\nmin_lr = 1e-4\n", "")
    text += f"sample_every = 1\nsample_tokens = 8\n[tokenizer]\nvocab = {os.path.join(SHARED, 'data', 'gpt2-vocab')}\n"
    cfg_f, run_f = make_run(root, "f", steps=1, vocab=50257, text=text)
    p = run_elm("train", cfg_f, "--quiet")
    c.check(p.returncode == 0, f"fixture-initialised run failed: {p.stderr}")
    ck = os.path.join(run_f, "checkpoints", "step_1", "model.safetensors")
    if c.check(os.path.exists(ck), "no checkpoint from the fixture run"):
        want = load_file(os.path.join(fixture, "model.safetensors"))
        want = {k: v for k, v in want.items() if k != "lm_head.weight" and not k.endswith(".attn.bias")
                and not k.endswith(".attn.masked_bias")}
        got = load_file(ck)
        c.check(sorted(got) == sorted(want), f"names differ: {sorted(set(got) ^ set(want))}")
        for k in want:
            if k in got:
                c.check(got[k].shape == want[k].shape, f"{k}: shape {got[k].shape} vs {want[k].shape}")
                c.check(got[k].dtype == np.float32, f"{k}: dtype {got[k].dtype}")
                c.check(got[k].shape == want[k].shape and np.array_equal(got[k], want[k]),
                        f"{k}: values differ after a step at lr 0")
        with safe_open(ck, "np") as f:
            c.check((f.metadata() or {}).get("format") == "pt", "metadata format is not 'pt'")
        # The vocabulary travels with the checkpoint under HF's names; samples were logged.
        vocab = os.path.join(SHARED, "data", "gpt2-vocab")
        for mine, theirs in (("vocab.json", "encoder.json"), ("merges.txt", "vocab.bpe")):
            c.check(read_bytes(os.path.join(run_f, "checkpoints", "step_1", mine)) ==
                    read_bytes(os.path.join(vocab, theirs)), f"{mine} is not the run's {theirs}")
        first = log_lines(run_f)[0]
        c.check(first.get("start") == fixture, f"a fine-tune logs its init folder as its start: {first}")
        samples = [o for o in log_lines(run_f) if "sample" in o]
        c.check(len(samples) == 1 and isinstance(samples[0]["sample"], str) and samples[0]["sample"],
                f"sample lines: {samples}")
        # `elm generate` finds everything it needs in the checkpoint (no [tokenizer] vocab).
        p = run_elm("generate", cfg_f, "--quiet", "--set", "tokenizer.vocab=", "--set",
                    "generate.count=2")
        out = os.path.join(run_f, "generated", "tweets.jsonl")
        c.check(p.returncode == 0 and os.path.exists(out) and len(open(out).readlines()) == 2,
                f"generate from the checkpoint alone: {p.stderr}")
        cj = json.load(open(os.path.join(run_f, "checkpoints", "step_1", "config.json")))
        c.check(cj.get("model_type") == "gpt2" and cj.get("n_layer") == 2 and cj.get("n_embd") == 64
                and cj.get("vocab_size") == 50257, f"config.json: {cj}")
    # ---- device selection: [train] device / precision ---------------------------------------
    # fp32 trains on the CPU; bf16 on the GPU, or on a CPU with AVX512-BF16 (its bf16 matrix
    # products). What cannot be had is a one-line error naming the key, written before any
    # output; with a GPU the bf16 runs go there (tests/gpu covers them).
    start = [o for o in log_lines(run_a) if "start" in o]
    c.check(start and start[0].get("device") == "cpu", f"run a's start line: {start}")
    has_gpu = "gpu 0:" in run_elm("info").stdout
    cpu_bf16 = cpu_has_bf16()
    cfg_g, run_g = make_run(root, "g", steps=2)
    cpu_bf16_needles = ["[train] precision = bf16", "AVX512-BF16", "train.precision = fp32"]
    for sets, needles in ((["train.device=cuda", "train.precision=bf16"], ["[train] device = cuda"]),
                          (["train.device=cpu", "train.precision=bf16"], cpu_bf16_needles),
                          (["train.device=cuda", "train.precision=fp32"],
                           ["[train] device = cuda"]),
                          (["train.device=auto", "train.precision=bf16"], cpu_bf16_needles)):
        args = [a for kv in sets for a in ("--set", kv)]
        on_gpu = has_gpu and sets[-1] == "train.precision=bf16" and sets[0] != "train.device=cpu"
        if on_gpu:
            continue
        if sets[-1] == "train.precision=bf16" and sets[0] != "train.device=cuda" and cpu_bf16:
            # bf16 on this CPU: the run trains, on the CPU.
            shutil.rmtree(run_g, ignore_errors=True)
            cfg_g, run_g = make_run(root, "g", steps=2)
            p = run_elm("train", cfg_g, "--quiet", *args)
            st = [o for o in log_lines(run_g) if "start" in o]
            c.check(p.returncode == 0 and st and st[0].get("device") == "cpu",
                    f"{' '.join(sets)} on a CPU with AVX512-BF16: rc {p.returncode} {p.stderr} {st}")
            shutil.rmtree(run_g, ignore_errors=True)
            cfg_g, run_g = make_run(root, "g", steps=2)
            continue
        p = run_elm("train", cfg_g, "--quiet", *args)
        one_line_error(c, p, needles, " ".join(sets))
        c.check(not os.path.exists(os.path.join(run_g, "checkpoints")) and
                not os.path.exists(os.path.join(run_g, "train_log.jsonl")),
                f"{' '.join(sets)}: wrote output before failing")
    shutil.rmtree(root, ignore_errors=True)
    c.done()


if __name__ == "__main__":
    main()
