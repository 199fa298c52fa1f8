#!/bin/sh
# run.sh — builds the fuzz harnesses and runs each for a while on its seed corpus.
# Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET (60)] [TARGET...] (targets: ingest safetensors
# clean bpe config state hfconfig fetch;
# default all). Crashes land in build-fuzz/crashes/<target>/. A target with a dictionary
# tests/fuzz/<target>.dict (syntax and names its parser looks for) runs with -dict=.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$SRC/build-fuzz}
SECONDS_EACH=${1:-60}
[ $# -gt 0 ] && shift
TARGETS=${*:-ingest safetensors clean bpe config state hfconfig fetch}
export ELM_SHARED=${ELM_SHARED:-$SRC/../shared}
# leaks are real findings too; ASan's report names the allocation
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

"$SRC/tests/fuzz/build.sh" "$OUT"
status=0
for t in $TARGETS; do
    work="$OUT/corpus/$t" # grows as the fuzzer finds new paths; the seeds stay in the repo
    mkdir -p "$work" "$OUT/crashes/$t"
    dict=
    [ -f "$SRC/tests/fuzz/$t.dict" ] && dict="-dict=$SRC/tests/fuzz/$t.dict"
    echo "== fuzz_$t: ${SECONDS_EACH}s${dict:+ ($t.dict)}"
    # shellcheck disable=SC2086 # $dict: empty or one word
    if ! "$OUT/fuzz_$t" -max_total_time="$SECONDS_EACH" -max_len=65536 $dict \
        -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$OUT/crashes/$t/" -print_final_stats=1 \
        "$work" "$SRC/tests/fuzz/corpus/$t" 2>"$OUT/fuzz_$t.log"; then
        echo "fuzz_$t: FAILED, see $OUT/fuzz_$t.log and $OUT/crashes/$t/"
        status=1
    fi
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$OUT/fuzz_$t.log" || true
done
exit $status
