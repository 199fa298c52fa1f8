#!/usr/bin/env bash
# The whole test suite from a fresh clone: dependencies, build, the Python peers in
# build/venv, then every CTest test (GPU tests report "skipped" without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
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
