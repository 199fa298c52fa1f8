#!/usr/bin/env bash
# Configures and builds elm into ./build (CUDA is used when nvcc is on PATH or in /usr/local/cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${ELM_CMAKE_ARGS:-} >/dev/null
cmake --build build -j "$(nproc)"
