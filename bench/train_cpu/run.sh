#!/usr/bin/env bash
# bench/train_cpu/run.sh — GPT-2 124M training step (B=4, T=64, fp32) and KV-cache decoding on
# the CPU. Not a test. Prints one JSON line per run, then medians and same-run ratios:
# elm's AVX-512 loops vs OpenBLAS, and vs llm.c's 4.42 s/step anchor (../shared/bench/ANCHORS.md).
# usage: bench/train_cpu/run.sh [BUILD_DIR] [STEPS] [ROUNDS]
set -euo pipefail
BUILD=${1:-build}
STEPS=${2:-10}
ROUNDS=${3:-1}
BIN=$BUILD/bench_train_cpu
THREADS=${THREADS:-$(nproc)}
[ -x "$BIN" ] || { echo "build first: cmake --build $BUILD (no $BIN)" >&2; exit 1; }
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
# Interleave the variants so the load of a shared machine hits them alike.
for r in $(seq "$ROUNDS"); do
  "$BIN" --mode train --blas 0 --steps "$STEPS" --threads "$THREADS" 2>/dev/null | tee -a "$OUT"
  "$BIN" --mode train --blas 1 --steps "$STEPS" --threads "$THREADS" 2>/dev/null | tee -a "$OUT"
done
for c in 1 0; do
  "$BIN" --mode decode --blas 0 --B 4 --prompt 16 --new 48 --cache $c --threads "$THREADS" \
    2>/dev/null | tee -a "$OUT"
done
python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
train = {}
for r in rows:
    if r["mode"] == "train":
        train.setdefault(r["matmul"], []).append(r["median_ms"])
med = {k: statistics.median(v) for k, v in train.items()}
for k, v in med.items():
    print(f"train {k}: median {v:.0f} ms/step, {4420 / v:.2f}x llm.c's 4.42 s/step anchor")
if "loops" in med and "blas" in med:
    print(f"elm loops / OpenBLAS time ratio: {med['loops'] / med['blas']:.2f} (< 1: loops faster)")
dec = {r["kv_cache"]: r["tok_per_s"] for r in rows if r["mode"] == "decode"}
if 0 in dec and 1 in dec:
    print(f"decode 124M B=4: KV cache {dec[1]:.1f} tok/s, recompute {dec[0]:.1f} tok/s, "
          f"ratio {dec[1] / dec[0]:.1f}x")
PY
