#!/usr/bin/env bash
# bench/generate_cpu/quality.sh — the quality cost of [generate] weights = bf16 / int8: validation
# perplexity through the KV cache and greedy agreement with fp32 (bench_quality), for a trained
# model. Without MODEL it trains the demo model first (configs/demo.ini: ingest, clean, tokenize,
# train; a few minutes on 2 cores) into a temporary folder. Prints one JSON line per format
# (ppl_change_pct is against fp32 in the same run) and the two deltas last. Not a test.
# usage: bench/generate_cpu/quality.sh [BUILD_DIR]   env: MODEL (HF/elm checkpoint folder),
#        TOKENS (its validation shard, val.bin), THREADS (nproc), T (64), PROMPTS (32), NEW (32)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
build="$(cd "${1:-$root/build}" && pwd)"
threads="${THREADS:-$(nproc)}"
export OMP_WAIT_POLICY=passive
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
model="${MODEL:-}" tokens="${TOKENS:-}"
if [ -z "$model" ]; then
  (cd "$root/configs" && for c in ingest clean tokenize train; do
     "$build/elm" "$c" demo.ini --set run.out_dir="$work" --set run.threads="$threads" --quiet
   done)
  model="$(ls -d "$work"/demo/checkpoints/step_* | sort -t_ -k2 -n | tail -1)"
  tokens="$work/demo/tokens/val.bin"
fi
"$build/bench_quality" --model "$model" --tokens "$tokens" --T "${T:-64}" --windows 100000 \
  --prompts "${PROMPTS:-32}" --new "${NEW:-32}" --threads "$threads" | tee "$work/q.jsonl"
python3 - "$work/q.jsonl" <<'EOF'
import json, sys
rows = {r["weights"]: r for r in map(json.loads, open(sys.argv[1]))}
for w in ("bf16", "int8"):
    r = rows[w]
    print(f"{w}: val perplexity {r['val_ppl']:.4f} vs fp32 {rows['fp32']['val_ppl']:.4f}: "
          f"{r['ppl_change_pct']:+.3f}%, greedy tokens = fp32 {100 * r['greedy_token_agree']:.1f}%")
EOF
