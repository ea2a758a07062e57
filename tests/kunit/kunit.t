#!/bin/bash
# kunit.t: (inside the debug-kernel VM, through prove from guest.sh) load
# prld_kunit.ko and judge its KTAP with ktap.sh, unload it; then the same
# with the selftest build, whose prld_selftest suite must fail while the
# others pass: the proof that a failed case fails the run.
#
# The KTAP comes from the kernel log: 6.1's debugfs results keep only
# 512 bytes of each suite's log, too little for the parameter tables.
cd "$(dirname "$0")/../.." || exit 1
: "${PRLD_KUNIT_KO:?}" "${PRLD_KUNIT_SELFTEST_KO:?}"
SUITES=(prld_header prld_bat prld_chain prld_map prld_pages prld_validate)
n=${#SUITES[@]}
echo "1..$((2 * n + 3))"

# Load $1, print the kernel log lines it added, unload it.
kunit_log() {
	local before
	before=$(dmesg -t | wc -l)
	insmod "$1" || return 1
	dmesg -t | tail -n +$((before + 1))
	rmmod prld_kunit
}

echo "# prld_kunit.ko on $(uname -r)"
start=$(date +%s.%N)
if log=$(kunit_log "$PRLD_KUNIT_KO"); then
	echo "ok 1 - prld_kunit.ko loads and unloads"
else
	echo "not ok 1 - prld_kunit.ko loads and unloads"
fi
KTAP_FIRST=2 tests/kunit/ktap.sh "${SUITES[@]}" <<<"$log"
echo "# suites ran in $(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)") s"

echo "# selftest: prld_selftest must fail, the others pass"
if log=$(kunit_log "$PRLD_KUNIT_SELFTEST_KO"); then
	echo "ok $((n + 2)) - selftest build loads and unloads"
else
	echo "not ok $((n + 2)) - selftest build loads and unloads"
fi
KTAP_FIRST=$((n + 3)) tests/kunit/ktap.sh "${SUITES[@]}" '!prld_selftest' <<<"$log"
