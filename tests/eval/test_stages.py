"""`elm validate` and `elm topics` on a run folder laid out by the pipeline: real tweets in
<run>/clean.jsonl, generated ones in <run>/generated/tweets.jsonl (generated stories beside it
stay out), then the same with `generated` naming a folder of *.jsonl. Checks the outputs' contents:
viable tweets are generated test texts ranked by P(real), metrics agree with the confusion
counts, topic shares sum to 1 per side, top words are really the most frequent."""
import collections
import json
import os
import random
import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from elmtest import Checks, read_jsonl, run_elm, tmpdir, write

c = Checks()
d = tmpdir("elm-stages-")
run_dir = os.path.join(d, "out", "s")
os.makedirs(os.path.join(run_dir, "generated"))
rng = random.Random(5)
topics_real = ["cats purr sleep warm sofa", "coffee morning cup beans roast",
               "running miles shoes race pace"]
topics_gen = ["cats purr sleep warm sofa", "coffee morning cup beans roast",
              "robots future circuits metal laser"]


def tweet(words):
    w = words.split()
    return " ".join(rng.choice(w) for _ in range(8)) + f" {rng.choice(['today', 'again', 'now'])}"


real = [tweet(rng.choice(topics_real)) for _ in range(300)]
gen = [tweet(rng.choice(topics_gen)) for _ in range(300)]
write(os.path.join(run_dir, "clean.jsonl"),
      "".join(json.dumps({"text": t, "account": "a"}) + "\n" for t in real))
write(os.path.join(run_dir, "generated", "tweets.jsonl"),
      "".join(json.dumps({"text": t}) + "\n" for t in gen))
write(os.path.join(run_dir, "generated", "stories.jsonl"),
      "".join(json.dumps({"text": "once upon a time a long story " + str(i)}) + "\n"
              for i in range(50)))
folder = os.path.join(d, "gen-folder")
os.makedirs(folder)
write(os.path.join(folder, "a.jsonl"), "".join(json.dumps({"text": t}) + "\n" for t in gen[:150]))
write(os.path.join(folder, "b.jsonl"), "".join(json.dumps({"text": t}) + "\n" for t in gen[150:]))
cfg = write(os.path.join(d, "s.ini"), f"""[run]
name = s
out_dir = {d}/out
threads = 2
[validate]
rf.n_estimators = 30
grid.n_estimators = 10,20
grid.max_depth = None,3
[topics]
k = 3
iterations = 30
top_words = 5
sweep.k = 2,3
""")

p = run_elm("validate", cfg)
c.check(p.returncode == 0, f"validate failed: {p.stderr}")
m = json.load(open(os.path.join(run_dir, "validate", "metrics.json")))
c.check(m["data"]["real"] == 300 and m["data"]["generated"] == 300, f"data {m['data']}")
for name in ("multinomial_nb", "gaussian_nb", "random_forest"):
    t = m["test"][name]
    cm = t["confusion"]
    n = sum(cm.values())
    c.check(n == m["split"]["test"] == 120, f"{name}: confusion sums to {n}")
    acc = (cm["true_real"] + cm["true_generated"]) / n
    c.check(abs(acc - t["accuracy"]) < 1e-12, f"{name}: accuracy {t['accuracy']} vs confusion {acc}")
    c.check(0 <= t["roc_auc"] <= 1, f"{name}: roc_auc {t['roc_auc']}")
c.check(len(m["grid"]["table"]) == 4, f"grid table has {len(m['grid']['table'])} rows")
best = max(r["mean_accuracy"] for r in m["grid"]["table"])
c.check(m["grid"]["best_cv_accuracy"] == best, "grid best is not the highest mean")
viable = read_jsonl(os.path.join(run_dir, "validate", "viable.jsonl"))
c.check(len(viable) == m["viable"]["count"], "viable.jsonl and metrics disagree")
c.check(all(v["text"] in set(gen) for v in viable), "a viable tweet is not a generated one")
c.check(all(a["p_real"] >= b["p_real"] for a, b in zip(viable, viable[1:])), "viable not ranked")
c.check(all(v["p_real"] >= 0.5 for v in viable), "a viable tweet has P(real) < 0.5")
# Robot tweets are easy to spot: none of them should pass for real.
c.check(not any("robots" in v["text"] or "laser" in v["text"] for v in viable),
        "a robot tweet was called real")

p = run_elm("topics", cfg)
c.check(p.returncode == 0, f"topics failed: {p.stderr}")
t = json.load(open(os.path.join(run_dir, "topics", "topics.json")))
c.check(len(t["topics"]) == 3, "not 3 topics")
for side in ("share_real", "share_generated"):
    s = sum(x[side] for x in t["topics"])
    c.check(abs(s - 1) < 1e-9, f"{side} sums to {s}")
c.check(len(t["sweep"]) == 2 and [r["k"] for r in t["sweep"]] == [2, 3], "sweep table")
dt = read_jsonl(os.path.join(run_dir, "topics", "doc_topics.jsonl"))
c.check(len(dt) == 600 and all(abs(sum(x["topics"]) - 1) < 1e-4 for x in dt), "doc_topics.jsonl")

# A folder of *.jsonl as validate.generated reads every file.
p = run_elm("validate", cfg, "--set", f"validate.generated={folder}", "--set",
            "validate.models=nb", "--quiet")
c.check(p.returncode == 0, f"validate with a folder failed: {p.stderr}")
m2 = json.load(open(os.path.join(run_dir, "validate", "metrics.json")))
c.check(m2["data"]["generated"] == 300, f"folder: {m2['data']}")
# Top words: recount here.
for side, texts in (("real", real), ("generated", gen)):
    cnt = collections.Counter(w for x in texts for w in re.findall(r"\w\w+", x.lower())
                              if w not in ENGLISH_STOP_WORDS)
    total = sum(cnt.values())
    top = t["top_words"][side]
    c.check(len(top) == 5, f"{side}: {len(top)} top words")
    want = sorted(cnt.values(), reverse=True)[:5]
    c.check([round(w["freq_" + side] * total) for w in top] == want,
            f"{side}: top word counts {[w['freq_' + side] * total for w in top]} vs {want}")
top_real = {w["word"] for w in t["top_words"]["real"]}
top_gen = {w["word"] for w in t["top_words"]["generated"]}
c.check(set(t["top_words"]["only_generated"]) == top_gen - top_real, "only_generated")
c.check(set(t["top_words"]["only_real"]) == top_real - top_gen, "only_real")
c.done()
