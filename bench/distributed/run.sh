#!/usr/bin/env bash
# bench/distributed/run.sh — `elm validate`'s random-forest grid search at 1 and 2 MPI ranks
# (not a test): the grid's wall time from metrics.json ("grid.seconds") and the whole stage's,
# with one OpenMP thread per rank, plus one rank with two threads (the same two cores without
# MPI) as the peer. Also checks that every run's metrics.json is the same but for timings.
#
#   bash bench/distributed/run.sh [BUILD_DIR] [ROWS] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
ROWS=${2:-6000}
REPEATS=${3:-3}
ELM=$BUILD/elm
CSV=$(realpath "${ELM_SHARED:-../shared}")/data/seed-tweets/real_vs_generated.csv
command -v mpirun >/dev/null || { echo "no mpirun (Debian: openmpi-bin)"; exit 1; }
"$ELM" info | grep -qx "mpi build: yes" || { echo "$ELM was built without MPI"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} # as ctest runs it: no spinning on a shared box
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/v.ini" <<INI
[run]
name = b
out_dir = $tmp/out
seed = 3
[validate]
data = $CSV
max_rows = $ROWS
max_features = 20000
models = rf
rf.n_estimators = 50
grid.n_estimators = 20,40
grid.criterion = gini,entropy
grid.max_depth = None,20
grid.min_samples_leaf = 1,3
grid_folds = 3
INI
# once LABEL RANKS THREADS I: one run (RANKS 0 = no mpirun) into out-LABEL-I
once() {
  local label=$1 np=$2 th=$3 i=$4 dir="$tmp/out-$1-$4"
  if [ "$np" -eq 0 ]; then
    "$ELM" validate "$tmp/v.ini" --quiet --set run.threads=$th --set run.out_dir="$dir"
  else
    mpirun --oversubscribe -np "$np" "$ELM" validate "$tmp/v.ini" --quiet \
      --set run.threads=$th --set run.out_dir="$dir"
  fi
}
# summary LABEL: the median over REPEATS of the grid's and the stage's seconds
summary() {
  python3 - "$1" "$tmp" "$REPEATS" <<'PY'
import json, re, statistics, sys
label, tmp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ms = [json.load(open(f"{tmp}/out-{label}-{i}/b/validate/metrics.json")) for i in range(n)]
grid = statistics.median(m["grid"]["seconds"] for m in ms)
total = statistics.median(m["seconds"] for m in ms)
print(f"{label:<22} grid {grid:7.2f} s   stage {total:7.2f} s")
open(f"{tmp}/{label}.txt", "w").write(f"{grid} {total}\n")
# the timings and the thread count (a setting, not a result) blanked
texts = [re.sub(r'"(seconds|threads)":\s*[-+0-9.eE]+', '"\\1": 0',
                open(f"{tmp}/out-{label}-{i}/b/validate/metrics.json").read()) for i in range(n)]
open(f"{tmp}/{label}.metrics", "w").write(texts[0])
PY
}
echo "elm validate, grid of 16 combinations x 3 folds on $ROWS rows; median of $REPEATS"
# The runs interleaved, so that the load of a shared machine drifts over all of them alike.
CONFIGS=("1 process, 1 thread|0|1" "1 process, 2 threads|0|2" "mpirun -np 1, 1 thread|1|1"
         "mpirun -np 2, 1 thread|2|1")
for ((i = 0; i < REPEATS; i++)); do
  for c in "${CONFIGS[@]}"; do
    IFS='|' read -r label np th <<<"$c"
    once "$label" "$np" "$th" "$i"
  done
done
for c in "${CONFIGS[@]}"; do summary "${c%%|*}"; done
python3 - "$tmp" <<'PY'
import sys
tmp = sys.argv[1]
t = lambda l: [float(x) for x in open(f"{tmp}/{l}.txt").read().split()]
one, two, thr = t("1 process, 1 thread"), t("mpirun -np 2, 1 thread"), t("1 process, 2 threads")
print(f"grid speed-up of 2 ranks over 1 process: {one[0] / two[0]:.2f}x "
      f"(efficiency {one[0] / two[0] / 2:.0%}); over 1 process with 2 threads: {thr[0] / two[0]:.2f}x")
labels = ["1 process, 1 thread", "1 process, 2 threads", "mpirun -np 1, 1 thread",
          "mpirun -np 2, 1 thread"]
same = len({open(f"{tmp}/{l}.metrics").read() for l in labels}) == 1
print("metrics.json identical but for timings and threads:", "yes" if same else "NO")
PY
