#!/usr/bin/env bash
# The whole test suite from a fresh clone: dependencies, build, the formatting check, a second
# build without CUDA (build-nocuda), the Python peers in build/venv, then every CTest test (GPU
# tests report "skipped" without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
# The test-only tools: clang-format for the formatting check, Chromium for the report test,
# Slurm's daemons and client for tests/base/test_slurm.py (a private one-node cluster).
for tool in clang-format:clang-format chromium:chromium slurmctld:slurmctld slurmd:slurmd \
            srun:slurm-client; do
  if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
    echo "elm: installing ${tool#*:} for the tests" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${tool#*:}" >/dev/null
  fi
done
# Every tracked C/CUDA source is formatted as .clang-format says.
git ls-files -z '*.c' '*.h' '*.cu' '*.cuh' '*.cpp' | xargs -0 clang-format --dry-run -Werror
echo "elm: formatting checked"
# The CPU-only build (what a machine without nvcc builds) must build too.
cmake -S . -B build-nocuda -DCMAKE_BUILD_TYPE=Release ${ELM_CMAKE_ARGS:-} -DELM_CUDA=OFF >/dev/null
cmake --build build-nocuda -j "$(nproc)" --target elm
echo "elm: CPU-only build (-DELM_CUDA=OFF) built"
if [ ! -x build/venv/bin/python ]; then
  python3 -m venv build/venv
fi
stamp=build/venv/.requirements
if ! cmp -s tests/requirements.txt "$stamp"; then
  build/venv/bin/python -m pip install -q --upgrade pip >/dev/null
  build/venv/bin/python -m pip install -q -r tests/requirements.txt
  cp tests/requirements.txt "$stamp"
fi
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
