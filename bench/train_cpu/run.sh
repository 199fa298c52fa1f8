#!/usr/bin/env bash
# bench/train_cpu/run.sh — GPT-2 124M training step (B=4, T=64, fp32) and KV-cache decoding on
# the CPU. Not a test. Prints one JSON line per run, then medians and same-run ratios:
# elm's AVX-512 loops vs OpenBLAS, and vs llm.c's 4.42 s/step anchor (../shared/bench/ANCHORS.md).
# With LLMC_DIR set (a checkout or bare mirror of github.com/karpathy/llm.c), llm.c's CPU trainer
# runs in the same rounds (llmc_peer.sh) and the ratio to it is printed too.
# usage: [LLMC_DIR=...] bench/train_cpu/run.sh [BUILD_DIR] [STEPS] [ROUNDS]
set -euo pipefail
BUILD=${1:-build}
STEPS=${2:-10}
ROUNDS=${3:-1}
BIN=$BUILD/bench_train_cpu
[ -x "$BUILD/venv/bin/python" ] && export PYTHON=${PYTHON:-$BUILD/venv/bin/python}
THREADS=${THREADS:-$(nproc)}
[ -x "$BIN" ] || { echo "build first: cmake --build $BUILD (no $BIN)" >&2; exit 1; }
# libgomp's default spin-wait costs up to 10x on a machine shared with other jobs (measured:
# KV-cache decode 3.7 vs 33 tok/s at load 11 on 2 cores); passive waiting costs little here.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
echo "OMP_WAIT_POLICY=$OMP_WAIT_POLICY threads=$THREADS load: $(cut -d' ' -f1-3 /proc/loadavg)"
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
# Interleave the variants so the load of a shared machine hits them alike.
for r in $(seq "$ROUNDS"); do
  "$BIN" --mode train --blas 0 --steps "$STEPS" --threads "$THREADS" 2>/dev/null | tee -a "$OUT"
  if [ -n "${LLMC_DIR:-}" ]; then
    OMP_NUM_THREADS=$THREADS "$(dirname "$0")/llmc_peer.sh" "$STEPS" | tee -a "$OUT"
  fi
  "$BIN" --mode train --blas 1 --steps "$STEPS" --threads "$THREADS" 2>/dev/null | tee -a "$OUT"
done
for c in 1 0; do
  "$BIN" --mode decode --blas 0 --B 4 --prompt 16 --new 48 --cache $c --threads "$THREADS" \
    2>/dev/null | tee -a "$OUT"
done
python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
train, cpu, rss = {}, {}, {}
for r in rows:
    if r["mode"] == "train":
        train.setdefault(r["matmul"], []).append(r["median_ms"])
        if r["median_cpu_ms"] is not None:
            cpu.setdefault(r["matmul"], []).append(r["median_cpu_ms"])
        rss[r["matmul"]] = r["peak_rss_mib"]
med = {k: statistics.median(v) for k, v in train.items()}
for k, v in med.items():
    c = f"{statistics.median(cpu[k]):.0f} CPU-ms/step" if k in cpu else "CPU time not measured"
    print(f"train {k}: median {v:.0f} ms/step ({c}), peak RSS {rss[k]} MiB")
if "llm.c" in med:
    for k in ("loops", "blas"):
        if k in med:
            r = med[k] / med["llm.c"]
            print(f"elm {k} / llm.c time ratio (same run): {r:.2f} -> "
                  f"{4420 * r:.0f} ms/step scaled to llm.c's 4420 ms quiet-machine anchor")
            if k in cpu and "llm.c" in cpu:
                rc = statistics.median(cpu[k]) / statistics.median(cpu["llm.c"])
                print(f"elm {k} / llm.c CPU-time ratio (same run): {rc:.2f} -> "
                      f"{4420 * rc:.0f} ms/step scaled to the anchor")
if "loops" in med and "blas" in med:
    print(f"elm loops / OpenBLAS time ratio: {med['loops'] / med['blas']:.2f} (< 1: loops faster)")
dec = {r["kv_cache"]: r["tok_per_s"] for r in rows if r["mode"] == "decode"}
if 0 in dec and 1 in dec:
    print(f"decode 124M B=4: KV cache {dec[1]:.1f} tok/s, recompute {dec[0]:.1f} tok/s, "
          f"ratio {dec[1] / dec[0]:.1f}x")
PY
