#!/usr/bin/env bash
# The whole test suite from a fresh clone: dependencies, build, the Python peers in
# build/venv, then every CTest test (GPU tests report "skipped" without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
# The report test renders the page in headless Chromium (Debian's package).
if ! command -v chromium >/dev/null 2>&1; then
  echo "elm: installing chromium for the report test" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
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
