"""Tokenizer benchmark (not a test): MB/s of elm vs tiktoken, single-threaded and on all threads,
on the seed tweets repeated to >= 50 MB; BPE training time of elm vs HF tokenizers' BpeTrainer
on the same corpus and vocab size. Prints both figures and the ratio, measured in the same run.

usage: python bench/tokenizer/bench.py [--build build] [--mb 50] [--threads N] [--train-reps 1,8]
Run from the repository root with the venv python (build/venv/bin/python)."""
import argparse
import csv
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

os.environ["TIKTOKEN_CACHE_DIR"] = ""
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "tokenizer"))
import tokref  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers, trainers  # noqa: E402

csv.field_size_limit(1 << 30)


def seed_tweets(shared):
    out = []
    for path in sorted(glob.glob(os.path.join(shared, "data", "seed-tweets", "*.csv"))):
        if "real_vs_generated" in path:
            continue
        with open(path, newline="", encoding="utf-8") as f:
            head = f.readline()
            f.seek(0)
            delim = "\t" if head.count("\t") > head.count(",") else ","
            out += [row["tweet"] for row in csv.DictReader(f, delimiter=delim)]
    return out


def build_bench(build, tmp):
    exe = os.path.join(tmp, "bench_bpe")
    libs = subprocess.run(["pkg-config", "--libs", "libpcre2-8", "libcjson", "zlib", "inih"],
                          capture_output=True, text=True, check=True).stdout.split()
    cmd = ["cc", "-O3", "-march=native", "-std=c11", "-D_GNU_SOURCE", "-fopenmp", "-I", ROOT,
           os.path.join(HERE, "bench_bpe.c"), os.path.join(build, "libelmcore.a"), "-o", exe,
           *libs, "-lcsv", "-lm"]
    subprocess.run(cmd, check=True)
    return exe


def run_json(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"{' '.join(cmd)} failed: {p.stderr}")
    return json.loads(p.stdout.strip().split("\n")[-1])


def best_of(n, f):
    return min(f() for _ in range(n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--shared", default=os.environ.get("ELM_SHARED", os.path.join(ROOT, "..", "shared")))
    ap.add_argument("--mb", type=float, default=50)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--train-reps", default="1,8", help="corpus copies for the trainer bench")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="elm-bench-tok-")
    exe = build_bench(a.build, tmp)
    vocab = os.path.join(a.shared, "data", "gpt2-vocab")
    tweets = seed_tweets(a.shared)
    one = sum(len(t.encode()) for t in tweets)
    copies = max(1, int(a.mb * 1e6 / one + 0.999))
    docs = tweets * copies
    nbytes = one * copies
    path = os.path.join(tmp, "docs.bin")
    with open(path, "wb") as f:
        f.write(b"\0".join(d.encode() for d in docs))
    print(f"corpus: {len(tweets)} seed tweets x {copies} = {len(docs)} documents, "
          f"{nbytes / 1e6:.1f} MB; threads: {a.threads}; best of {a.reps}")

    enc = tokref.tiktoken_from_dir(vocab)
    rows = []
    for threads in sorted({1, a.threads}):
        t_elm = best_of(a.reps, lambda: run_json([exe, "encode", vocab, path, str(threads)])["seconds"])
        r = run_json([exe, "encode", vocab, path, str(threads)])

        def tk():
            # Multi-threaded: the better of tiktoken's batch API (a future per document) and a
            # thread pool over big chunks of documents (tiktoken releases the GIL while encoding).
            t0 = time.perf_counter()
            if threads == 1:
                out = [enc.encode_ordinary(d) for d in docs]
                dt = time.perf_counter() - t0
            else:
                out = enc.encode_ordinary_batch(docs, num_threads=threads)
                dt = time.perf_counter() - t0
                step = (len(docs) + 4 * threads - 1) // (4 * threads)
                t0 = time.perf_counter()
                with ThreadPoolExecutor(threads) as ex:
                    parts = list(ex.map(lambda i: [enc.encode_ordinary(d) for d in docs[i:i + step]],
                                        range(0, len(docs), step)))
                dt = min(dt, time.perf_counter() - t0)
                assert sum(map(len, parts)) == len(docs)
            tk.tokens = sum(map(len, out))
            return dt

        t_tk = best_of(a.reps, tk)
        same = "same token count" if tk.tokens == r["tokens"] else f"TOKEN COUNTS DIFFER {tk.tokens} {r['tokens']}"
        rows.append((threads, nbytes / t_elm / 1e6, nbytes / t_tk / 1e6))
        print(f"encode, {threads} thread(s): elm {nbytes / t_elm / 1e6:.1f} MB/s, tiktoken "
              f"{nbytes / t_tk / 1e6:.1f} MB/s, ratio {t_tk / t_elm:.2f}x ({same})")

    for reps in [int(x) for x in a.train_reps.split(",")]:
        tdocs = tweets * reps
        tpath = os.path.join(tmp, f"train{reps}.bin")
        with open(tpath, "wb") as f:
            f.write(b"\0".join(d.encode() for d in tdocs))
        out = os.path.join(tmp, f"vocab{reps}")
        e = run_json([exe, "train", tpath, "8192", str(a.threads), out])
        t0 = time.perf_counter()
        t = Tokenizer(models.BPE())
        t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        t.train_from_iterator(tdocs, trainers.BpeTrainer(
            vocab_size=8191, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False))
        t_hf = time.perf_counter() - t0
        hm = [m if isinstance(m, list) else m.split(" ") for m in json.loads(t.to_str())["model"]["merges"]]
        em = [l.split(" ") for l in open(os.path.join(out, "vocab.bpe")).read().split("\n")[1:-1]]
        print(f"train 8192 on {one * reps / 1e6:.1f} MB ({reps}x seed tweets), {a.threads} threads: "
              f"elm {e['seconds']:.3f} s (counting {e['count_seconds']:.3f} s), HF BpeTrainer "
              f"{t_hf:.3f} s, ratio {t_hf / e['seconds']:.1f}x; merges identical: {hm == em}")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
