#!/usr/bin/env bash
# kernels/decode.c (the GPU decoder's orchestration) on the CPU: linked with the cuda branch's
# host mock of the kernel API (kernels/dev/mock_cuda.c) and decode_mock.c, checked against the
# CPU model by decoder_mock.c. Needs a C compiler, pkg-config and the built libelmcore.a.
set -euo pipefail
SRC=${ELM_SOURCE:?run through ctest}
BUILD=${ELM_BUILD:?run through ctest}
CC=${CC:-cc}
if [ ! -f "$SRC/kernels/dev/mock_cuda.c" ]; then
  echo "test_decoder_mock: skipped: no kernels/dev/mock_cuda.c in this tree"
  exit 77
fi
LIBS="$(pkg-config --libs inih libcjson libpcre2-8 zlib) -lcsv"
pkg-config --exists openblas 2>/dev/null && LIBS="$LIBS $(pkg-config --libs openblas)"
$CC -std=c11 -O2 -fopenmp -D_GNU_SOURCE -DELM_HAVE_CUDA=1 -Wall -Wextra -Werror \
  -Wno-format-truncation -I"$SRC" -I"$SRC/tests" "$SRC/kernels/decode.c" \
  "$SRC/kernels/dev/mock_cuda.c" "$SRC/tests/sampling/decode_mock.c" \
  "$SRC/tests/sampling/decoder_mock.c" "$BUILD/libelmcore.a" $LIBS -lm -o "$BUILD/decoder_mock"
"$BUILD/decoder_mock"
