#!/usr/bin/env bash
# prepare.sh — run HERE (the development machine, repo root) before the GPU call: the device
# machine has no network and gets only the repository, so this stages, in git-ignored folders
# to `carry`:
#   shared/  ../shared's bench/ (hf_peer_bench.py), fixtures/gpt2-tiny and data/gpt2-vocab
#   .debs/   Debian packages of elm's C build dependencies, unpacked on the device under
#            /tmp/elmdeps by run.sh (never into /)
# Then: device run, carry = ["shared", ".debs"], command = "bash bench/generate_gpu/run.sh".
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
EXCLUDE="$(git rev-parse --git-common-dir)/info/exclude"
mkdir -p "$(dirname "$EXCLUDE")"
for d in /shared/ /.debs/; do
  grep -qxF "$d" "$EXCLUDE" 2>/dev/null || echo "$d" >>"$EXCLUDE"
done
mkdir -p shared/fixtures shared/data .debs
cp -r ../shared/bench shared/
cp -r ../shared/fixtures/gpt2-tiny shared/fixtures/
cp -r ../shared/data/gpt2-vocab shared/data/
PKGS=(libinih-dev libinih1 libinireader0 libcjson-dev libcjson1 libcsv-dev libcsv3 libpcre2-dev
      libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3 zlib1g-dev pkgconf pkgconf-bin
      libpkgconf3)
(cd .debs && apt-get download "${PKGS[@]}")
du -sh shared .debs
