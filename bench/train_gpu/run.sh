#!/usr/bin/env bash
# run.sh — elm's GPU benchmark, on the device machine (H100/H200), from the repo root.
#   bash bench/train_gpu/run.sh check   build (sm_90a) + every GPU harness (ctest -L gpu) +
#                                       kernel timings (matmul vs cuBLAS, attention vs SDPA)
#   bash bench/train_gpu/run.sh e2e     `elm run configs/demo.ini` training on the GPU and on
#                                       the CPU (also part of check)
#   bash bench/train_gpu/run.sh curve   300 steps of 124M on the seed tweets, CPU vs GPU
#                                       validation loss at every eval (issue #6, acceptance 2)
#   bash bench/train_gpu/run.sh train   GPT-2 124M (B=32) and 355M (B=16), T=1024, bf16: elm
#                                       and ../shared/bench/hf_peer_bench.py in the SAME call
#   bash bench/train_gpu/run.sh all     both (may not fit one 10-minute call)
# Logs go to $OUT (the device tool brings them back); the last lines are the summary table.
# Needs the folders prepare.sh stages (carry = ["shared", ".debs"]).
set -uo pipefail
what=${1:-all}
ROOT=$(pwd)
OUT=${OUT:-/tmp/elm-gpu-bench}
mkdir -p "$OUT"
BUILD=build/gpu  # under the ignored build/, so it never travels with the tree

. bench/gpu_deps.sh # the staged build dependencies; nvidia-smi into $OUT/gpu.txt

build() {
  local t0=$(date +%s)
  cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release -DELM_CUDA=ON -DELM_SHARED="$ROOT/shared" \
    -DELM_CUDA_GENCODE="-gencode=arch=compute_90a,code=sm_90a" ${PREFIX:-} >"$OUT/cmake.log" 2>&1 \
    || { tail -30 "$OUT/cmake.log"; exit 1; }
  cmake --build $BUILD -j"$(nproc)" >"$OUT/build.log" 2>&1 || { grep -m20 -E 'error|Error' "$OUT/build.log"; exit 1; }
  echo "build: $(( $(date +%s) - t0 )) s (sm_90a only, $(nproc) cores)"
}

check() {
  ctest --test-dir $BUILD -L gpu --output-on-failure 2>&1 | tee "$OUT/ctest_gpu.log" | tail -15
  for k in matmul attention layernorm; do
    $BUILD/tests/gpu_test_$k --bench >"$OUT/bench_$k.log" 2>&1 || echo "bench $k FAILED (see $OUT/bench_$k.log)"
  done
  PYTHONUNBUFFERED=1 python3 bench/train_gpu/sdpa_bench.py >"$OUT/bench_sdpa.log" 2>&1 \
    || echo "sdpa bench FAILED"
}

# `elm run` on the demo config twice, training on the GPU (bf16) and on the CPU (fp32): the
# wiring of `elm train`'s GPU path end to end (device in the log, checkpoint, generate, report)
# and the two final losses side by side.
e2e() {
  local base=(--set run.out_dir="$OUT/e2e" --set run.threads="$(nproc)" --quiet)
  $BUILD/elm run configs/demo.ini "${base[@]}" --set run.name=demo-gpu --set train.device=cuda \
    --set train.precision=bf16 >"$OUT/e2e_gpu.log" 2>&1
  echo "e2e gpu: rc $? ($(tail -1 "$OUT/e2e_gpu.log"))"
  $BUILD/elm run configs/demo.ini "${base[@]}" --set run.name=demo-cpu --set train.device=cpu \
    >"$OUT/e2e_cpu.log" 2>&1
  echo "e2e cpu: rc $?"
  python3 - "$OUT/e2e" <<'PY'
import json, sys
def last(run):
    try:
        rows = [json.loads(l) for l in open(f"{sys.argv[1]}/{run}/train_log.jsonl")]
    except OSError as e:
        return None, None, str(e)
    dev = next((r.get("device") for r in rows if "start" in r), None)
    loss = [r["loss"] for r in rows if "loss" in r]
    return dev, (loss[-1] if loss else None), f"{len(loss)} steps"
g, c = last("demo-gpu"), last("demo-cpu")
print(f"e2e: gpu device {g[0]} final loss {g[1]} ({g[2]}); cpu device {c[0]} final loss {c[1]} ({c[2]})")
if g[1] is not None and c[1] is not None:
    print(f"e2e: |gpu - cpu| final loss = {abs(g[1] - c[1]):.4f}")
PY
}

# Acceptance 2 of issue #6: 300 steps of GPT-2 124M on the seed tweets, trained on the CPU
# (fp32) and on the GPU (bf16) from the same initialisation and data order; the validation
# loss at every eval (every 25 steps) compared, relative difference (goal <= 2%).
curve() {
  local base=(--set run.out_dir="$OUT/curve" --set run.threads="$(nproc)" --quiet
              --set model.preset=gpt2 --set train.steps=300 --set train.batch_size=8
              --set train.seq_len=128 --set train.warmup_steps=30 --set train.eval_every=25
              --set train.eval_batches=8 --set train.checkpoint_every=0 --set train.sample_every=0)
  # the config's ../../shared (beside the checkout) is ./shared on the device
  sed "s|\.\./\.\./shared|$ROOT/shared|" configs/seed-accounts.ini >"$OUT/seed-accounts.ini"
  for dev in cuda cpu; do
    local prec=fp32; [ $dev = cuda ] && prec=bf16
    local args=("${base[@]}" --set run.name=curve-$dev --set train.device=$dev --set train.precision=$prec)
    local t0=$(date +%s)
    for stage in ingest clean tokenize train; do
      $BUILD/elm $stage "$OUT/seed-accounts.ini" "${args[@]}" >>"$OUT/curve_$dev.log" 2>&1 \
        || { echo "curve $dev: $stage failed: $(tail -1 "$OUT/curve_$dev.log")"; break; }
    done
    echo "curve $dev: $(( $(date +%s) - t0 )) s"
  done
  python3 - "$OUT/curve" <<'PY'
import json, sys
def val(run):
    try:
        rows = [json.loads(l) for l in open(f"{sys.argv[1]}/{run}/train_log.jsonl")]
    except OSError as e:
        print(f"curve: {run}: {e}"); return {}
    return {r["step"]: r["val_loss"] for r in rows if "val_loss" in r}
g, c = val("curve-cuda"), val("curve-cpu")
steps = sorted(set(g) & set(c))
worst = max((abs(g[s] - c[s]) / c[s] for s in steps), default=float("nan"))
for s in steps:
    print(f"curve: step {s:4d}  val_loss cpu {c[s]:.4f}  gpu {g[s]:.4f}  rel {abs(g[s]-c[s])/c[s]:.4f}")
print(f"curve: {len(steps)} evals, worst relative difference {worst:.4f} (goal <= 0.02)")
PY
}

train() {
  : >"$OUT/train.log"
  for cfg in "gpt2 32" "gpt2-medium 16"; do
    set -- $cfg
    for mm in cublas elm; do
      $BUILD/tests/gpu_test_train_step --bench $1 $2 1024 20 $mm 2>&1 | tee -a "$OUT/train.log" | grep RESULT
    done
  done
  # The same two models through the user's path: `elm bench --only=train` on a config.
  for cfg in "gpt2 32" "gpt2-medium 16"; do
    set -- $cfg
    printf '[run]\nname = bench-%s\nout_dir = %s\n[model]\npreset = %s\n[train]\nbatch_size = %s\nseq_len = 1024\ndevice = cuda\nprecision = bf16\n' \
      "$1" "$OUT/elmbench" "$1" "$2" >"$OUT/elmbench_$1.ini"
    $BUILD/elm bench "$OUT/elmbench_$1.ini" --only=train --warmup=3 --repeat=20 \
      --json="$OUT/elmbench_$1.json" 2>&1 | tee -a "$OUT/train.log" | grep -E '^train|error'
  done
  PYTHONUNBUFFERED=1 timeout 400 python3 shared/bench/hf_peer_bench.py train 2>&1 \
    | grep '^{' | tee "$OUT/peer.log"
}

[ -x $BUILD/tests/gpu_test_train_step ] || build
case $what in
  check) check; e2e | tee "$OUT/e2e.txt" ;;
  e2e) e2e | tee "$OUT/e2e.txt" ;;
  curve) curve | tee "$OUT/curve.txt" ;;
  train) train ;;
  all) check; e2e | tee "$OUT/e2e.txt"; train ;;
  *) echo "usage: run.sh check|e2e|curve|train|all"; exit 2 ;;
esac
python3 bench/train_gpu/summarize.py "$OUT"
