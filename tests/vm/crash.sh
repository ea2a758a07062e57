#!/bin/bash
# crash.sh [options] --workload CMD --check CMD
#
# Power cuts: for each cut, boot a guest that runs the workload CMD
# (bash -c, in the checkout) on a scratch disk image kept on the host, kill
# QEMU with SIGKILL at a random moment once the workload prints
# "PRLD-VM: ARMED" on its stdout, then boot a second guest on the same
# scratch image that runs the check CMD, which must exit 0.  Both see the
# same $PRLD_VM_WORK (a host directory kept across the two boots: a
# workload logs there what it made durable, with fsync; 9p writes reach
# the host before they return, so the log survives the kill).
#
#   --kernel KREL          guest kernel (default: run.sh's)
#   --cuts N               number of cuts (default 1)
#   --seed S               first seed (default: from the clock); cut i has
#                          seed S+i, in $PRLD_CRASH_SEED, and a kill time
#                          drawn from it
#   --min SECONDS, --max SECONDS   kill window after ARMED (default 1..10)
#   --scratch-size SIZE    scratch disk (default 512M)
#   --selftest-every K     every K-th cut (the first included) runs the
#                          check with PRLD_CRASH_SELFTEST=1 (default 0: never)
#   --timeout SECONDS      per boot (default 600)
#   --keep                 keep every cut's directory, not just failed ones
#   -e NAME=VALUE          environment for both commands (repeatable)
#
# The scratch disk uses cache=unsafe: a SIGKILL of QEMU never loses a write
# QEMU completed to the guest (the host kernel holds it, whatever the cache
# mode), so the mode does not change what a cut loses and unsafe only
# skips the host's fsyncs.  What a cut loses is the guest's page cache,
# the driver's memory and the requests QEMU had not completed; a disk that
# drops completed writes from a volatile cache is not modelled.
#
# TAP on stdout; exit 0 only if every cut was killed as planned and every
# check passed.  A failed cut's directory (scratch image, share with the
# logs, console logs) is kept and named.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd -P)
kernel='' cuts=1 seed=$(date +%s) min=1 max=10 size=512M every=0 timeout=600 keep=''
workload='' check='' envs=()
usage() { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--cuts) cuts=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--min) min=$2; shift 2 ;;
	--max) max=$2; shift 2 ;;
	--scratch-size) size=$2; shift 2 ;;
	--selftest-every) every=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-e) envs+=(-e "$2"); shift 2 ;;
	--workload) workload=$2; shift 2 ;;
	--check) check=$2; shift 2 ;;
	*) usage ;;
	esac
done
[ -n "$workload" ] && [ -n "$check" ] || usage
kargs=()
[ -z "$kernel" ] || kargs=(--kernel "$kernel")

failed=0
start=$SECONDS
echo "1..$cuts"
for ((i = 0; i < cuts; i++)); do
	s=$((seed + i))
	# The kill time, from the seed: tenths of a second in [min, max].
	t=$(awk -v s="$s" -v a="$min" -v b="$max" \
		'BEGIN { srand(s); printf "%.1f", a + rand() * (b - a) }')
	selftest=0
	[ "$every" -gt 0 ] && [ $((i % every)) -eq 0 ] && selftest=1
	dir=$(mktemp -d "${PRLD_VM_TMPDIR:-/var/tmp}/prld-crash.XXXXXX")
	common=("${kargs[@]}" --scratch-image "$dir/scratch.img" --scratch-size "$size"
		--scratch-cache unsafe --share "$dir/share" --timeout "$timeout"
		-e "PRLD_CRASH_SEED=$s" -e "PRLD_CRASH_SELFTEST=$selftest" "${envs[@]}")
	"$HERE/run.sh" "${common[@]}" --kill-after "$t" --kill-from "PRLD-VM: ARMED" \
		-- bash -c "$workload" > "$dir/boot1.log" 2>&1
	rc1=$?
	rc2=-
	if [ $rc1 -eq 3 ]; then
		"$HERE/run.sh" "${common[@]}" -- bash -c "$check" > "$dir/boot2.log" 2>&1
		rc2=$?
	fi
	name="cut $((i + 1)) (seed $s): killed ${t}s after ARMED$([ $selftest = 1 ] && echo ', selftest')"
	if [ $rc1 -eq 3 ] && [ "$rc2" = 0 ]; then
		echo "ok $((i + 1)) - $name: check passed"
		grep -E '^#   (check-(dev|files)|cut-at):' "$dir/boot2.log" | sed 's/^#   /#   /'
		[ -n "$keep" ] || rm -rf "$dir"
	else
		failed=$((failed + 1))
		echo "not ok $((i + 1)) - $name: boot 1 exit $rc1 (3 = killed), check exit $rc2"
		for log in "$dir/boot1.log" "$dir/boot2.log"; do
			[ -e "$log" ] || continue
			echo "# --- tail of $log"
			grep -v '^\[' "$log" | tail -n 40 | sed 's/^/#   /'
		done
		echo "# kept: $dir"
	fi
done
echo "# $cuts cuts, $failed failed, $((SECONDS - start)) s"
[ $failed -eq 0 ]
