#!/bin/sh
# build.sh — builds the libFuzzer harnesses tests/fuzz/fuzz_*.c with ASan + UBSan (clang).
# Called by tests/fuzz/run.sh, or by hand: tests/fuzz/build.sh [BUILD_DIR] (default build-fuzz).
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$SRC/build-fuzz}
CC=${CC:-clang}
JOBS=${JOBS:-2}
SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=c11 -g -O1 -Wno-pass-failed -D_GNU_SOURCE -fopenmp -I$SRC $(pkg-config --cflags inih libcjson libpcre2-8 zlib libcurl)"
LIBS="$(pkg-config --libs inih libcjson libpcre2-8 zlib libcurl) -lcsv -lm -fopenmp"
mkdir -p "$OUT/obj"

# elm's library sources as the main build takes them without CUDA: no main.c, none of the
# CUDA-side C files (gpu_none.c and batcher_cuda.c's stub stand in).
SOURCES=$(ls "$SRC"/engine/*/*.c "$SRC"/tokenizer/*.c "$SRC"/eval/*.c "$SRC"/kernels/*.c \
               "$SRC"/kernels/gpu/*.c |
          grep -v -e '/engine/app/main\.c$' -e '/kernels/gpu/gpu_loader\.c$' \
                  -e '/kernels/gpu/cuda_plugin\.c$' -e '/kernels/gpu/gpt2_cuda\.c$' \
                  -e '/kernels/gpu/decode\.c$')

# version.c as cmake/version.cmake writes it
VERSION=$(sed -n 's/^project(elm VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
COMMIT=$(git -C "$SRC" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
printf 'const char elm_version[] = "%s";\nconst char elm_git_commit[] = "%s";\n' \
    "$VERSION" "$COMMIT" > "$OUT/version.c.new"
cmp -s "$OUT/version.c.new" "$OUT/version.c" 2>/dev/null || mv "$OUT/version.c.new" "$OUT/version.c"
rm -f "$OUT/version.c.new"

# one object per source, rebuilt when the source or any header is newer (headers: coarse)
NEWEST_H=$(ls -t "$SRC"/engine/*/*.h "$SRC"/tokenizer/*.h "$SRC"/eval/*.h "$SRC"/kernels/*.h \
               "$SRC"/kernels/gpu/*.h | head -1)
for s in $SOURCES "$OUT/version.c"; do
    o="$OUT/obj/$(echo "${s#$SRC/}" | tr / _ | sed 's/\.c$/.o/')"
    if [ ! -f "$o" ] || [ "$s" -nt "$o" ] || [ "$NEWEST_H" -nt "$o" ]; then echo "$s $o"; fi
done | xargs -r -n 2 -P "$JOBS" sh -c "echo \"  CC \$0\"; $CC $CFLAGS $SAN -c \"\$0\" -o \"\$1\""
rm -f "$OUT/libelm_fuzz.a"
ar rcs "$OUT/libelm_fuzz.a" "$OUT"/obj/*.o

# the harnesses: a harness that defines a library symbol itself (fuzz_ingest.c includes
# ingest.c) takes precedence over the archive's copy
for h in "$SRC"/tests/fuzz/fuzz_*.c; do
    [ -e "$h" ] || continue
    name=$(basename "$h" .c)
    echo "  LD $name"
    $CC $CFLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        "$h" "$OUT/libelm_fuzz.a" $LIBS -o "$OUT/$name"
done
