#!/usr/bin/env bash
# run.sh — elm's GPU sampling benchmark, in ONE device call, from the repo root (after
# prepare.sh here; carry = ["shared", ".debs"]):
#   1. build (Release, CUDA) with the staged dependencies;
#   2. the sampling harnesses: tests/gpu/test_decode_kernels, test_sampling_gpu, test_greedy_gpu,
#      test_batcher_gpu (each vs the CPU reference);
#   3. elm: 100,000 texts x 64 new tokens at temperature 0.8, random 124M and 355M weights,
#      512 slots, plus batch-1 latency per token;
#   4. ../shared/bench/hf_peer_bench.py gen (HF generate at batch 1/64/512, same machine, same call);
#   5. a table of both and the ratios (bench/generate_gpu/summarize.py).
# Logs go to $OUT (the device tool brings them back); the summary table is printed last.
# Knobs: SLOTS (512), COUNT (100000), NEW (64), CAP_S (100: an elm run stops after this many
# seconds and reports its rate and the projected time, so the call fits its 10 minutes),
# SKIP_HF=1, SKIP_CHECKS=1. HF runs before elm so its figures come back whatever elm does.
set -uo pipefail
ROOT=$(pwd)
OUT=${OUT:-/tmp/elm-gen-bench}
mkdir -p "$OUT"
BUILD=${BUILD:-build/gpu} # under the ignored build/
SLOTS=${SLOTS:-512}
COUNT=${COUNT:-100000}
NEW=${NEW:-64}
CAP_S=${CAP_S:-100}
export ELM_SHARED="$ROOT/shared"
[ -d "$ELM_SHARED" ] || ELM_SHARED="$ROOT/../shared"

. bench/gpu_deps.sh # the staged build dependencies; nvidia-smi into $OUT/gpu.txt

t0=$(date +%s)
cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release -DELM_CUDA=ON -DELM_NATIVE=OFF \
  -DELM_SHARED="$ELM_SHARED" ${PREFIX:-} >"$OUT/build.log" 2>&1 &&
  cmake --build $BUILD -j"$(nproc)" --target gpu_test_decode_kernels gpu_test_sampling_gpu \
    gpu_test_greedy_gpu gpu_test_batcher_gpu >>"$OUT/build.log" 2>&1
rc=$?
echo "build: rc $rc, $(( $(date +%s) - t0 )) s" | tee -a "$OUT/summary.txt"
if [ $rc -ne 0 ]; then tail -40 "$OUT/build.log"; exit 1; fi

if [ "${SKIP_CHECKS:-0}" != 1 ]; then
  for t in decode_kernels sampling_gpu greedy_gpu batcher_gpu; do
    timeout 120 ./$BUILD/tests/gpu_test_$t >"$OUT/check_$t.log" 2>&1
    echo "check $t: rc $? ($(tail -1 "$OUT/check_$t.log"))" | tee -a "$OUT/summary.txt"
  done
fi

: >"$OUT/bench.jsonl"
if [ "${SKIP_HF:-0}" != 1 ]; then
  PYTHONUNBUFFERED=1 timeout 180 python3 "$ELM_SHARED/bench/hf_peer_bench.py" gen all \
    2>>"$OUT/hf.err" | grep '^{' | tee -a "$OUT/bench.jsonl"
fi
for shape in gpt2 gpt2-medium; do
  timeout $((CAP_S + 60)) ./$BUILD/tests/gpu_test_batcher_gpu --bench $shape "$COUNT" "$SLOTS" \
    "$NEW" "$CAP_S" 2>>"$OUT/bench.err" | grep '^{' | tee -a "$OUT/bench.jsonl"
done
python3 bench/generate_gpu/summarize.py "$OUT/bench.jsonl" | tee -a "$OUT/summary.txt"
