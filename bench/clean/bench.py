#!/usr/bin/env python3
"""Benchmark (not a test): `elm clean` vs tweet-preprocessor's clean() on the seed tweets
repeated to >= 500,000 tweets, the same entities removed (urls, mentions, hashtags, reserved
words, emojis, smileys, numbers), one thread each. Prints both rates (tweets/s) and the ratio.

elm's time is the whole `elm clean` process (reading corpus.jsonl, cleaning, writing
clean.jsonl and clean.json); the peer's time is only its clean() calls over strings already in
memory, so the comparison favours the peer. Both wall-clock and CPU time (user + system) are
reported: on a shared machine the CPU-time ratio is the steadier one.

usage: bench/clean/bench.py [--elm build/elm] [--shared ../shared] [--tweets 500000]
"""
import argparse
import csv
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
ap = argparse.ArgumentParser()
ap.add_argument("--elm", default=os.path.join(root, "build", "elm"))
ap.add_argument("--shared", default=os.environ.get("ELM_SHARED", os.path.join(root, "..", "shared")))
ap.add_argument("--tweets", type=int, default=500000)
ap.add_argument("--repeat", type=int, default=3, help="elm runs; the best is reported")
args = ap.parse_args()

import preprocessor  # noqa: E402  (tweet-preprocessor, in the test venv)

csv.field_size_limit(1 << 30)
seed = []
for path in sorted(glob.glob(os.path.join(args.shared, "data", "seed-tweets", "*.csv"))):
    if "real_vs" in path:
        continue
    with open(path, newline="", encoding="utf-8") as f:
        delim = "\t" if "\t" in f.readline() else ","
        f.seek(0)
        seed += [(r["username"], r["tweet"]) for r in csv.DictReader(f, delimiter=delim)]
reps = -(-args.tweets // len(seed))
texts = [t for _, t in seed] * reps
n = len(texts)

d = tempfile.mkdtemp(prefix="elm-bench-clean-")
run = os.path.join(d, "out", "bench")
os.makedirs(run)
with open(os.path.join(run, "corpus.jsonl"), "w", encoding="utf-8") as f:
    for i in range(n):
        acc, text = seed[i % len(seed)]
        f.write(json.dumps({"id": str(i), "account": acc, "created_at": "", "text": text},
                           ensure_ascii=False) + "\n")
cfg = os.path.join(d, "bench.ini")
with open(cfg, "w") as f:
    f.write(f"""[run]
name = bench
out_dir = {d}/out
threads = 1
[clean]
urls = remove
mentions = remove
hashtags = remove
cashtags = keep
emojis = remove
smileys = remove
reserved = remove
numbers = remove
html_entities = false
min_chars = 0
""")

def child_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


best, best_cpu = None, None
for _ in range(args.repeat):
    t0, c0 = time.perf_counter(), child_cpu()
    r = subprocess.run([args.elm, "clean", cfg, "--quiet"], capture_output=True, text=True)
    dt, dc = time.perf_counter() - t0, child_cpu() - c0
    if r.returncode != 0:
        sys.exit(f"elm clean failed: {r.stderr}")
    best = dt if best is None else min(best, dt)
    best_cpu = dc if best_cpu is None else min(best_cpu, dc)
rep = json.load(open(os.path.join(run, "clean.json")))
assert rep["total"]["read"] == n, rep["total"]

t0, c0 = time.perf_counter(), time.process_time()
for t in texts:
    preprocessor.clean(t)
py_dt, py_cpu = time.perf_counter() - t0, time.process_time() - c0
shutil.rmtree(d)
print(f"tweets: {n} ({len(seed)} seed tweets x {reps})")
print(f"{'':38s} {'wall':>16s} {'cpu':>16s}")
print(f"{'elm clean (1 thread, whole command)':38s} {n / best:12,.0f} t/s {n / best_cpu:12,.0f} t/s")
print(f"{'tweet-preprocessor clean()':38s} {n / py_dt:12,.0f} t/s {n / py_cpu:12,.0f} t/s")
print(f"{'ratio elm / tweet-preprocessor':38s} {py_dt / best:14.1f}x {py_cpu / best_cpu:14.1f}x")
