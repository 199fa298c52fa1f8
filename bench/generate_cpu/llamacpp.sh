#!/usr/bin/env bash
# bench/generate_cpu/llamacpp.sh — elm's CPU decoding beside llama.cpp's, same model, same run
# (not a test). GPT-2 124M, random weights (llamacpp_model.py, as an elm checkpoint), exported
# with `elm export`, converted by llama.cpp's convert_hf_to_gguf.py to f32, bf16 and q8_0 GGUF.
# In each round, for each batch size B, in turn: `elm bench --only=decode` with [generate]
# weights = fp32, bf16, int8, then `llama-batched-bench` on the f32, bf16, q8_0 files; B prompts
# of 16 tokens, 64 new tokens each, greedy on elm's side (llama.cpp's bench samples nothing),
# threads = nproc on both sides, llama.cpp's defaults otherwise (f16 KV cache, flash attention
# auto, n_batch 2048, n_ubatch 512, one KV stream per sequence) but LLAMA_ARGS below.
# Counted on both sides: generated tokens per second of the whole generation, prefill
# included: elm's tok_per_s (B * 64 / time of prefill + decode steps) and llama.cpp's
# pl * tg / t (t = T_PP + T_TG). llama.cpp's S_TG (decode steps only) and S_PP are printed too.
# Medians over the rounds; ratios per batch size and format; the last two lines are
#   min ratio elm-best/llama.cpp-best: X      min ratio elm-fp32/llama.cpp-f32: Y
# (the smallest over the batch sizes).
#
# usage: LLAMACPP_DIR=/path/to/llama.cpp bench/generate_cpu/llamacpp.sh [--quick] [BUILD_DIR]
#   LLAMACPP_DIR  a llama.cpp checkout (a git work tree, or llama-cpp-python's sdist
#                 vendor/llama.cpp); built CPU-only into LLAMACPP_BUILD (default
#                 $LLAMACPP_DIR/build-elm-bench: llama-batched-bench, llama-quantize) unless
#                 the binaries are there
#   --quick       1 round, batches 1 and 8 (a sanity run)
#   env: ROUNDS (3), BATCHES ("1 8 32 128"), THREADS (nproc), JOBS (2: build jobs),
#        KV_CACHE (fp32: elm's [generate] kv_cache), LLAMA_ARGS ("-nr": llama.cpp's defaults but
#        its CPU weight repacking, which segfaults on q8_0 in llama-cpp-python 0.3.36's
#        vendor/llama.cpp on this Intel Xeon and on an AMD EPYC; its threads poll as by default.
#        On bf16 with repacking on, llama.cpp measured the same 88 tok/s at batch 1 as with -nr),
#        ELM_WAIT (elm's own default: a short OpenMP spin; "passive" sets
#        OMP_WAIT_POLICY=passive for elm, the partner of LLAMA_ARGS="-nr --poll 0"),
#        PEER_VENV (BUILD_DIR/llamacpp-venv: the converter's venv, from
#        requirements-llamacpp.txt + the checkout's gguf-py), PEER_WORK (BUILD_DIR/llamacpp-work:
#        the model files, kept between runs)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
quick=0
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,/^set -e/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  exit 0
fi
if [ "${1:-}" = "--quick" ]; then quick=1; shift; fi
build="$(cd "${1:-$here/../../build}" && pwd)"
: "${LLAMACPP_DIR:?set LLAMACPP_DIR to a llama.cpp checkout (see --help)}"
src="$(cd "$LLAMACPP_DIR" && pwd)"
if [ "$quick" = 1 ]; then rounds="${ROUNDS:-1}" batches="${BATCHES:-1 8}"
else rounds="${ROUNDS:-3}" batches="${BATCHES:-1 8 32 128}"; fi
threads="${THREADS:-$(nproc)}" jobs="${JOBS:-2}" kv="${KV_CACHE:-fp32}" pp=16 tg=64
largs="${LLAMA_ARGS:--nr}"
venv="${PEER_VENV:-$build/llamacpp-venv}" work="${PEER_WORK:-$build/llamacpp-work}"
shared="${ELM_SHARED:-$here/../../../shared}"
elm="$build/elm"
[ -x "$elm" ] || { echo "llamacpp.sh: $elm not found (build elm first)" >&2; exit 1; }
[ "${ELM_WAIT:-}" = passive ] && export OMP_WAIT_POLICY=passive

# ---- which llama.cpp --------------------------------------------------------------------------
if git -C "$src" rev-parse HEAD >/dev/null 2>&1 && [ -e "$src/.git" ] &&
   [ "$(git -C "$src" rev-parse --show-toplevel)" = "$src" ]; then
  version="commit $(git -C "$src" rev-parse --short=9 HEAD)"
elif [ -f "$src/../../PKG-INFO" ]; then
  version="vendor/llama.cpp of $(sed -n 's/^Name: //p;s/^Version: //p' "$src/../../PKG-INFO" |
    paste -sd' ')"
else
  version="unversioned checkout"
fi
ggml="$(sed -n 's/^set(GGML_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\))/\2/p' \
  "$src/ggml/CMakeLists.txt" | paste -sd.)"
echo "llama.cpp: $src ($version, ggml $ggml)"

# ---- build it (CPU only) ----------------------------------------------------------------------
lb="${LLAMACPP_BUILD:-$src/build-elm-bench}"
if [ ! -x "$lb/bin/llama-batched-bench" ] || [ ! -x "$lb/bin/llama-quantize" ]; then
  echo "building llama.cpp into $lb (-j$jobs; this takes a while)"
  cmake -S "$src" -B "$lb" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=OFF -DGGML_CUDA=OFF >"$lb.cmake.log" 2>&1 ||
    { tail -20 "$lb.cmake.log" >&2; exit 1; }
  cmake --build "$lb" -j"$jobs" --target llama-batched-bench llama-quantize >"$lb.build.log" \
    2>&1 || { tail -20 "$lb.build.log" >&2; exit 1; }
fi

# ---- the converter's venv ---------------------------------------------------------------------
req="$here/requirements-llamacpp.txt"
if ! cmp -s "$req" "$venv/.requirements" 2>/dev/null; then
  echo "making the converter's venv $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$req" && "$venv/bin/pip" install -q "$src/gguf-py"
  cp "$req" "$venv/.requirements"
fi

# ---- the model: elm checkpoint -> elm export -> GGUF f32, bf16, q8_0 --------------------------
mkdir -p "$work"
if [ ! -f "$work/hf/model.safetensors" ]; then
  "$venv/bin/python" "$here/llamacpp_model.py" "$work/ckpt"
  "$elm" export "$work/ckpt" "$work/hf" --vocab "$shared/data/gpt2-vocab"
fi
for f in f32 bf16 q8_0; do
  [ -f "$work/gpt2-124m-$f.gguf" ] && continue
  "$venv/bin/python" "$src/convert_hf_to_gguf.py" "$work/hf" --outtype "$f" \
    --outfile "$work/gpt2-124m-$f.gguf" >"$work/convert-$f.log" 2>&1 ||
    { tail -20 "$work/convert-$f.log" >&2; exit 1; }
done
cat >"$work/bench.ini" <<EOF
[run]
name = llamacpp
out_dir = $work/out
threads = $threads
[model]
init = $work/hf
[generate]
max_new_tokens = $tg
EOF

# ---- the rounds -------------------------------------------------------------------------------
res="$work/results" && rm -rf "$res" && mkdir -p "$res"
echo "$rounds round(s), batches $batches, $pp-token prompts, $tg new tokens, $threads threads;" \
  "elm kv_cache $kv, waiting ${ELM_WAIT:-default}; llama.cpp args '$largs'; load before: $(uptime | sed 's/.*load average/load average/')"
for r in $(seq 1 "$rounds"); do
  for b in $batches; do
    for w in fp32 bf16 int8; do
      "$elm" bench "$work/bench.ini" --only=decode --repeat=1 --warmup=1 --quiet \
        --set generate.batch_size="$b" --set generate.weights="$w" \
        --set generate.kv_cache="$kv" --json="$res/r$r-b$b-elm-$w.json" >/dev/null
    done
    for f in f32 bf16 q8_0; do
      "$lb/bin/llama-batched-bench" -m "$work/gpt2-124m-$f.gguf" -c $((b * 128)) -npp $pp \
        -ntg $tg -npl "$b" -t "$threads" -tb "$threads" $largs --output-format jsonl \
        >"$res/r$r-b$b-llama-$f.jsonl" 2>"$res/r$r-b$b-llama-$f.log" ||
        { tail -20 "$res/r$r-b$b-llama-$f.log" >&2; exit 1; }
    done
  done
  echo "round $r done; load: $(uptime | sed 's/.*load average/load average/')"
  python3 "$here/llamacpp_table.py" "$res" "$r" "$batches" >"$res/table-after-round-$r.txt"
done
python3 "$here/llamacpp_table.py" "$res" "$rounds" "$batches"
