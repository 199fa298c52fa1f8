#!/usr/bin/env bash
# Checks elm's build dependencies (Debian packages) and installs the missing ones when run as
# root (or with sudo). Sourced by scripts/demo.sh and scripts/test.sh.
set -euo pipefail
ELM_DEB_PACKAGES=(build-essential cmake pkg-config libinih-dev libcsv-dev libcjson-dev
                  libpcre2-dev zlib1g-dev libcurl4-openssl-dev libomp-dev libopenblas-dev python3 python3-venv)
missing=()
for p in "${ELM_DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3/venv may come from elsewhere (pyenv): accept a working `python3 -m venv`.
if printf '%s\n' "${missing[@]:-}" | grep -qx 'python3\|python3-venv'; then
  if python3 -c 'import venv, ensurepip' 2>/dev/null; then
    missing=($(printf '%s\n' "${missing[@]}" | grep -vx 'python3\|python3-venv' || true))
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "elm: installing missing Debian packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
