"""configs/seed-accounts.ini, the study's own setup, runs end to end on the six real accounts
with only the sizes shrunk (a 2-layer model, 3 steps, 300 generated tweets, a 4-combination
grid): every stage runs, ingest reads exactly the rows Python's csv module finds in the six
files, and the report, the classifiers' metrics and the topics are written. The real run (GPT-2
355M on a GPU) is bench work, not a test."""
import csv
import json
import os

from elmtest import SOURCE, Checks, run_elm, tmpdir

c = Checks()
cfg = os.path.join(SOURCE, "configs", "seed-accounts.ini")
out = tmpdir("elm-seed-")
small = {"run.out_dir": out, "model.preset": "custom", "model.n_layer": 2, "model.n_head": 2,
         "model.n_embd": 64, "model.n_ctx": 128, "train.precision": "fp32", "train.steps": 3,
         "train.batch_size": 4, "train.seq_len": 32, "generate.count": 300,
         "generate.batch_size": 64, "generate.max_new_tokens": 24, "generate.stories": 1,
         "validate.rf.n_estimators": 10, "validate.grid.n_estimators": 10,
         "validate.grid.max_depth": "None,6", "validate.grid.min_samples_split": 5,
         "topics.iterations": 5, "topics.sweep.k": "2,4", "topics.sweep.alpha": 0.1,
         "topics.sweep.beta": 0.01}
args = [a for k, v in small.items() for a in ("--set", f"{k}={v}")]
p = run_elm("run", cfg, "--quiet", *args)
run = os.path.join(out, "seed-accounts")
if c.check(p.returncode == 0, f"elm run failed: {p.stderr}"):
    man = json.load(open(os.path.join(run, "manifest.json")))
    names = [s["name"] for s in man["stages"]]
    c.check(names == ["fetch", "ingest", "clean", "topicfit", "tokenize", "train", "generate", "validate",
                      "topics", "viable", "feed", "report"], f"stages {names}")
    c.check(all(s["status"] == "ran" for s in man["stages"]),
            f"statuses {[(s['name'], s['status']) for s in man['stages']]}")
    ing = json.load(open(os.path.join(run, "ingest.json")))
    for src in ing["sources"]:
        with open(os.path.join(SOURCE, src["path"]), newline="", encoding="utf-8") as f:
            rows = sum(1 for _ in csv.DictReader(f, delimiter="\t"))
        c.check(src["read"] == rows, f"{src['path']}: elm read {src['read']}, csv finds {rows}")
    c.check(len(ing["sources"]) == 6, f"{len(ing['sources'])} sources")
    m = json.load(open(os.path.join(run, "validate", "metrics.json")))
    for model in ("multinomial_nb", "gaussian_nb", "random_forest"):
        acc = m["test"].get(model, {}).get("accuracy")
        c.check(acc is not None and 0 <= acc <= 1, f"{model} accuracy {acc}")
    c.check(m["grid"]["combinations"] == 2 * 2 * 1 * 1 * 2, f"grid {m['grid']['combinations']}")
    t = json.load(open(os.path.join(run, "topics", "topics.json")))
    c.check(len(t["topics"]) == 4, f"{len(t['topics'])} topics")
    html = open(os.path.join(run, "report", "index.html"), encoding="utf-8").read()
    c.check("62.52" in html, "the report does not set the study's 62.52% beside elm's")
c.done()
