#!/bin/bash
# ktap.sh SUITE... <KTAP: the verdict on KUnit output (the kernel log
# from loading prld_kunit.ko), one TAP line per named suite.
#
# A suite passes when its result line is "ok", no line inside it is
# "not ok" or a SKIP (a skipped check is a defect here), and it reports
# its case count ("# Totals:", parameters included).  A suite named
# "!NAME" must instead fail (the selftest).  A suite missing from the
# output fails.  Exit status 0 only if every suite is as expected.
# Prints no plan (the caller's TAP file has one); numbering starts at
# $KTAP_FIRST (default 1).
set -u
[ $# -gt 0 ] || { echo "usage: ktap.sh SUITE... <ktap" >&2; exit 2; }
ktap=$(cat)
i=$((${KTAP_FIRST:-1} - 1)) rc=0 total=0
for want in "$@"; do
	i=$((i + 1))
	name=${want#!}
	# The suite's own lines, from its "# Subtest:" to its result line.
	body=$(awk -v s="$name" '
		$0 ~ "^ *# Subtest: " s "$" && !on { on = 1 }
		on { print }
		on && $0 ~ "^(not )?ok [0-9]+ (- )?" s "$" { exit }' <<<"$ktap")
	result=$(tail -n1 <<<"$body")
	cases=$(sed -n 's/^ *# Totals: pass:[0-9]* fail:[0-9]* skip:[0-9]* total:\([0-9]*\)$/\1/p' <<<"$body" | tail -n1)
	bad=$(grep -cE '^ *not ok |# SKIP' <<<"$body")
	if [[ ! $result =~ ^(not\ )?ok\ [0-9]+\ (-\ )?$name$ ]]; then
		echo "not ok $i - $name: no result in the kernel log"
		rc=1
	elif [ "$want" != "$name" ]; then
		if [[ $result == not* ]] && [ "$bad" -gt 0 ]; then
			echo "ok $i - $name fails as it must ($bad failed lines)"
		else
			echo "not ok $i - $name passed but must fail"
			rc=1
		fi
	elif [[ $result == not* ]] || [ "$bad" -gt 0 ] || [ -z "$cases" ]; then
		echo "not ok $i - $name: $bad failed or skipped, cases ${cases:-?}"
		grep -E 'not ok|# SKIP|EXPECTATION FAILED|ASSERTION FAILED|Expected|^ *(#|but)' \
			<<<"$body" | grep -v '# Subtest\|# Totals\|pass:' | head -n 40 | sed 's/^/# /'
		rc=1
	else
		echo "ok $i - $name: $cases cases"
		total=$((total + cases))
	fi
done
echo "# $total KUnit cases passed"
exit $rc
