#!/usr/bin/env bash
# run_mock.sh — runs the tests/gpu harnesses with kernels/dev/mock_ops.c standing in for the
# CUDA kernels (checks only, ELM_GPU_SKIP_TIMING=1): the kernel harnesses' own reference logic,
# and test_gpt2_cuda = gpt2_cuda.c's orchestration against the PyTorch fixture and the CPU model,
# on a machine without a GPU (a few minutes on 2 cores). Needs a CPU-only build of elmcore:
#   cmake -S . -B /tmp/elm-cpu -DELM_CUDA=OFF && cmake --build /tmp/elm-cpu -j2
#   bash kernels/dev/run_mock.sh /tmp/elm-cpu
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
BUILD=${1:?usage: run_mock.sh CPU_BUILD_DIR}
OUT=$(mktemp -d)
CFLAGS="-std=c11 -O2 -Wall -Wextra -Werror -Wno-format-truncation -D_GNU_SOURCE -fopenmp -I. -Itests/gpu -Itests"
LIBS="$BUILD/libelmcore.a $(pkg-config --libs inih libcjson libpcre2-8 zlib) -lcsv -lm -fopenmp"
pkg-config --exists openblas && LIBS="$LIBS $(pkg-config --libs openblas)"
export ELM_SHARED=${ELM_SHARED:-../shared} OMP_NUM_THREADS=2 ELM_GPU_SKIP_TIMING=1
for t in test_matmul test_attention test_layernorm test_encoder test_elementwise test_classifier \
         test_adamw test_gpt2_cuda test_train_step; do
  gcc $CFLAGS -DELM_HAVE_CUDA=1 -o "$OUT/$t" tests/gpu/$t.c kernels/gpu/gpt2_cuda.c \
    kernels/dev/mock_ops.c $LIBS
  "$OUT/$t" | grep -E 'FAIL|passed|unwritten' || true
done
rm -rf "$OUT"
