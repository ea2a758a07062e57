#!/bin/bash
# guest.sh: (inside the debug-kernel VM, from tests/kunit/run.sh) load
# prld_kunit.ko, judge its KTAP with ktap.sh, unload it; then the same
# with the selftest build, whose prld_selftest suite must fail while the
# others pass: the proof that a failed case fails the run.
#
# The KTAP comes from the kernel log: 6.1's debugfs results keep only
# 512 bytes of each suite's log, too little for the parameter tables.
set -u
cd "$(dirname "$0")/../.."
: "${PRLD_KUNIT_KO:?}" "${PRLD_KUNIT_SELFTEST_KO:?}"
SUITES=(prld_header prld_bat prld_chain prld_map prld_validate)

# Load @1, print the kernel log lines it added.
kunit_log() {
	local before
	before=$(dmesg -t | wc -l)
	insmod "$1" || { echo "not ok - insmod $1"; return 1; }
	dmesg -t | tail -n +$((before + 1))
	rmmod prld_kunit || echo "not ok - rmmod prld_kunit"
}

rc=0
echo "# prld_kunit.ko on $(uname -r)"
start=$(date +%s.%N)
log=$(kunit_log "$PRLD_KUNIT_KO") || rc=1
tests/kunit/ktap.sh "${SUITES[@]}" <<<"$log" || rc=1
echo "# suites ran in $(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)") s"

echo "# selftest: prld_selftest must fail, the rest pass"
log=$(kunit_log "$PRLD_KUNIT_SELFTEST_KO") || rc=1
tests/kunit/ktap.sh "${SUITES[@]}" '!prld_selftest' <<<"$log" || rc=1
exit $rc
