#!/usr/bin/env python3
"""summarize.py — the table of bench/generate_gpu/run.sh: elm's generation rate and batch-1
latency next to HF generate's, measured in the same call, and their ratios.

usage: summarize.py bench.jsonl   (JSON lines from test_batcher_gpu --bench and hf_peer_bench.py)
"""
import json
import sys

SHAPES = {"gpt2": "124M", "gpt2-medium": "355M"}


def main(path):
    rows = [json.loads(line) for line in open(path) if line.startswith("{")]
    elm = {(SHAPES.get(r["shape"], r["shape"]), r["what"]): r for r in rows if r["peer"] == "elm"}
    hf = {(r["shape"], r["batch"]): r for r in rows if r["peer"] == "hf-generate"}
    print(f"{'model':6} {'elm texts':>9} {'elm s':>8} {'elm tok/s':>11} {'HF b512 tok/s':>14} "
          f"{'ratio':>7} {'elm ms/tok b1':>14} {'HF ms/tok b1':>13} {'ratio':>7}")
    for shape in ("124M", "355M"):
        e, lat = elm.get((shape, "sample")), elm.get((shape, "latency"))
        h512, h1 = hf.get((shape, 512)), hf.get((shape, 1))
        r512 = e["tok_per_s"] / h512["tok_per_s"] if e and h512 else float("nan")
        e_ms = lat["ms_per_token"] if lat else float("nan")
        h_ms = 1e3 / h1["tok_per_s"] if h1 else float("nan")
        print(f"{shape:6} {e['texts'] if e else '-':>9} {e['s'] if e else float('nan'):8.2f} "
              f"{e['tok_per_s'] if e else float('nan'):11.0f} "
              f"{h512['tok_per_s'] if h512 else float('nan'):14.0f} {r512:7.2f} "
              f"{e_ms:14.3f} {h_ms:13.3f} {h_ms / e_ms if lat and h1 else float('nan'):7.2f}")
    for shape in ("124M", "355M"):
        e = elm.get((shape, "sample"))
        if e and e.get("capped"):
            print(f"{shape}: elm stopped at its time cap after {e['done']} texts; 'elm s' is "
                  f"projected from its rate")
    e = elm.get(("355M", "sample"))
    if e:
        goal = "met" if e["s"] <= 10 else "NOT met"
        how = "projected" if e.get("capped") else "measured"
        print(f"goal: 100,000 x 64 tokens for 355M in <= 10 s: {e['s']:.2f} s {how} ({goal})")


if __name__ == "__main__":
    main(sys.argv[1])
