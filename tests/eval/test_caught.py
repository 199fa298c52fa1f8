"""metrics.json's caught_vs_passed (the seed's look at the generated tweets the classifier caught
against those it took for real) recomputed in Python on a subset of the study's CSV: the groups
are the generated test rows with and without a line in viable.jsonl; counts, mean and median
lengths in code points and in words, the 20 most frequent words of each group with
scikit-learn's analyzer (stop words dropped; ties by first appearance) and their shares, and the
words only one group's list holds — every element."""
import json
import os
import re
import statistics
import sys

from sklearn.feature_extraction.text import CountVectorizer

from elmtest import Checks
from evalcommon import csv_rows, load_export, metrics, validate

c = Checks()
rows = csv_rows()
run, exp, p = validate({"models": "nb", "max_rows": "3000", "ngram_max": "1"})
if not c.check(p.returncode == 0, f"elm validate: {p.stderr.strip()}"):
    sys.exit(c.done())
e = load_export(exp)
m = metrics(run)["caught_vs_passed"]
viable = [json.loads(x) for x in open(os.path.join(run, "validate", "viable.jsonl"), encoding="utf-8")]
passed_recs = {v["source_line"] for v in viable}
gen = [(rows[r - 1][0], int(r) in passed_recs)
       for r, y, t in zip(e["records"], e["labels"], e["test"]) if t and y == 0]
c.check(sum(ok for _, ok in gen) == len(viable), "every viable tweet is a generated test row")
analyze = CountVectorizer(stop_words="english").build_analyzer()
first = {}
counts = [{}, {}]
total = [0, 0]
for text, ok in gen:
    for w in analyze(text):
        first.setdefault(w, len(first))
        counts[ok][w] = counts[ok].get(w, 0) + 1
        total[ok] += 1
tops = [sorted(counts[s], key=lambda w: (-counts[s][w], first[w]))[:20] for s in (0, 1)]
for s, name in enumerate(("caught", "passed")):
    g = m[name]
    texts = [t for t, ok in gen if ok == s]
    c.check(g["count"] == len(texts), f"{name}: count {g['count']} vs {len(texts)}")
    for key, f in (("chars", len), ("words", lambda t: len(re.findall(r"[^ \t\n\r\f\v]+", t)))):
        v = [f(t) for t in texts]
        want = (statistics.fmean(v), statistics.median(v)) if v else (0, 0)
        got = (g[key]["mean"], g[key]["median"])
        c.check(abs(got[0] - want[0]) < 1e-9 and got[1] == want[1], f"{name} {key}: {got} vs {want}")
    got = [(w["word"], w["count"], w["share"]) for w in g["top_words"]]
    want = [(w, counts[s][w], counts[s][w] / total[s]) for w in tops[s]]
    c.check([x[:2] for x in got] == [x[:2] for x in want], f"{name} top words: {got[:5]} vs {want[:5]}")
    c.check(all(abs(a[2] - b[2]) < 1e-12 for a, b in zip(got, want)), f"{name}: shares differ")
    only = [w["word"] for w in g["only"]]
    c.check(only == [w for w in tops[s] if w not in tops[1 - s]], f"{name} only: {only}")
    print(f"{name}: {len(texts)} tweets, median {g['chars']['median']} chars; top: "
          + ", ".join(w for w, _, _ in got[:8]))
sys.exit(c.done())
