#!/usr/bin/env bash
# MPI as a plugin (engine/base/dist.c, libelm-mpi.so): `elm` links no MPI library; without a
# launcher's variables it runs alone even when the plugin is missing; with them and no plugin,
# or a plugin of another build, one line says why; under mpirun the collectives (test_dist.c)
# hold on 1, 2 and 3 ranks, a rank that hangs is a timeout error and a rank that dies ends the
# job. The mpirun part is skipped without mpirun or in a build without MPI.
set -euo pipefail
SRC=${ELM_SOURCE:?run through ctest}
BUILD=${ELM_BUILD:?run through ctest}
ELM=${ELM_BIN:?run through ctest}
SHARED=${ELM_SHARED:?run through ctest}
CC=${CC:-cc}
pass=0 fail=0
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what" >&2; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# No launcher around the test itself: every variable dist.c looks at, unset.
LAUNCH_VARS=(OMPI_COMM_WORLD_SIZE OMPI_COMM_WORLD_RANK PMI_SIZE PMI_RANK SLURM_STEP_NUM_TASKS
             SLURM_PROCID PMIX_RANK)
for v in "${LAUNCH_VARS[@]}"; do unset "$v"; done

# 1. No MPI library in the binary's dependencies.
check "elm links an MPI library: $(ldd "$ELM" | grep -i mpi || true)" \
  bash -c "! ldd '$ELM' | grep -Eiq 'libmpi|open-?mpi|libpmi|libpmix'"

# 2. Alone, the plugin missing: elm info says one process and succeeds.
out=$(ELM_MPI_LIB="$tmp/none.so" "$ELM" info)
check "info alone: $out" grep -qx "mpi: one process (not launched by mpirun or srun)" <<<"$out"

# 3. Alone, the plugin missing: elm validate runs as it always did.
cat >"$tmp/v.ini" <<EOF
[run]
name = t
out_dir = $tmp/out
threads = 1
seed = 5
[validate]
data = $SHARED/data/seed-tweets/real_vs_generated.csv
max_rows = 400
max_features = 2000
models = nb,rf
rf.n_estimators = 4
EOF
set +e
err=$(ELM_MPI_LIB="$tmp/none.so" "$ELM" validate "$tmp/v.ini" --quiet 2>&1 >/dev/null)
rc=$?
set -e
check "plain validate without the plugin: exit $rc, $err" test $rc -eq 0
check "plain validate wrote metrics.json" test -s "$tmp/out/t/validate/metrics.json"

# 4. A launcher's variables but no plugin: one line naming the launcher, non-zero, nothing written.
for launch in "OMPI_COMM_WORLD_SIZE=2 mpirun" "PMI_SIZE=3 pmi" "SLURM_STEP_NUM_TASKS=2 srun" \
              "PMIX_RANK=1 pmix"; do
  var=${launch% *} name=${launch#* }
  rm -rf "$tmp/out"
  set +e
  # PMIX_RANK as srun --mpi=pmix sets it (srun without an MPI plugin: below).
  err=$(env PMIX_RANK=0 "$var" ELM_MPI_LIB="$tmp/none.so" "$ELM" validate "$tmp/v.ini" --quiet 2>&1 >/dev/null)
  rc=$?
  set -e
  check "$var without the plugin: exit $rc" test $rc -ne 0
  check "$var message: $err" grep -qF "elm validate: launched by $name ($var) but the MPI side of elm did not load ($tmp/none.so:" <<<"$err"
  check "$var message is one line: $err" test "$(wc -l <<<"$err")" -eq 1
  check "$var wrote into the run folder" test ! -e "$tmp/out"
done
# srun without --mpi=pmix (no PMIX_RANK, no PMI_FD): MPI_Init would abort; one line says how.
rm -rf "$tmp/out"
set +e
err=$(SLURM_STEP_NUM_TASKS=2 "$ELM" validate "$tmp/v.ini" --quiet 2>&1 >/dev/null)
rc=$?
set -e
check "srun without PMIx: exit $rc" test $rc -ne 0
check "srun without PMIx message: $err" grep -qxF "elm validate: launched by srun (SLURM_STEP_NUM_TASKS=2) without an MPI plugin: run \`srun --mpi=pmix ...\` (or set MpiDefault=pmix in slurm.conf)" <<<"$err"
check "srun without PMIx wrote into the run folder" test ! -e "$tmp/out"
out=$(OMPI_COMM_WORLD_SIZE=2 ELM_MPI_LIB="$tmp/none.so" "$ELM" info)
check "info under a launcher without the plugin: $out" grep -q "^mpi: not usable (launched by mpirun" <<<"$out"

# 5. A job of one needs no MPI either.
set +e
err=$(OMPI_COMM_WORLD_SIZE=1 ELM_MPI_LIB="$tmp/none.so" "$ELM" validate "$tmp/v.ini" --quiet 2>&1)
rc=$?
set -e
check "a job of one without the plugin: exit $rc, $err" test $rc -eq 0
out=$(OMPI_COMM_WORLD_SIZE=1 ELM_MPI_LIB="$tmp/none.so" "$ELM" info)
check "info in a job of one: $out" grep -qx "mpi: one process (a job of one)" <<<"$out"

if ! "$ELM" info | grep -qx "mpi build: yes"; then
  echo "test_dist: the mpirun checks skipped: built without MPI"
  echo "$pass passed, $fail failed"
  test "$fail" -eq 0
  exit
fi
if ! command -v mpirun >/dev/null; then
  echo "test_dist: the mpirun checks skipped: no mpirun (Debian: openmpi-bin)"
  echo "$pass passed, $fail failed"
  test "$fail" -eq 0
  exit
fi

# 6. A plugin from another build (another commit): refused, named.
cat >"$tmp/fake.c" <<'C'
#include "engine/base/dist_mpi.h"
static const ElmDistMpiApi fake = {
    .version = ELM_DIST_MPI_VERSION, .commit = "0000000-another-build", .sizes = ELM_DIST_MPI_SIZES};
const ElmDistMpiApi *elm_dist_mpi_api(void) { return &fake; }
C
$CC -std=c11 -shared -fPIC -I"$SRC" "$tmp/fake.c" -o "$tmp/libfake.so"
set +e
err=$(OMPI_COMM_WORLD_SIZE=2 ELM_MPI_LIB="$tmp/libfake.so" "$ELM" validate "$tmp/v.ini" 2>&1)
rc=$?
set -e
check "foreign plugin: exit $rc" test $rc -ne 0
check "foreign plugin: $err" grep -qF "$tmp/libfake.so does not belong to this elm (commit 0000000-another-build" <<<"$err"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 # CI runs as root
MPIRUN=(timeout 120 mpirun --oversubscribe)
T=$BUILD/tests/base_test_dist

# 7. The collectives on 1, 2 and 3 ranks: every rank's checks pass.
for n in 1 2 3; do
  set +e
  out=$("${MPIRUN[@]}" -np $n "$T" 2>&1)
  rc=$?
  set -e
  check "test_dist on $n ranks: exit $rc: $out" test $rc -eq 0
  for ((r = 0; r < n; r++)); do
    check "rank $r of $n: $out" grep -Eq "^rank $r of $n \((mpi|alone)\): [0-9]+ passed, 0 failed" <<<"$out"
  done
done

# 8. mpirun -np 2 elm info: each rank names itself.
out=$("${MPIRUN[@]}" -np 2 "$ELM" info 2>&1)
for r in 0 1; do
  check "elm info rank $r: $out" grep -q "^mpi: rank $r of 2 (launched by mpirun, " <<<"$out"
done

# 9. A rank that hangs: the others' barrier fails after ELM_DIST_TIMEOUT, naming the wait; the
#    job ends (timeout 120 would say 124 if it hung).
set +e
out=$(ELM_DIST_TIMEOUT=2 "${MPIRUN[@]}" -np 2 "$T" timeout 2>&1)
rc=$?
set -e
check "hung rank: exit $rc (124 = the job hung)" bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ]"
check "hung rank message: $out" grep -q "^rank 0: barrier failed: barrier: rank 0 of 2 waited 2 s for the other ranks" <<<"$out"

# 10. A rank that dies (SIGKILL): the launcher ends the job, naming the rank; no hang.
set +e
out=$("${MPIRUN[@]}" -np 3 "$T" kill 2>&1)
rc=$?
set -e
check "killed rank: exit $rc (124 = the job hung)" bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ]"
check "killed rank named: $out" grep -q "rank 2 .*exited on signal 9" <<<"$out"

echo "$pass passed, $fail failed"
test "$fail" -eq 0
