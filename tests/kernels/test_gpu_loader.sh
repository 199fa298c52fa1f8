#!/usr/bin/env bash
# The CUDA side as a plugin (kernels/gpu/gpu_loader.c, libelm-cuda.so): the `elm` binary of a CUDA
# build links no CUDA library; a missing library or one from another build means "no GPU" with
# the reason (elm info exits 0, a GPU request fails with one line); the real library loads.
# Skipped in builds without CUDA.
set -euo pipefail
SRC=${ELM_SOURCE:?run through ctest}
BUILD=${ELM_BUILD:?run through ctest}
ELM=${ELM_BIN:?run through ctest}
CC=${CC:-cc}
if ! "$ELM" info | grep -q "^cuda build: yes"; then
  echo "test_gpu_loader: skipped: built without CUDA"
  exit 77
fi
pass=0 fail=0
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what" >&2; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. No CUDA library in the binary's dependencies.
check "elm links a CUDA library" bash -c "! ldd '$ELM' | grep -Eq 'libcuda|libcudart|libcublas'"

# 2. The library missing: no GPU, with the reason; elm info still succeeds.
out=$(ELM_CUDA_LIB="$tmp/none.so" "$ELM" info)
check "missing library: $out" grep -q "^gpu: no GPU (the CUDA side of elm did not load" <<<"$out"
check "missing library named as loaded: $out" bash -c "! grep -q '^cuda library:' <<<\"\$1\"" _ "$out"

# 3. A library from another build (another commit): refused, named.
cat >"$tmp/fake.c" <<'C'
#include "kernels/gpu/cuda_plugin.h"
static const ElmCudaPluginApi fake = {
    .version = ELM_CUDA_PLUGIN_VERSION, .commit = "0000000-another-build",
    .sizes = ELM_CUDA_PLUGIN_SIZES};
const ElmCudaPluginApi *elm_cuda_plugin_api(void) { return &fake; }
C
$CC -std=c11 -shared -fPIC -D_GNU_SOURCE -I"$SRC" $(pkg-config --cflags-only-I libcjson) \
  "$tmp/fake.c" -o "$tmp/libfake.so"
out=$(ELM_CUDA_LIB="$tmp/libfake.so" "$ELM" info)
check "foreign library: $out" grep -q "does not belong to this elm (commit 0000000-another-build" <<<"$out"

# 4. Asking to train on the GPU without the library: one line naming the key and the reason.
mkdir -p "$tmp/run"
printf '[run]\nname = r\nout_dir = %s\n[train]\ndevice = cuda\nprecision = bf16\n' "$tmp" >"$tmp/t.ini"
set +e
err=$(ELM_CUDA_LIB="$tmp/none.so" "$ELM" train "$tmp/t.ini" --quiet 2>&1 >/dev/null)
rc=$?
set -e
check "train on a missing library: exit $rc, $err" test $rc -ne 0
check "train message: $err" grep -q "^elm train: \[train\] device = cuda: the CUDA side of elm did not load" <<<"$err"
check "train message is one line: $err" test "$(wc -l <<<"$err")" -eq 1

# 5. The real library loads (beside the binary): a GPU line, or the CUDA runtime's own reason.
out=$(env -u ELM_CUDA_LIB "$ELM" info)
lib="$(cd "$(dirname "$ELM")" && pwd)/libelm-cuda.so"
check "real library path: $out" grep -qxF "cuda library: $lib" <<<"$out"
check "real library: $out" bash -c "grep -Eq '^gpu 0: |^gpu: no GPU \(' <<<\"\$1\" && ! grep -q 'did not load\|does not belong' <<<\"\$1\"" _ "$out"

echo "$pass passed, $fail failed"
test "$fail" -eq 0
