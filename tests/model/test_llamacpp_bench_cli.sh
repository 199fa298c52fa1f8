#!/usr/bin/env bash
# bench/generate_cpu/llamacpp.sh without llama.cpp (CI has none): its shell syntax, --help, the
# one-line refusal without LLAMACPP_DIR, and its table (llamacpp_table.py) on seeded made-up
# results, against medians and ratios computed here with awk.
set -u
pass=0; fail=0
ok() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $*" >&2; fi; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
sh="$root/bench/generate_cpu/llamacpp.sh"
ok bash -n "$sh"
help=$("$sh" --help); ok test $? -eq 0
ok grep -q "usage: LLAMACPP_DIR=" <<<"$help"
ok grep -q "min ratio elm-best/llama.cpp-best: X" <<<"$help"
d=$(mktemp -d)
mkdir -p "$d/build" && printf '#!/bin/sh\n' >"$d/build/elm" && chmod +x "$d/build/elm"
msg=$(env -u LLAMACPP_DIR "$sh" "$d/build" 2>&1); rc=$?
ok test $rc -ne 0
ok test "$(wc -l <<<"$msg")" -eq 1
ok grep -q "LLAMACPP_DIR" <<<"$msg"
# made-up results: 3 rounds, batches 1 and 8; tok/s from a seeded LCG
res="$d/res" && mkdir -p "$res"
seed=12345
rnd() { seed=$(( (seed * 1103515245 + 12345) % 2147483648 )); echo $(( seed % 900 + 100 )); }
: >"$d/values"
for r in 1 2 3; do for b in 1 8; do
  for w in fp32 bf16 int8; do v=$(rnd)
    printf '{"decode": {"tok_per_s": %s}}\n' "$v" >"$res/r$r-b$b-elm-$w.json"
    echo "$b elm-$w $v" >>"$d/values"; done
  for f in f32 bf16 q8_0; do t=$(rnd)
    printf 'log line\n{"pp": 16, "tg": 64, "pl": %s, "t": %s.0, "speed_tg": 1.0, "speed_pp": 2.0}\n' \
      "$b" "$t" >"$res/r$r-b$b-llama-$f.jsonl"
    : >"$res/r$r-b$b-llama-$f.log"
    echo "$b llama-$f $(awk -v b="$b" -v t="$t" 'BEGIN{printf "%.10f", b*64/t}')" >>"$d/values"; done
done; done
out=$(python3 "$root/bench/generate_cpu/llamacpp_table.py" "$res" 3 "1 8"); ok test $? -eq 0
# expected: per batch the median of 3 of each column; ratios fp32/f32 and best/best; minima
exp=$(sort -k1,1n -k2,2 -k3,3g "$d/values" | awk '
  { k=$1" "$2; v[k, ++n[k]]=$3 }
  END { for (k in n) m[k]=v[k,2]
        split("1 8", bs, " "); mf=1e9; mb=1e9
        for (i=1;i<=2;i++) { b=bs[i]; eb=0; lb=0
          split("fp32 bf16 int8", E, " "); split("f32 bf16 q8_0", L, " ")
          for (j=1;j<=3;j++) { if (m[b" elm-"E[j]]>eb) eb=m[b" elm-"E[j]]; if (m[b" llama-"L[j]]>lb) lb=m[b" llama-"L[j]] }
          f=m[b" elm-fp32"]/m[b" llama-f32"]; if (f<mf) mf=f; if (eb/lb<mb) mb=eb/lb }
        printf "min ratio elm-best/llama.cpp-best: %.2f\nmin ratio elm-fp32/llama.cpp-f32: %.2f\n", mb, mf }')
ok test "$(tail -2 <<<"$out")" = "$exp"
ok grep -q "^| 8 | " <<<"$out"
rm -rf "$d"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
