#!/usr/bin/env bash
# Runs the GPU sampler kernel and the decode kernels on the CPU through cuda_emu.h:
# sampling_emu.cpp (against engine/generate/sample.h) and decode_emu.cpp (against double references).
# Needs g++ (C++17) and the built libelmcore.a.
set -euo pipefail
SRC=${ELM_SOURCE:?run through ctest}
BUILD=${ELM_BUILD:?run through ctest}
if ! command -v g++ >/dev/null; then
  echo "test_sampling_emu: skipped: no g++"
  exit 77
fi
g++ -std=c++17 -O2 -pthread -Wall -Wextra -Werror -Wno-unknown-pragmas -I"$SRC" -I"$SRC/tests" \
  "$SRC/tests/kernels/sampling_emu.cpp" "$BUILD/libelmcore.a" -lm -o "$BUILD/sampling_emu"
"$BUILD/sampling_emu"
g++ -std=c++17 -O2 -pthread -Wall -Wextra -Werror -Wno-unknown-pragmas -I"$SRC" -I"$SRC/tests" \
  "$SRC/tests/kernels/decode_emu.cpp" -lm -o "$BUILD/decode_emu"
"$BUILD/decode_emu"
