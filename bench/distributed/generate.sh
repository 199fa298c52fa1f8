#!/usr/bin/env bash
# bench/distributed/generate.sh — `elm generate` on the CPU at 1 and 2 MPI ranks (not a test):
# texts/s from the wall time (model load included), with one OpenMP thread per rank, plus one
# process with two threads (the same two cores without MPI) as the peer. The model is the demo's
# (configs/demo.ini: 4 layers, 128 channels), trained a few steps; the texts do not need to be
# good, only as long. Also checks that every run's tweets.jsonl is the same bytes.
#
#   bash bench/distributed/generate.sh [BUILD_DIR] [COUNT] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
COUNT=${2:-2000}
REPEATS=${3:-3}
ELM=$BUILD/elm
command -v mpirun >/dev/null || { echo "no mpirun (Debian: openmpi-bin)"; exit 1; }
"$ELM" info | grep -qx "mpi build: yes" || { echo "$ELM was built without MPI"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# OpenMP waiting as elm sets it (a short spin, then sleep: docs/model.md) unless the caller sets it
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DEMO=configs/demo.ini
TRAIN=(--set run.out_dir="$tmp" --set train.steps=30 --set train.eval_every=0
       --set train.checkpoint_every=0 --quiet)
for stage in ingest clean tokenize train; do "$ELM" "$stage" "$DEMO" "${TRAIN[@]}"; done
GEN=(--set run.out_dir="$tmp" --set generate.count="$COUNT" --set generate.batch_size=16
     --set generate.max_new_tokens=48 --quiet)
# once LABEL RANKS THREADS: one run (RANKS 0 = no mpirun); its seconds into LABEL.times, its
# output compared with the first run's
once() {
  local label=$1 np=$2 th=$3 t0 t1
  t0=$(date +%s.%N)
  if [ "$np" -eq 0 ]; then
    "$ELM" generate "$DEMO" "${GEN[@]}" --set run.threads="$th"
  else
    mpirun --oversubscribe -np "$np" "$ELM" generate "$DEMO" "${GEN[@]}" --set run.threads="$th"
  fi
  t1=$(date +%s.%N)
  echo "$t0 $t1" | awk '{print $2 - $1}' >>"$tmp/$label.times"
  local out=$tmp/demo/generated/tweets.jsonl
  if [ ! -f "$tmp/first.jsonl" ]; then cp "$out" "$tmp/first.jsonl"
  elif ! cmp -s "$out" "$tmp/first.jsonl"; then echo "$label" >>"$tmp/differs"; fi
}
echo "elm generate, $COUNT tweets of at most 48 new tokens in batches of 16, demo model; median of $REPEATS"
# The runs interleaved, so that the load of a shared machine drifts over all of them alike.
CONFIGS=("1p1t|0|1" "1p2t|0|2" "np2|2|1")
for ((i = 0; i < REPEATS; i++)); do
  for c in "${CONFIGS[@]}"; do
    IFS='|' read -r label np th <<<"$c"
    once "$label" "$np" "$th"
  done
done
python3 - "$tmp" "$COUNT" <<'PY'
import os, statistics, sys
tmp, count = sys.argv[1], int(sys.argv[2])
names = {"1p1t": "1 process, 1 thread", "1p2t": "1 process, 2 threads", "np2": "mpirun -np 2, 1 thread"}
med = {}
for k, name in names.items():
    ts = [float(x) for x in open(f"{tmp}/{k}.times").read().split()]
    med[k] = statistics.median(ts)
    print(f"{name:<24} {med[k]:7.2f} s  {count / med[k]:7.1f} texts/s   (runs: "
          + ", ".join(f"{t:.2f}" for t in ts) + ")")
print(f"speed-up of 2 ranks over 1 process: {med['1p1t'] / med['np2']:.2f}x "
      f"(efficiency {med['1p1t'] / med['np2'] / 2:.0%}); over 1 process with 2 threads: "
      f"{med['1p2t'] / med['np2']:.2f}x")
differs = open(f"{tmp}/differs").read().split() if os.path.exists(f"{tmp}/differs") else []
print("tweets.jsonl identical in every run:", "yes" if not differs else f"NO ({differs})")
PY
