#!/bin/bash
# selftest.sh: proves that a run on the debug kernel catches each kind of
# bug it is there for, and nothing on a clean run.  TAP.  Two boots:
#   1. a clean command passes (no boot-time splat or kernel leak counts);
#   2. prld_splat.ko loaded four times (sleep, lockdep, leak, kasan): the
#      run fails, and for the reason under test each time.  KASAN last:
#      its report taints the kernel, which turns lockdep off.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd -P)
kdir=$("$top/tests/debug-kernel/build.sh") || exit 1
out=$top/build/splat
rm -rf "$out" && mkdir -p "$out"
cp "$top"/tests/debug-kernel/splat/Kbuild "$top"/tests/debug-kernel/splat/*.c "$out/"
make -s -C "$kdir" M="$out" modules >&2 || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "1..6"

t0=$(date +%s)
"$top/tests/vm/run.sh" --kernel-dir "$kdir" --scratch-size 0 -- true >"$log" 2>&1
rc=$?
if [ $rc = 0 ]; then
	echo "ok 1 - a clean run passes ($(($(date +%s) - t0)) s: boot + kmemleak scans)"
else
	echo "not ok 1 - a clean run passes"; sed 's/^/# /' "$log"
fi

t0=$(date +%s)
cmd="for b in sleep lockdep leak kasan; do insmod $out/prld_splat.ko bug=\$b; done; true"
"$top/tests/vm/run.sh" --kernel-dir "$kdir" --scratch-size 0 -- bash -c "$cmd" >"$log" 2>&1
rc=$?
n=2
if [ $rc != 0 ]; then
	echo "ok $n - a run with bugs fails ($(($(date +%s) - t0)) s)"
else
	echo "not ok $n - a run with bugs fails"
fi
for what in 'kmemleak reports leaks from modules' 'BUG: KASAN: slab-out-of-bounds' \
	'possible circular locking dependency' 'sleeping function called from invalid context'; do
	n=$((n + 1))
	if grep -q "$what" "$log"; then
		echo "ok $n - caught: $what"
	else
		echo "not ok $n - caught: $what"
		sed 's/^/# /' "$log" | tail -n 60
	fi
done
