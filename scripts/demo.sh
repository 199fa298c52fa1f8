#!/usr/bin/env bash
# Builds elm and runs the whole study on the demo config that ships with it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
./build/elm run configs/demo.ini "$@"
