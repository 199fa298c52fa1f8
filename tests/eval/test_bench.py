"""`elm bench`: on a subset of the study's CSV, every part reports medians over the asked number
of runs, and the accuracies it times are exactly those `elm validate` reports for the same
config (same texts, features and split); bad options fail with one line naming the option."""
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
p = run_elm("bench", cfg, "--repeat=3", "--warmup=1", f"--json={js}")
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

# --only picks parts; the default path is <run>/bench/validators.json.
p = run_elm("bench", cfg, "--only=mnb", "--repeat=1", "--quiet")
path = os.path.join(d, "out", "b", "bench", "validators.json")
if c.check(p.returncode == 0 and os.path.exists(path), f"--only=mnb failed: {p.stderr}"):
    with open(path) as f:
        b = json.load(f)["validators"]
    c.check("mnb" in b and not any(k in b for k in ("gnb", "rf", "features")),
            f"--only=mnb ran {sorted(b)}")

for bad, key in ((["--only=mnb,svm"], "--only"), (["--repeat=0"], "--repeat"),
                 (["--warmup=x"], "--warmup")):
    p = run_elm("bench", cfg, *bad)
    err = p.stderr.strip()
    c.check(p.returncode != 0 and key in err and len(err.splitlines()) == 1,
            f"{bad}: exit {p.returncode}, stderr {err!r}")
c.done()
