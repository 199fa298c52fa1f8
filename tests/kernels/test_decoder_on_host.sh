#!/usr/bin/env bash
# kernels/gpu/decode.c (the GPU decoder's orchestration) on the CPU: linked with the cuda branch's
# host mock of the kernel API (kernels/dev/mock_ops.c) and mock_decode_launchers.c, checked against the
# CPU model by check_decoder.c. Needs a C compiler, pkg-config and the built libelmcore.a.
set -euo pipefail
SRC=${ELM_SOURCE:?run through ctest}
BUILD=${ELM_BUILD:?run through ctest}
CC=${CC:-cc}
if [ ! -f "$SRC/kernels/dev/mock_ops.c" ]; then
  echo "test_decoder_on_host: skipped: no kernels/dev/mock_ops.c in this tree"
  exit 77
fi
LIBS="$(pkg-config --libs inih libcjson libpcre2-8 zlib) -lcsv"
pkg-config --exists openblas 2>/dev/null && LIBS="$LIBS $(pkg-config --libs openblas)"
$CC -std=c11 -O2 -fopenmp -D_GNU_SOURCE -DELM_HAVE_CUDA=1 -Wall -Wextra -Werror \
  -Wno-format-truncation -I"$SRC" -I"$SRC/tests" "$SRC/kernels/gpu/decode.c" \
  "$SRC/kernels/dev/mock_ops.c" "$SRC/tests/kernels/mock_decode_launchers.c" \
  "$SRC/tests/kernels/check_decoder.c" "$BUILD/libelmcore.a" $LIBS -lm -o "$BUILD/check_decoder"
"$BUILD/check_decoder"
