#!/usr/bin/env python3
"""bench/validators — elm's validators vs scikit-learn on the study's real_vs_generated.csv, same
machine, same threads, same features and split (elm exports them). Prints fit+predict seconds of
both, the ratio (sklearn / elm, higher = elm faster) and the accuracy or perplexity of both.

  python3 bench/validators/bench.py [--elm build/elm] [--threads 2] [--rows 0]
         [--grid reduced|full|elm-only] [--skip rf,grid,lda,nb] [--repeat 21]

--grid reduced (default) runs the same 8-combination grid on both (n_estimators {100},
criterion {gini, entropy}, max_depth {None, 10}, min_samples_split {5}, min_samples_leaf
{3, 6}); --grid full runs the study's grid as the issue lists it on both (3 x 2 x 4 x 2 x 2 = 96
combinations, 2 folds; 24 minutes for sklearn on 2 cores); either way elm also runs that full
grid alone for its tuned test accuracy, printed
beside the study's 62.52%.

Naive Bayes takes milliseconds, so both sides are timed in-process as the median of --repeat
runs after a warm-up: elm's with `elm bench --only=mnb|gnb`, sklearn's here. The forest, grid
and LDA take seconds and are timed once each (elm's figures from its metrics.json)."""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("ELM_SHARED", os.path.join(SRC, "..", "shared"))
CSV = os.path.join(SHARED, "data", "seed-tweets", "real_vs_generated.csv")
STUDY_ACC = 0.6252
FULL_GRID = {"n_estimators": [100, 200, 300], "criterion": ["gini", "entropy"],
             "max_depth": [None, 2, 6, 10], "min_samples_split": [5, 10],
             "min_samples_leaf": [3, 6]}
REDUCED_GRID = {"n_estimators": [100], "criterion": ["gini", "entropy"], "max_depth": [None, 10],
                "min_samples_split": [5], "min_samples_leaf": [3, 6]}

ap = argparse.ArgumentParser()
ap.add_argument("--elm", default=os.path.join(SRC, "build", "elm"))
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--rows", type=int, default=0, help="stratified subset (0 = all 30,000)")
ap.add_argument("--grid", default="reduced", choices=["reduced", "full", "elm-only"])
ap.add_argument("--skip", default="", help="comma list of parts to skip: nb,rf,grid,lda")
ap.add_argument("--repeat", type=int, default=21,
                help="timed runs of each Naive Bayes fit+predict, both sides (median reported)")
ap.add_argument("--gnb-features", type=int, default=3000,
                help="vocabulary of the GaussianNB comparison (sklearn needs dense input)")
args = ap.parse_args()
skip = set(filter(None, args.skip.split(",")))
T = args.threads
os.environ["OMP_NUM_THREADS"] = str(T)
work = tempfile.mkdtemp(prefix="elm-bench-validators-")


def grid_ini(g):
    out = []
    for k, v in g.items():
        out.append(f"grid.{k} = " + ",".join("None" if x is None else str(x) for x in v))
    return out


def elm(cmd, name, settings, section, export=True):
    lines = ["[run]", f"name = {name}", f"out_dir = {work}/out", f"threads = {T}", "seed = 1",
             f"[{section}]", f"data = {CSV}", f"max_rows = {args.rows}"]
    lines += [f"{k} = {v}" if not k.startswith("grid.") else k + " = " + v
              for k, v in settings.items()]
    cfg = os.path.join(work, name + ".ini")
    with open(cfg, "w") as f:
        f.write("\n".join(lines) + "\n")
    exp = os.path.join(work, "exp-" + name)
    t = time.perf_counter()
    cmdline = [args.elm, cmd, cfg, "--quiet"] + ([f"--export={exp}"] if export else [])
    p = subprocess.run(cmdline, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode:
        sys.exit(f"elm {cmd} failed: {p.stderr}")
    out = os.path.join(work, "out", name, "validate/metrics.json" if cmd == "validate"
                       else "topics/topics.json")
    with open(out) as f:
        return json.load(f), exp, wall


def load(exp, vocab_name="vocab.txt"):
    ip, ix, dt = (np.load(os.path.join(exp, n + ".npy")) for n in ("indptr", "indices", "data"))
    with open(os.path.join(exp, vocab_name), encoding="utf-8") as f:
        V = len(f.read().split("\n")) - 1
    X = sp.csr_matrix((dt, ix, ip), shape=(len(ip) - 1, V))
    e = {"X": X}
    for n in ("labels", "test", "heldout", "records"):
        path = os.path.join(exp, n + ".npy")
        if os.path.exists(path):
            e[n] = np.load(path)
    return e


rows_out = []


def report(name, t_elm, t_sk, q_elm, q_sk, qname):
    ratio = t_sk / t_elm if t_elm > 0 else float("inf")
    rows_out.append((name, t_elm, t_sk, ratio, q_elm, q_sk, qname))
    print(f"{name:<38} elm {t_elm:10.5f}s  sklearn {t_sk:10.5f}s  ratio {ratio:7.1f}x   "
          f"{qname} elm {q_elm:.4f} sklearn {q_sk:.4f}", flush=True)


print(f"bench/validators: {CSV}, rows {args.rows or 'all'}, threads {T}, sklearn "
      f"{__import__('sklearn').__version__}", flush=True)

# Features + Naive Bayes + one forest, on the study's features and an 80/20 split.
study = {"stop_words": "true", "ngram_min": 1, "ngram_max": 3, "max_features": 200000,
         "test_fraction": 0.2, "rf.oob_score": "false"}
models = ",".join(m for m, part in (("nb", "nb"), ("rf", "rf")) if part not in skip) or "nb"
m, exp, _ = elm("validate", "study", dict(study, models=models), "validate")
e = load(exp)
X, y, te = e["X"], e["labels"], e["test"].astype(bool)
with open(CSV, newline="") as f:
    rows = list(csv.reader(f))
texts = [rows[r - 1][0] for r in e["records"]]
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402

t = time.perf_counter()
Xs = TfidfVectorizer(stop_words="english", ngram_range=(1, 3), max_features=200000).fit_transform(texts)
t_sk = time.perf_counter() - t
report("tf-idf features (1-3 grams, 200k)", m["features"]["seconds"], t_sk, X.nnz, Xs.nnz, "nnz")

def elm_bench(name, settings, only, repeat):
    """elm's in-process times (`elm bench`): median of `repeat` runs after one warm-up."""
    lines = ["[run]", f"name = {name}", f"out_dir = {work}/out", f"threads = {T}", "seed = 1",
             "[validate]", f"data = {CSV}", f"max_rows = {args.rows}"]
    lines += [f"{k} = {v}" for k, v in settings.items()]
    cfg = os.path.join(work, name + ".ini")
    with open(cfg, "w") as f:
        f.write("\n".join(lines) + "\n")
    js = os.path.join(work, name + "-bench.json")
    p = subprocess.run([args.elm, "bench", cfg, "--quiet", f"--only={only}",
                        f"--repeat={repeat}", f"--json={js}"], capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"elm bench failed: {p.stderr}")
    with open(js) as f:
        return json.load(f)["validators"]


def median_time(fn, repeat):
    fn()  # warm-up, as elm bench does
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


if "nb" not in skip:
    from sklearn.naive_bayes import GaussianNB, MultinomialNB
    R = args.repeat
    b = elm_bench("bench-mnb", study, "mnb", R)["mnb"]
    out = {}
    Xtr, ytr, Xte = X[~te], y[~te], X[te]  # split outside the timing, as elm's is
    t_sk = median_time(lambda: out.update(pred=MultinomialNB().fit(Xtr, ytr).predict(Xte)), R)
    report(f"MultinomialNB fit+predict (median {R})", b["seconds"], t_sk, b["accuracy"],
           (out["pred"] == y[te]).mean(), "accuracy")
    g, gexp, _ = elm("validate", "gnb", dict(study, models="gnb", max_features=args.gnb_features),
                     "validate")
    ge = load(gexp)
    gte = ge["test"].astype(bool)
    Xd = ge["X"].toarray()
    Xdtr, ydtr, Xdte = Xd[~gte], ge["labels"][~gte], Xd[gte]
    Rg = max(1, min(R, 3))  # sklearn's dense fit takes seconds
    b = elm_bench("bench-gnb", dict(study, max_features=args.gnb_features), "gnb", R)["gnb"]
    t_sk = median_time(lambda: out.update(
        pred=GaussianNB().fit(Xdtr, ydtr).predict(Xdte)), Rg)
    report(f"GaussianNB fit+predict ({args.gnb_features} feat)", b["seconds"], t_sk, b["accuracy"],
           (out["pred"] == ge["labels"][gte]).mean(), "accuracy")
    del Xd, Xdtr, Xdte

if "rf" not in skip:
    from sklearn.ensemble import RandomForestClassifier
    t = time.perf_counter()
    rf = RandomForestClassifier(100, n_jobs=T, random_state=1).fit(X[~te], y[~te])
    pred = rf.predict(X[te])
    t_sk = time.perf_counter() - t
    report("RandomForest 100 trees fit+predict", m["test"]["random_forest"]["seconds"], t_sk,
           m["test"]["random_forest"]["accuracy"], (pred == y[te]).mean(), "accuracy")

if "grid" not in skip:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    grids = [("full", FULL_GRID)] if args.grid == "full" else []
    if args.grid == "reduced":
        grids.append(("reduced", REDUCED_GRID))
    for gname, grid in grids:
        n = int(np.prod([len(v) for v in grid.values()]))
        s = {f"grid.{k}": ",".join("None" if x is None else str(x) for x in v) for k, v in grid.items()}
        gm, _, _ = elm("validate", "grid-" + gname, dict(study, models="rf", grid_folds=2, **s),
                       "validate", export=False)
        t = time.perf_counter()
        gs = GridSearchCV(RandomForestClassifier(random_state=1), grid, n_jobs=T,
                          cv=StratifiedKFold(2, shuffle=True, random_state=1), refit=False)
        gs.fit(X[~te], y[~te])
        t_sk = time.perf_counter() - t
        report(f"grid search {n} combos x 2 folds", gm["grid"]["seconds"], t_sk,
               gm["grid"]["best_cv_accuracy"], gs.best_score_, "best cv acc")
        print(f"    sklearn best {gs.best_params_}; elm best {gm['grid']['best']}", flush=True)
    if args.grid != "full":
        s = {f"grid.{k}": ",".join("None" if x is None else str(x) for x in v)
             for k, v in FULL_GRID.items()}
        gm, _, wall = elm("validate", "grid-full-elm", dict(study, models="rf", grid_folds=2, **s),
                          "validate", export=False)
        n_full = int(np.prod([len(v) for v in FULL_GRID.values()]))
        print(f"elm full {n_full}-combination grid (2 folds): {gm['grid']['seconds']:.1f}s, best "
              f"{gm['grid']['best']}", flush=True)
        rows_out.append(("elm full grid", gm["grid"]["seconds"], None, None, None, None, ""))
        tuned = gm["test"]["random_forest"]["accuracy"]
    else:
        tuned = gm["test"]["random_forest"]["accuracy"]
    print(f"tuned random forest test accuracy (80/20, TF-IDF, stop words, 1-3 grams, 200k): "
          f"elm {100 * tuned:.2f}%   study (scikit-learn) 62.52%", flush=True)

if "lda" not in skip:
    from sklearn.decomposition import LatentDirichletAllocation
    from sklearn.decomposition._online_lda_fast import _dirichlet_expectation_2d
    for k in (4, 10, 20):
        tm, texp, _ = elm("topics", f"lda{k}", {"k": k, "iterations": 10}, "topics")
        le = load(texp)
        Xc, held = le["X"], le["heldout"].astype(bool)
        t = time.perf_counter()
        sk = LatentDirichletAllocation(n_components=k, learning_method="batch", max_iter=10,
                                       random_state=1, n_jobs=T).fit(Xc[~held])
        sk_perp = sk.perplexity(Xc[held])
        t_sk = time.perf_counter() - t
        report(f"LDA k={k} fit+held-out perplexity", tm["lda"]["seconds"], t_sk,
               tm["lda"]["heldout_perplexity"], sk_perp, "perplexity")

print("\nsummary (ratio = sklearn seconds / elm seconds):")
for name, te_, ts, r, qe, qs, qn in rows_out:
    if ts is None:
        print(f"  {name}: elm {te_:.1f}s (no sklearn run)")
    else:
        print(f"  {name}: {r:.1f}x  ({qn}: elm {qe:.4g}, sklearn {qs:.4g})")
