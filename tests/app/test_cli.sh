#!/usr/bin/env bash
# The CLI: --help for every command, --version with the commit, info, and config errors that
# name file:line with a non-zero exit; OpenMP's waiting threads spin briefly, then sleep, unless
# the user says otherwise (elm runs itself again with GOMP_SPINCOUNT=10000, arguments kept).
set -u
pass=0; fail=0
ok() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $*" >&2; fi; }
E="$ELM_BIN"
ok "$E" --help >/dev/null
cmds=$("$E" --help | awk '/^commands:/{f=1;next} /^$/{f=0} f{print $1}')
ok test "$(echo "$cmds" | wc -l)" -ge 14
for c in $cmds; do
  out=$("$E" "$c" --help); ok test $? -eq 0
  ok grep -q "usage: elm $c" <<<"$out"
done
ok grep -Eq '^elm [0-9.]+ \(commit [0-9a-f]{12}' <<<"$("$E" --version)"
info=$("$E" info); ok grep -q '^cuda build: ' <<<"$info"
ok grep -Eq '^gpu( 0)?: ' <<<"$info"
ok grep -Eq '^cpu decode kernels: bf16 (avx512bf16|avx2|portable), ' <<<"$info"
ok grep -Eq '^cpu fp32 gemm: (avx512|avx2|loops)$' <<<"$info"
if grep -q '^openmp: yes' <<<"$info"; then
  ok grep -q 'waiting threads: spin GOMP_SPINCOUNT=10000 times, then sleep' <<<"$(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$E" info)"
  ok grep -q 'waiting threads: OMP_WAIT_POLICY=active' <<<"$(env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=active "$E" info)"
  ok grep -q 'waiting threads: spin GOMP_SPINCOUNT=1000 times' <<<"$(env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=1000 "$E" info)"
fi
d=$(mktemp -d)
printf '[run]\nname = x\n[data]\nsorce = a : b\n' > "$d/bad.ini"
msg=$("$E" config "$d/bad.ini" 2>&1); rc=$?
ok test $rc -ne 0
ok grep -q "bad.ini:4: unknown key 'sorce' in \[data\] (did you mean data.source?)" <<<"$msg"
ok test "$(wc -l <<<"$msg")" -eq 1
# The same message (arguments intact) when elm runs itself again for the OpenMP policy.
msg2=$(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$E" config "$d/bad.ini" 2>&1); rc2=$?
ok test "$msg2" = "$msg" -a $rc2 -eq $rc
"$E" nosuchcommand >/dev/null 2>&1; ok test $? -eq 2
"$E" config --bogus >/dev/null 2>&1; ok test $? -eq 2
rm -rf "$d"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
