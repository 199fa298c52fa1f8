#!/usr/bin/env bash
# bench/train_cpu/bf16_curve.sh — `[train] precision = bf16` against fp32 on the CPU (not a test):
# GPT-2 124M (preset gpt2, GPT-2's vocabulary, random init from the run seed) trained STEPS
# steps of B = 4 x T = 64 on the demo corpus' tokens, once in each precision, the same data
# and seed. Prints the validation loss of both at every evaluation (every 20 steps) with the
# relative difference, the worst of them, the worst per-step training-loss difference, and the
# median step time of each (after step 5) with their ratio (bf16 / fp32).
#
#   bash bench/train_cpu/bf16_curve.sh [BUILD_DIR] [STEPS]
#   env: THREADS (nproc), VOCAB (GPT-2's encoder.json + vocab.bpe: ELM_SHARED/data/gpt2-vocab,
#        default ../shared beside the checkout)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build} steps=${2:-200}
elm=$build/elm threads=${THREADS:-$(nproc)}
vocab=${VOCAB:-${ELM_SHARED:-../shared}/data/gpt2-vocab}
[ -x "$elm" ] || { echo "bf16_curve.sh: $elm not found (build elm first)" >&2; exit 1; }
[ -f "$vocab/encoder.json" ] || { echo "bf16_curve.sh: no GPT-2 vocabulary in $vocab (set VOCAB)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs, $threads threads, $steps steps"
tok=(--set tokenizer.train=false --set tokenizer.vocab="$(cd "$vocab" && pwd)")
for s in ingest clean topicfit tokenize; do
  "$elm" "$s" configs/demo.ini --quiet --set run.out_dir="$tmp/data" "${tok[@]}"
done
for p in bf16 fp32; do
  "$elm" train configs/demo.ini --quiet "${tok[@]}" --set train.data="$tmp/data/demo/tokens" \
    --set model.preset=gpt2 --set train.batch_size=4 --set train.seq_len=64 \
    --set train.steps="$steps" --set train.eval_every=20 --set train.eval_batches=8 \
    --set train.lr=3e-4 --set train.min_lr=3e-5 --set train.warmup_steps=20 \
    --set train.checkpoint_every=100000 --set train.sample_every=0 --set train.precision=$p \
    --set train.device=cpu --set run.threads="$threads" --set run.out_dir="$tmp/out-$p"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp" <<'PY'
import json, statistics, sys
tmp = sys.argv[1]
def rows(p):
    return [json.loads(l) for l in open(f"{tmp}/out-{p}/demo/train_log.jsonl")]
b, f = rows("bf16"), rows("fp32")
val = lambda rs: {r["step"]: r["val_loss"] for r in rs if "val_loss" in r}
loss = lambda rs: {r["step"]: r["loss"] for r in rs if "loss" in r}
vb, vf, tb, tf = val(b), val(f), loss(b), loss(f)
print("| step | val loss fp32 | val loss bf16 | relative difference |\n|---|---|---|---|")
for s in sorted(vf):
    print(f"| {s} | {vf[s]:.5f} | {vb[s]:.5f} | {abs(vb[s] - vf[s]) / abs(vf[s]):.2e} |")
worst = max(abs(vb[s] - vf[s]) / abs(vf[s]) for s in vf)
wt = max(abs(tb[s] - tf[s]) / abs(tf[s]) for s in tf)
ms = lambda rs: statistics.median(r["ms"] for r in rs if "ms" in r and r["step"] > 5)
print(f"worst validation-loss relative difference over {len(vf)} evaluations: {worst:.2e}")
print(f"worst training-loss relative difference over {len(tf)} steps (single batches): {wt:.2e}")
print(f"median step: fp32 {ms(f):.1f} ms, bf16 {ms(b):.1f} ms; bf16 / fp32 {ms(b) / ms(f):.3f}")
PY
