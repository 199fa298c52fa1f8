#!/usr/bin/env bash
# bench/generate_cpu/formats.sh — `elm bench --only=decode` for each [generate] weights format
# (fp32, bf16, int8) at batch 1, 8, 32 on GPT-2 124M (random weights, 16-token prompts, NEW
# greedy tokens), the formats interleaved round by round so they share the machine's load; prints
# the median tok/s of each and its ratio to fp32 measured in the same run (not a test).
# Then, unless FORMATS_INPROC=0, the same comparison in one process (bench_formats, which also
# times the int8 variant not shipped, int8-deq: int8 weights widened to fp32).
# usage: bench/generate_cpu/formats.sh [BUILD_DIR]   env: ROUNDS (3), BATCHES ("1 8 32"),
#        NEW (64), THREADS (nproc), PRESET (gpt2)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../../build}"
rounds="${ROUNDS:-3}" batches="${BATCHES:-1 8 32}" new="${NEW:-64}"
threads="${THREADS:-$(nproc)}" preset="${PRESET:-gpt2}"
export OMP_WAIT_POLICY=passive
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat >"$work/bench.ini" <<EOF
[run]
name = formats
out_dir = $work/out
threads = $threads
[model]
preset = $preset
init = scratch
[generate]
max_new_tokens = $new
EOF
for r in $(seq 1 "$rounds"); do
  for b in $batches; do
    for w in fp32 bf16 int8; do
      "$build/elm" bench "$work/bench.ini" --only=decode --repeat=1 --warmup=1 --quiet \
        --set generate.batch_size="$b" --set generate.weights="$w" \
        --json="$work/r$r-b$b-$w.json" >/dev/null
    done
  done
done
python3 - "$work" "$rounds" "$batches" <<'EOF'
import json, statistics, sys
work, rounds, batches = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
def rate(r, b, w):
    d = json.load(open(f"{work}/r{r}-b{b}-{w}.json"))
    d = d.get("decode", d)
    return d["tok_per_s"], d.get("kernel", w)
print(f"elm bench --only=decode, median of {rounds} interleaved rounds (tok/s, prompt included)")
print(f"{'batch':>5} {'fp32':>9} {'bf16':>9} {'int8':>9} {'bf16/fp32':>10} {'int8/fp32':>10}  kernels")
for b in batches:
    med, kern = {}, {}
    for w in ("fp32", "bf16", "int8"):
        vals = [rate(r, b, w) for r in range(1, rounds + 1)]
        med[w] = statistics.median(v[0] for v in vals)
        kern[w] = vals[0][1]
    print(f"{b:>5} {med['fp32']:9.1f} {med['bf16']:9.1f} {med['int8']:9.1f} "
          f"{med['bf16'] / med['fp32']:10.2f} {med['int8'] / med['fp32']:10.2f}  "
          f"{kern['bf16']}, {kern['int8']}")
EOF
if [ "${FORMATS_INPROC:-1}" != 0 ]; then
  "$build/bench_formats" --preset "$preset" --B "$(echo $batches | tr ' ' ,)" --new "$new" \
    --rounds "$rounds" --threads "$threads"
fi
