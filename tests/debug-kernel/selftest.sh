#!/bin/bash
# selftest.sh: proves that a run on the debug kernel catches each kind of
# bug it is there for, and nothing on a clean run.  TAP.  Three boots:
#   1. a clean command passes, with a kmemleak report taken (no boot-time
#      splat, no module leak);
#   2. prld_splat.ko loaded four times (sleep, lockdep, leak, kasan): the
#      run fails, and run.sh's verdict names each bug.  KASAN last: its
#      report taints the kernel, which turns lockdep off;
#   3. kmemleak switched off by the command: the run fails, as a run whose
#      leaks were never scanned has no verdict.
# The checks read run.sh's verdict (its FAIL lines), not the console: a
# report the guest printed but the verdict missed must fail here.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd -P)
kdir=$("$top/tests/debug-kernel/build.sh") || exit 1
out=$top/build/splat
rm -rf "$out" && mkdir -p "$out"
cp "$top"/tests/debug-kernel/splat/Kbuild "$top"/tests/debug-kernel/splat/*.c "$out/"
make -s -C "$kdir" M="$out" modules >&2 || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# A boot of this kernel takes ~20 s alone under TCG and several times
# that on a loaded machine; run.sh's default (600 s) was too close.
timeout=${PRLD_VM_TIMEOUT:-1200}
echo "1..7"

# run NAME CMD: one boot; the log in $log, the verdict (run.sh's FAIL
# lines on) in $verdict, run.sh's status in $rc, the wall time in $secs.
run() {
	local t0=$SECONDS
	"$top/tests/vm/run.sh" --kernel-dir "$kdir" --scratch-size 0 \
		--timeout "$timeout" -- bash -c "$1" >"$log" 2>&1
	rc=$?
	secs=$((SECONDS - t0))
	verdict=$(sed -n '/^run\.sh: FAIL: /,$p' "$log")
}

# A failed check shows the whole log: the verdict alone hides why.
show() { sed 's/^/# /' "$log"; }

run true
if [ $rc = 0 ] && grep -q '^run\.sh: kmemleak: no module leaks' "$log"; then
	echo "ok 1 - a clean run passes, kmemleak scanned ($secs s)"
else
	echo "not ok 1 - a clean run passes, kmemleak scanned (run.sh exit $rc)"
	show
fi

# Each load reaches the module's init, which commits its bug and fails
# with EAGAIN: the guest prints a line per load that did, so a bug that
# never ran is named as such, not merely "not caught".
cmd="for b in sleep lockdep leak kasan; do insmod $out/prld_splat.ko bug=\$b 2>&1 |
	grep -q 'Resource temporarily unavailable' && echo \"splat \$b: committed\"; done; true"
run "$cmd"
# Fails for the bugs only: the command itself succeeded (every insmod
# fails by design, the loop's status is true's) and the VM did not
# time out or crash.
other=$(grep -E '^run\.sh: FAIL: (VM timed out|qemu exited|no exit status|command exited|no kmemleak report)' <<<"$verdict")
ran=$(grep -o 'splat [a-z]*: committed' "$log" | sort -u | wc -l)
if [ $rc = 1 ] && [ -z "$other" ] && [ "$ran" = 4 ]; then
	echo "ok 2 - a run with bugs fails ($secs s)"
else
	echo "not ok 2 - a run with bugs fails, for the bugs only ($ran of 4 committed, run.sh exit $rc)"
	show
fi
n=2
for what in 'kmemleak reports leaks from modules' 'BUG: KASAN: slab-out-of-bounds' \
	'possible circular locking dependency' 'sleeping function called from invalid context'; do
	n=$((n + 1))
	if grep -q "$what" <<<"$verdict"; then
		echo "ok $n - caught: $what"
	else
		echo "not ok $n - caught: $what"
		show
	fi
done

run 'echo off >/sys/kernel/debug/kmemleak'
if [ $rc = 1 ] && grep -q '^run\.sh: FAIL: no kmemleak report' <<<"$verdict"; then
	echo "ok 7 - a run without a kmemleak scan fails ($secs s)"
else
	echo "not ok 7 - a run without a kmemleak scan fails (run.sh exit $rc)"
	show
fi
