#!/usr/bin/env bash
# Runs the GPU sampler's kernel source on the CPU (tests/sampling/sampling_emu.cpp over
# cuda_emu.h) against engine/sample.h. Needs g++ (C++17) and the built libelmcore.a.
set -euo pipefail
SRC=${ELM_SOURCE:?run through ctest}
BUILD=${ELM_BUILD:?run through ctest}
if ! command -v g++ >/dev/null; then
  echo "test_sampling_emu: skipped: no g++"
  exit 77
fi
g++ -std=c++17 -O2 -pthread -Wall -Wextra -Werror -Wno-unknown-pragmas -I"$SRC" -I"$SRC/tests" \
  "$SRC/tests/sampling/sampling_emu.cpp" "$BUILD/libelmcore.a" -lm -o "$BUILD/sampling_emu"
"$BUILD/sampling_emu"
