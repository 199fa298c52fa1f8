"""Shared helpers of the eval tests: run `elm validate --export`, load its arrays, read the
study's CSV rows elm used."""
import csv
import json
import os

import numpy as np
import scipy.sparse as sp

from elmtest import SHARED, run_elm, tmpdir, write

CSV = os.path.join(SHARED, "data", "seed-tweets", "real_vs_generated.csv")


def csv_rows():
    with open(CSV, newline="") as f:
        return list(csv.reader(f))  # record 1 is the header, as in elm's record numbers


def validate(settings, extra=(), threads=2, seed=1337):
    """Runs elm validate on the study CSV with [validate] settings; returns (run dir, export dir,
    completed process)."""
    d = tmpdir("elm-eval-")
    lines = ["[run]", "name = t", f"out_dir = {d}/out", f"threads = {threads}", f"seed = {seed}",
             "[validate]", f"data = {CSV}"]
    lines += [f"{k} = {v}" for k, v in settings.items()]
    cfg = write(os.path.join(d, "v.ini"), "\n".join(lines) + "\n")
    exp = os.path.join(d, "export")
    p = run_elm("validate", cfg, f"--export={exp}", "--quiet", *extra)
    return os.path.join(d, "out", "t"), exp, p


def load_export(exp):
    ip = np.load(os.path.join(exp, "indptr.npy"))
    ix = np.load(os.path.join(exp, "indices.npy"))
    dt = np.load(os.path.join(exp, "data.npy"))
    with open(os.path.join(exp, "vocab.txt"), encoding="utf-8") as f:
        vocab = f.read().split("\n")[:-1]
    X = sp.csr_matrix((dt, ix, ip), shape=(len(ip) - 1, len(vocab)))
    out = {"X": X, "vocab": vocab}
    for name in ("labels", "records", "folds", "test"):
        path = os.path.join(exp, name + ".npy")
        if os.path.exists(path):
            out[name] = np.load(path)
    return out


def metrics(run_dir):
    with open(os.path.join(run_dir, "validate", "metrics.json")) as f:
        return json.load(f)
