#!/usr/bin/env bash
# bench/distributed/train.sh — data-parallel CPU training at 1 and 2 MPI ranks (not a test):
# the demo config's model (4 layers, 128 channels) on the demo corpus' tokens, batch 16 x 64
# tokens, STEPS steps; tokens/s is the median of train_log.jsonl's per-step tok_per_s over the
# steps after the first 5 (warm-up), for one process with 1 and 2 OpenMP threads and for
# `mpirun -np 2` with 1 thread a rank (the same two cores). Prints each median over REPEATS
# interleaved runs, the speed-up of 2 ranks over 1 process with 1 thread, the scaling
# efficiency (speed-up / 2) and 2 ranks against 1 process with 2 threads (the peer: the same
# cores without MPI). Also checks that the 2-rank losses are the 1-process ones within 1e-5.
#
#   bash bench/distributed/train.sh [BUILD_DIR] [STEPS] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
STEPS=${2:-40}
REPEATS=${3:-3}
ELM=$BUILD/elm
command -v mpirun >/dev/null || { echo "no mpirun (Debian: openmpi-bin)"; exit 1; }
"$ELM" info | grep -qx "mpi build: yes" || { echo "$ELM was built without MPI"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
sets=(--quiet --set run.out_dir="$tmp/data")
for s in ingest clean topicfit tokenize; do "$ELM" "$s" configs/demo.ini "${sets[@]}"; done
train=(--quiet --set train.data="$tmp/data/demo/tokens" --set train.steps="$STEPS"
       --set train.eval_every=1000 --set train.checkpoint_every=1000 --set train.sample_every=0)
# once LABEL RANKS THREADS I: one training (RANKS 0 = no mpirun) into out-LABEL-I
once() {
  local dir="$tmp/out-$1-$4"
  if [ "$2" -eq 0 ]; then
    "$ELM" train configs/demo.ini "${train[@]}" --set run.threads="$3" --set run.out_dir="$dir"
  else
    mpirun --oversubscribe -np "$2" "$ELM" train configs/demo.ini "${train[@]}" \
      --set run.threads="$3" --set run.out_dir="$dir"
  fi
}
CONFIGS=("1 process, 1 thread|0|1" "1 process, 2 threads|0|2" "mpirun -np 2, 1 thread|2|1")
for ((i = 0; i < REPEATS; i++)); do
  for c in "${CONFIGS[@]}"; do
    IFS='|' read -r label np th <<<"$c"
    once "$label" "$np" "$th" "$i"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp" "$REPEATS" "${CONFIGS[@]%%|*}" <<'PY'
import json, statistics, sys
tmp, n, labels = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def log(label, i):
    rows = [json.loads(l) for l in open(f"{tmp}/out-{label}-{i}/demo/train_log.jsonl")]
    return [r for r in rows if "tok_per_s" in r and "step" in r]
med = {}
for label in labels:
    runs = [statistics.median(r["tok_per_s"] for r in log(label, i) if r["step"] > 5)
            for i in range(n)]
    med[label] = statistics.median(runs)
    print(f"{label:<24} {med[label]:8.0f} tok/s  (runs: {', '.join(f'{x:.0f}' for x in runs)})")
one, thr, two = (med[l] for l in labels)
print(f"2 ranks over 1 process, 1 thread: {two / one:.2f}x (scaling efficiency {two / one / 2:.0%})")
print(f"2 ranks over 1 process, 2 threads (same cores, no MPI): {two / thr:.2f}x")
a = {r["step"]: r["loss"] for r in log(labels[0], 0)}
b = {r["step"]: r["loss"] for r in log(labels[2], 0)}
worst = max(abs(a[k] - b[k]) / abs(a[k]) for k in a)
print(f"losses of 2 ranks vs 1 process: worst relative difference {worst:.2e}"
      + ("" if worst <= 1e-5 else "  (MORE THAN 1e-5)"))
PY
