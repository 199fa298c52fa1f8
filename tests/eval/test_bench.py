"""`elm bench`: on a subset of the study's CSV, every part reports medians over the asked number
of runs, and the accuracies it times are exactly those `elm validate` reports for the same
config (same texts, features and split); the model parts time a tiny GPT-2 whose parameter
count matches GPT-2's formula; bad options fail with one line naming the option."""
import json
import os

from elmtest import Checks, run_elm, tmpdir, write
from evalcommon import CSV, metrics

c = Checks()
d = tmpdir("elm-bench-")
settings = {"max_rows": 2500, "stop_words": "true", "ngram_max": 2, "max_features": 20000,
            "rf.n_estimators": 12, "rf.oob_score": "false", "models": "nb,gnb,rf"}
lines = ["[run]", "name = b", f"out_dir = {d}/out", "threads = 2", "seed = 7", "[validate]",
         f"data = {CSV}"] + [f"{k} = {v}" for k, v in settings.items()]
cfg = write(os.path.join(d, "b.ini"), "\n".join(lines) + "\n")

p = run_elm("validate", cfg, "--quiet")
c.check(p.returncode == 0, f"elm validate failed: {p.stderr}")
want = metrics(os.path.join(d, "out", "b"))["test"]

js = os.path.join(d, "bench.json")
p = run_elm("bench", cfg, "--only=features,mnb,gnb,rf", "--repeat=3", "--warmup=1", f"--json={js}")
if c.check(p.returncode == 0, f"elm bench failed: {p.stderr}"):
    with open(js) as f:
        b = json.load(f)["validators"]
    c.check(b["data"]["rows"] == 2500 and b["data"]["train"] + b["data"]["test"] == 2500,
            f"rows {b['data']}")
    for part, name in (("mnb", "multinomial_nb"), ("gnb", "gaussian_nb"), ("rf", "random_forest"),
                       ("features", None)):
        o = b.get(part)
        if not c.check(o is not None, f"no {part} in {sorted(b)}"):
            continue
        runs = o["run_seconds"]
        c.check(len(runs) == 3 and o["runs"] == 3, f"{part}: {len(runs)} runs, want 3")
        c.check(sorted(runs)[1] == o["seconds"] and min(runs) == o["min_seconds"],
                f"{part}: median/min do not match the runs {runs}")
        c.check(all(t > 0 for t in runs) and o["fit_seconds"] > 0, f"{part}: zero times {o}")
        if name:
            c.check(o["accuracy"] == want[name]["accuracy"],
                    f"{part}: bench accuracy {o['accuracy']} vs validate {want[name]['accuracy']}")
    c.check("mnb" in p.stdout and "wrote" in p.stdout, f"no table printed: {p.stdout}")

# --only picks parts; the default path is <run>/bench/bench.json.
p = run_elm("bench", cfg, "--only=mnb", "--repeat=1", "--quiet")
path = os.path.join(d, "out", "b", "bench", "bench.json")
if c.check(p.returncode == 0 and os.path.exists(path), f"--only=mnb failed: {p.stderr}"):
    with open(path) as f:
        full = json.load(f)
    b = full["validators"]
    c.check("mnb" in b and not any(k in b for k in ("gnb", "rf", "features")) and
            not any(k in full for k in ("train", "decode")), f"--only=mnb ran {sorted(full)} {sorted(b)}")

# The model parts on a tiny GPT-2 (no token shards: random ids): the parameter count is GPT-2's
# formula, tokens/s is the batch over the median step, every timed step is there.
L, H, C, NCTX, V, B, T, ACC = 2, 2, 32, 64, 300, 3, 16, 2
tiny = cfg.replace(".ini", "-tiny.ini")
write(tiny, "\n".join(lines + ["[model]", "preset = custom", f"n_layer = {L}", f"n_head = {H}",
                               f"n_embd = {C}", f"n_ctx = {NCTX}", f"vocab_size = {V}",
                               "[train]", f"batch_size = {B}", f"seq_len = {T}",
                               f"grad_accum = {ACC}", "[generate]", "batch_size = 4",
                               "max_new_tokens = 20"]) + "\n")
js = os.path.join(d, "model.json")
p = run_elm("bench", tiny, "--only=train,decode", "--repeat=4", f"--json={js}")
if c.check(p.returncode == 0, f"bench train,decode failed: {p.stderr}"):
    with open(js) as f:
        b = json.load(f)
    t, dd = b.get("train", {}), b.get("decode", {})
    params = V * C + NCTX * C + L * (12 * C * C + 13 * C) + 2 * C
    c.check(t.get("params") == params, f"train params {t.get('params')}, GPT-2's formula {params}")
    c.check(t.get("device") == "cpu" and t.get("tokens", "").startswith("random ids"),
            f"train device/tokens {t.get('device')} {t.get('tokens')}")
    c.check(t.get("runs") == 4 and t.get("seconds", 0) > 0 and t["min_seconds"] <= t["seconds"],
            f"train timings {t}")
    if t.get("seconds"):
        c.check(abs(t["tok_per_s"] - B * T * ACC / t["seconds"]) <= 1e-6 * t["tok_per_s"],
                f"tok/s {t['tok_per_s']} vs B*T*accum/median")
    c.check(dd.get("batch_size") == 4 and dd.get("new_tokens") == 20 and dd.get("tok_per_s", 0) > 0,
            f"decode {dd}")
    ps, pb = dd.get("prefill_serial_tok_per_s", 0), dd.get("prefill_batched_tok_per_s", 0)
    c.check(dd.get("prefill") == "batched" and ps > 0 and pb > 0 and
            dd.get("prefill_batched_over_serial", 0) > 0, f"decode's prefill fields {dd}")
    c.check("validators" not in b, "--only=train,decode ran the validators")
p = run_elm("bench", tiny, "--only=train", "--repeat=1", "--set", "train.device=cuda",
            "--set", "train.precision=bf16")
if "gpu 0:" not in run_elm("info").stdout:
    c.check(p.returncode != 0 and "[train] device = cuda" in p.stderr and
            len(p.stderr.strip().splitlines()) == 1, f"train on cuda without a GPU: {p.stderr!r}")

for bad, key in ((["--only=mnb,svm"], "--only"), (["--only=train,,x"], "--only"),
                 (["--repeat=0"], "--repeat"),
                 (["--warmup=x"], "--warmup")):
    p = run_elm("bench", cfg, *bad)
    err = p.stderr.strip()
    c.check(p.returncode != 0 and key in err and len(err.splitlines()) == 1,
            f"{bad}: exit {p.returncode}, stderr {err!r}")
c.done()
