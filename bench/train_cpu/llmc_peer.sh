#!/usr/bin/env bash
# bench/train_cpu/llmc_peer.sh — the peer: llm.c's CPU trainer (train_gpt2.c) on the same shape
# (GPT-2 124M, B=4, T=64, fp32, all threads), built from a checkout given as LLMC_DIR with
# random weights and random tokens written here. Its validation and sampling passes are turned
# off (sed) so only training steps run. Prints one JSON line like bench_train_cpu's.
# usage: LLMC_DIR=/path/to/llm.c bench/train_cpu/llmc_peer.sh [STEPS]
set -euo pipefail
STEPS=${1:-10}
: "${LLMC_DIR:?set LLMC_DIR to a checkout of github.com/karpathy/llm.c}"
PY=${PYTHON:-python3}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
if [ -d "$LLMC_DIR/.git" ] || [ -f "$LLMC_DIR/train_gpt2.c" ]; then
  cp "$LLMC_DIR/train_gpt2.c" "$W/" && cp -r "$LLMC_DIR/llmc" "$W/"
else # a bare mirror: read the files from HEAD
  git --git-dir="$LLMC_DIR" show HEAD:train_gpt2.c > "$W/train_gpt2.c"
  mkdir -p "$W/llmc"
  for f in utils.h tokenizer.h dataloader.h rand.h; do
    git --git-dir="$LLMC_DIR" show "HEAD:llmc/$f" > "$W/llmc/$f"
  done
fi
sed -i -e "s/step <= 40/step <= $STEPS/" -e 's/if (step % 10 == 0) {/if (0) {/' \
       -e 's/if (step > 0 \&\& step % 20 == 0) {/if (0) {/' "$W/train_gpt2.c"
( cd "$W" && gcc -Ofast -march=native -fopenmp -DOMP -Wno-unused-result train_gpt2.c -lm \
    -o train_gpt2 )
"$PY" - "$W" <<'PY'
import os, sys
import numpy as np
w = sys.argv[1]
L, NH, C, V, Vp, T = 12, 12, 768, 50257, 50304, 1024
rng = np.random.default_rng(0)
sizes = [Vp * C, T * C, L * C, L * C, L * 3 * C * C, L * 3 * C, L * C * C, L * C, L * C, L * C,
         L * 4 * C * C, L * 4 * C, L * C * 4 * C, L * C, C, C]
header = np.zeros(256, np.int32)
header[:8] = [20240326, 3, T, V, L, NH, C, Vp]
with open(os.path.join(w, "gpt2_124M.bin"), "wb") as f:
    f.write(header.tobytes())
    for n in sizes:
        f.write((rng.standard_normal(n, dtype=np.float32) * 0.02).tobytes())
os.makedirs(os.path.join(w, "dev/data/tinyshakespeare"))
for split in ("train", "val"):
    tok = rng.integers(0, V, 65536).astype(np.uint16)
    h = np.zeros(256, np.int32)
    h[:3] = [20240520, 1, len(tok)]
    with open(os.path.join(w, f"dev/data/tinyshakespeare/tiny_shakespeare_{split}.bin"), "wb") as f:
        f.write(h.tobytes() + tok.tobytes())
PY
( cd "$W" && /usr/bin/time -f "%M %U %S" -o rss.txt ./train_gpt2 > log.txt 2>&1 ) || { cat "$W/log.txt" >&2; exit 1; }
"$PY" - "$W" <<'PY'
import json, re, statistics, sys
w = sys.argv[1]
ms = [float(m.group(1)) for m in re.finditer(r"step \d+: train loss \S+ \(took ([\d.]+) ms\)",
                                            open(f"{w}/log.txt").read())]
kib, user, sys_ = open(f"{w}/rss.txt").read().split()[-3:]
rss = int(kib) // 1024
# CPU time of the whole process over its steps (start-up included, so a slight overestimate)
cpu = (float(user) + float(sys_)) * 1000 / len(ms)
print(json.dumps({"mode": "train", "preset": "gpt2", "matmul": "llm.c", "B": 4, "T": 64,
                  "steps": len(ms), "median_ms": round(statistics.median(ms), 1),
                  "min_ms": round(min(ms), 1), "median_cpu_ms": round(cpu, 1), "peak_rss_mib": rss}))
PY
