#!/usr/bin/env bash
# prepare.sh — run HERE (the development machine, repo root) before a GPU session's calls: the
# device machine reaches no network, so this stages what bench/train_gpu/run.sh needs there in
# git-ignored folders to `carry`:
#   shared/  ../shared's bench/, fixtures/gpt2-tiny and data/{seed-tweets,gpt2-vocab} (the peer
#            bench, the model fixture, and the seed tweets and vocabulary for run.sh curve)
#   .debs/   Debian packages of elm's C build dependencies (headers + libraries + pkgconf),
#            unpacked under /tmp/elmdeps on the device (never into /)
# Then call the device tool with carry = ["shared", ".debs"] (see docs/cuda.md).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
EXCLUDE="$(git rev-parse --git-common-dir)/info/exclude"
for d in /shared/ /.debs/; do
  grep -qxF "$d" "$EXCLUDE" 2>/dev/null || echo "$d" >>"$EXCLUDE"
done
mkdir -p shared/fixtures shared/data .debs
cp -r ../shared/bench shared/
cp -r ../shared/fixtures/gpt2-tiny shared/fixtures/
cp -r ../shared/data/seed-tweets ../shared/data/gpt2-vocab shared/data/ # run.sh curve
PKGS=(libinih-dev libinih1 libinireader0 libcjson-dev libcjson1 libcsv-dev libcsv3 libpcre2-dev
      libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3 zlib1g-dev pkgconf pkgconf-bin
      libpkgconf3)
(cd .debs && apt-get download "${PKGS[@]}")
du -sh shared .debs
