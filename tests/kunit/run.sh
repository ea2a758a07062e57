#!/bin/bash
# run.sh: the KUnit suites (prld_kunit.ko) in a VM booting the debug
# kernel (tests/debug-kernel/build.sh: KASAN, lockdep, kmemleak), plus
# the selftest build whose deliberately failing suite must be caught.
# Fails on any failed, skipped or missing case, and on any splat or
# module leak in the guest (tests/vm/run.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd -P)
kdir=$("$top/tests/debug-kernel/build.sh")
ko=$("$top/tests/kunit/build.sh" "$kdir")
self=$("$top/tests/kunit/build.sh" "$kdir" --selftest)
start=$(date +%s)
"$top/tests/vm/run.sh" --kernel-dir "$kdir" --scratch-size 0 \
	--timeout "${PRLD_VM_TIMEOUT:-900}" -e "PRLD_KUNIT_KO=$ko" \
	-e "PRLD_KUNIT_SELFTEST_KO=$self" -- tests/kunit/guest.sh
echo "# KUnit on the debug kernel: $(($(date +%s) - start)) s"
