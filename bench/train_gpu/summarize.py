"""Reads the logs of bench/train_gpu/run.sh (a folder) and prints the ratio table: elm's GPU
training vs PyTorch + HF (same call), elm's matmul vs cuBLASLt, elm's attention vs SDPA."""
import glob
import json
import os
import re
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/elm-gpu-bench"


def lines(name):
    p = os.path.join(out, name)
    return open(p).read().splitlines() if os.path.exists(p) else []


print("\n==== elm GPU benchmark summary ====")
gpu = lines("gpu.txt")
if len(gpu) > 1:
    print("GPU:", gpu[1])

# Training: elm RESULT lines vs the peer's JSON lines.
shape_of = {"gpt2": "124M", "gpt2-medium": "355M"}
peer = {}
for l in lines("peer.log"):
    try:
        j = json.loads(l)
    except ValueError:
        continue
    if j.get("what") == "train":
        peer[j["shape"]] = j
rows = []
for l in lines("train.log"):
    if not l.startswith("RESULT "):
        continue
    r = json.loads(l[len("RESULT "):])
    p = peer.get(shape_of.get(r["preset"], "?"))
    ratio = r["tok_per_s"] / p["tok_per_s"] if p else float("nan")
    rows.append((shape_of.get(r["preset"], r["preset"]), r["B"], r["matmul"], r["tok_per_s"],
                 r["ms_per_step"], r["mfu_h100"], r["peak_mem_GiB"],
                 p["tok_per_s"] if p else float("nan"), ratio))
if rows:
    print("\ntraining, T=1024, bf16 (same call)")
    print(f"{'shape':6} {'B':>3} {'matmul':7} {'elm tok/s':>10} {'ms/step':>8} {'MFU':>6} "
          f"{'mem GiB':>8} {'torch tok/s':>12} {'elm/torch':>9}")
    for s in rows:
        print(f"{s[0]:6} {s[1]:3d} {s[2]:7} {s[3]:10.0f} {s[4]:8.1f} {s[5]:6.1%} {s[6]:8.1f} "
              f"{s[7]:12.0f} {s[8]:9.2f}")
for shape, p in sorted(peer.items()):
    print(f"peer {shape}: {p['tok_per_s']} tok/s, {p['ms_per_step']:.1f} ms/step, "
          f"{p['max_mem_GiB']:.1f} GiB (torch.compile={p['compile']})")

# Matmul: the harness already prints ours/cuBLAS speed per product.
mm = [l.strip() for l in lines("bench_matmul.log") if "TIMING" in l]
if mm:
    print("\nmatmul: elm v2 (mma.sync) and v3 (wgmma+TMA) vs cuBLASLt (ratio > 1: elm faster)")
    for l in mm:
        m = re.search(r"TIMING (\S+).*v2\s+([\d.]+) ms\s+([\d.]+) TFLOP/s.*v3\s+([\d.]+) ms\s+"
                      r"([\d.]+) TFLOP/s.*cuBLASLt\s+([\d.]+) ms\s+([\d.]+) TFLOP/s.*speed ([\d.]+)", l)
        if m:
            print(f"  {m.group(1):10} v2 {m.group(3):>6} TFLOP/s  v3 {m.group(5):>6} TFLOP/s  "
                  f"cuBLASLt {m.group(7):>6} TFLOP/s  best/cuBLASLt {m.group(8)}")

# Attention: ours (TIMING lines) vs SDPA JSON at the same shapes.
sdpa = {}
for l in lines("bench_sdpa.log"):
    try:
        j = json.loads(l)
        sdpa[(j["B"], j["T"], j["NH"])] = j
    except ValueError:
        pass
att = [l for l in lines("bench_attention.log") if "TIMING attention v" in l]
if att:
    print("\nattention (causal, bf16): elm vs PyTorch SDPA flash (ratio > 1: elm faster)")
for l in att:
    m = re.search(r"v(\d) B=(\d+) T=(\d+) C=(\d+) NH=(\d+) forward ([\d.]+) ms.*backward ([\d.]+) ms",
                  l)
    if not m:
        continue
    v, B, T, C, NH, f, b = m.groups()
    s = sdpa.get((int(B), int(T), int(NH)))
    if s:
        print(f"  v{v} B={B} NH={NH}: forward elm {float(f):.3f} ms sdpa {s['forward_ms']:.3f} ms "
              f"ratio {s['forward_ms'] / float(f):.2f}; backward elm {float(b):.3f} ms sdpa "
              f"{s['backward_ms']:.3f} ms ratio {s['backward_ms'] / float(b):.2f}")
    else:
        print("  " + l.strip())

ct = lines("ctest_gpu.log")
if ct:
    summary = [l.strip() for l in ct if "tests passed" in l]
    skipped = sum(1 for l in ct if "***Skipped" in l)
    failed = [l.strip() for l in ct if "***Failed" in l or "(Failed)" in l]
    print(f"\nctest -L gpu: {summary[-1] if summary else '?'}; {skipped} skipped")
    for l in failed:
        print("  " + l)
