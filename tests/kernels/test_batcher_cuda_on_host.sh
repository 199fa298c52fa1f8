#!/usr/bin/env bash
# The batcher's CUDA backend (kernels/gpu/batcher_cuda.c, compiled as with CUDA) over a CPU mock of
# the kernels' C API (tests/kernels/mock_decoder_api.c) vs the CPU backend (check_batcher_cuda.c).
# Needs a C compiler, pkg-config and the built libelmcore.a.
set -euo pipefail
SRC=${ELM_SOURCE:?run through ctest}
BUILD=${ELM_BUILD:?run through ctest}
CC=${CC:-cc}
LIBS="$(pkg-config --libs inih libcjson libpcre2-8 zlib) -lcsv"
pkg-config --exists openblas 2>/dev/null && LIBS="$LIBS $(pkg-config --libs openblas)"
$CC -std=c11 -O2 -fopenmp -D_GNU_SOURCE -DELM_HAVE_CUDA=1 -Wall -Wextra -Werror \
  -Wno-format-truncation -I"$SRC" -I"$SRC/tests" "$(pkg-config --cflags-only-I libcjson)" \
  "$SRC/kernels/gpu/batcher_cuda.c" "$SRC/tests/kernels/mock_decoder_api.c" \
  "$SRC/tests/kernels/check_batcher_cuda.c" "$BUILD/libelmcore.a" $LIBS -lm -o "$BUILD/check_batcher_cuda"
"$BUILD/check_batcher_cuda"
