#!/usr/bin/env bash
# run_mock.sh — runs tests/gpu/test_gpt2_cuda.c with kernels/dev/mock_cuda.c standing in for
# the CUDA kernels: checks gpt2_cuda.c's orchestration against the PyTorch fixture and the CPU
# model on a machine without a GPU (about 2 minutes on 2 cores; test_train_step is too big for
# the mock's plain loops). Needs a CPU-only build of elmcore:
#   cmake -S . -B /tmp/elm-cpu -DELM_CUDA=OFF && cmake --build /tmp/elm-cpu -j2
#   bash kernels/dev/run_mock.sh /tmp/elm-cpu
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
BUILD=${1:?usage: run_mock.sh CPU_BUILD_DIR}
OUT=$(mktemp -d)
CFLAGS="-std=c11 -O2 -Wall -Wextra -Werror -Wno-format-truncation -D_GNU_SOURCE -fopenmp -I. -Itests/gpu -Itests"
LIBS="$BUILD/libelmcore.a $(pkg-config --libs inih libcjson libpcre2-8 zlib) -lcsv -lm -fopenmp"
pkg-config --exists openblas && LIBS="$LIBS $(pkg-config --libs openblas)"
gcc $CFLAGS -DELM_HAVE_CUDA=1 -o "$OUT/test_gpt2_cuda" tests/gpu/test_gpt2_cuda.c \
  kernels/gpt2_cuda.c kernels/dev/mock_cuda.c $LIBS
ELM_SHARED=${ELM_SHARED:-../shared} OMP_NUM_THREADS=2 "$OUT/test_gpt2_cuda"
rm -rf "$OUT"
