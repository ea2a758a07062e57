#!/bin/bash
# run.sh KREL [FS]: the kernel test suite in a VM booting Debian kernel
# KREL, image files on a FS (ext4 or xfs) scratch disk.  Fails on any
# failed test or any splat in the guest's kernel log (tests/vm/run.sh).
# KREL "debug" is the debug kernel (tests/debug-kernel/build.sh: KASAN,
# lockdep, kmemleak), with prld.ko built with its fault points, and the
# fault-injection tests (tests/fault) run after the kernel suite.
set -euo pipefail
krel=${1:?usage: run.sh KREL|debug [ext4|xfs]}
fs=${2:-ext4}
top=$(cd "$(dirname "$0")/../.." && pwd -P)
kernel=(--kernel "$krel")
if [ "$krel" = debug ]; then
	krel=$("$top/tests/debug-kernel/build.sh")
	kernel=(--kernel-dir "$krel")
	export PRLD_FAULT_INJECT=y
	# The fault-injection tests need this kernel and this module build.
	: "${PRLD_KTESTS:=tests/kernel/*.t tests/fault/*.t}"
	# KASAN, lockdep and kmemleak make the kernel side several times
	# slower under TCG, and this suite runs beside another in make test:
	# its first half ran past 3000 s on a host at load 7.  A hang still
	# shows in the hung-task detector's report; this limit only bounds
	# what it costs.
	: "${PRLD_SUITE_TIMEOUT:=4800}" "${PRLD_VM_TIMEOUT:=5400}"
fi
ko=$("$top/tests/kernel/build-module.sh" "$krel")
start=$(date +%s)
env_args=(-e "PRLD_KO=$ko" -e "PRLD_BACKING_FS=$fs")
# Passed through when set: which tests, the suite's time limit, the
# malformed-image run's seed and size (tests/kernel/65-mutants.t) and the
# failslab rounds (tests/fault/20-failslab.t).
for v in PRLD_KTESTS PRLD_SUITE_TIMEOUT PRLD_MUTANT_SEED PRLD_MUTANT_FIRST \
	PRLD_MUTANT_COUNT PRLD_FAILSLAB_ROUNDS; do
	[ -z "${!v:-}" ] || env_args+=(-e "$v=${!v}")
done
"$top/tests/vm/run.sh" "${kernel[@]}" --scratch-size 6G --mem 2G \
	--timeout "${PRLD_VM_TIMEOUT:-2400}" "${env_args[@]}" -- \
	tests/kernel/guest.sh
echo "# kernel suite on $1 ($fs): $(( $(date +%s) - start )) s"
