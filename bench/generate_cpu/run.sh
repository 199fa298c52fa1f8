#!/usr/bin/env bash
# bench/generate_cpu — `elm generate`'s tokens/s with and without the KV cache, GPT-2 124M
# shape, random weights, random prompts, both measured in the same run (not a test).
# usage: bench/generate_cpu/run.sh [BUILD_DIR] [extra options for bench_generate_cpu]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../../build}"
shift || true
shared="${ELM_SHARED:-$here/../../../shared}"
export OMP_WAIT_POLICY=passive
"$build/bench_generate_cpu" --vocab "$shared/data/gpt2-vocab" --threads "$(nproc)" "$@"
