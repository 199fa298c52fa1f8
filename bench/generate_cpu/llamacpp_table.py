"""The table of bench/generate_cpu/llamacpp.sh: medians over the rounds of elm's and llama.cpp's
generated tokens/s (prefill included on both sides), ratios per batch size and format, and the
two closing lines. usage: python3 llamacpp_table.py RESULTS_DIR ROUNDS "B1 B2 ..." """
import json
import os
import statistics
import sys

res, rounds, batches = sys.argv[1], int(sys.argv[2]), [int(b) for b in sys.argv[3].split()]
ELM, LLAMA = ["fp32", "bf16", "int8"], ["f32", "bf16", "q8_0"]


def llama_line(r, b, f):
    """llama-batched-bench's JSONL line of round r (from its stdout or its log)."""
    for ext in ("jsonl", "log"):
        for line in open(os.path.join(res, f"r{r}-b{b}-llama-{f}.{ext}")):
            line = line[line.find("{"):] if '"speed_tg"' in line else ""
            if line:
                return json.loads(line)
    raise SystemExit(f"llamacpp_table: no JSONL line in r{r}-b{b}-llama-{f}")


def med(xs):
    return statistics.median(xs)


rows, best_r, fp32_r = [], [], []
print(f"\ngenerated tok/s, prefill included (B*64 / time of prefill + 64 steps), median of {rounds}")
print("| batch | elm fp32 | elm bf16 | elm int8 | llama.cpp f32 | llama.cpp bf16 | llama.cpp q8_0 "
      "| elm fp32/l f32 | elm bf16/l bf16 | elm int8/l q8_0 | elm best/l best |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
extra = []
for b in batches:
    e = {w: med([json.load(open(os.path.join(res, f"r{r}-b{b}-elm-{w}.json")))["decode"]["tok_per_s"]
                 for r in range(1, rounds + 1)]) for w in ELM}
    ls = {f: [llama_line(r, b, f) for r in range(1, rounds + 1)] for f in LLAMA}
    l = {f: med([d["pl"] * d["tg"] / d["t"] for d in ls[f]]) for f in LLAMA}
    stg = {f: med([d["speed_tg"] for d in ls[f]]) for f in LLAMA}
    spp = {f: med([d["speed_pp"] for d in ls[f]]) for f in LLAMA}
    eb, lb = max(e, key=e.get), max(l, key=l.get)
    fr, br = e["fp32"] / l["f32"], e[eb] / l[lb]
    fp32_r.append(fr), best_r.append(br)
    print(f"| {b} | {e['fp32']:.1f} | {e['bf16']:.1f} | {e['int8']:.1f} | {l['f32']:.1f} | "
          f"{l['bf16']:.1f} | {l['q8_0']:.1f} | {fr:.2f} | {e['bf16'] / l['bf16']:.2f} | "
          f"{e['int8'] / l['q8_0']:.2f} | {br:.2f} ({eb}/{lb}) |")
    extra.append(f"| {b} | " + " | ".join(f"{stg[f]:.1f}" for f in LLAMA) + " | "
                 + " | ".join(f"{spp[f]:.1f}" for f in LLAMA) + " |")
print("\nllama.cpp alone, medians: S_TG (B*64 / T_TG, decode steps only) and S_PP (B*16 / T_PP)")
print("| batch | S_TG f32 | S_TG bf16 | S_TG q8_0 | S_PP f32 | S_PP bf16 | S_PP q8_0 |")
print("|---|---|---|---|---|---|---|")
print("\n".join(extra))
print(f"min ratio elm-best/llama.cpp-best: {min(best_r):.2f}")
print(f"min ratio elm-fp32/llama.cpp-f32: {min(fp32_r):.2f}")
