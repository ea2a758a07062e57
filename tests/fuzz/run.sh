#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# run.sh SECONDS BIN... - run each libFuzzer binary for SECONDS.
#
# A fuzzer named NAME starts from tests/fuzz/corpus/NAME/ (when present),
# copied to a scratch directory first: libFuzzer adds the inputs it finds
# to its corpus directory, and the tree must stay as committed.  Prints one
# summary line per target; exits non-zero if any target crashed, leaked,
# timed out or could not run, keeping that target's log and reproducer.

set -u

if [ $# -lt 2 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
	echo "usage: $0 SECONDS FUZZER..." >&2
	exit 2
fi
seconds=$1
shift

here=$(cd "$(dirname "$0")" && pwd)
status=0

count() {
	find "$1" -maxdepth 1 -type f | wc -l
}

# The number of inputs a run executed, from -print_final_stats.
runs_of() {
	sed -n 's/^stat::number_of_executed_units: *//p' "$1" | tail -n 1
}

run_one() {
	local bin=$1 name work seeds rc runs

	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		echo "FAIL $name: $bin is not an executable"
		return 1
	fi
	work=$(mktemp -d "${TMPDIR:-/tmp}/prld-fuzz-$name.XXXXXX") || return 1
	mkdir -p "$work/corpus" "$work/artifacts"
	if [ -d "$here/corpus/$name" ]; then
		cp -R "$here/corpus/$name/." "$work/corpus/"
	fi
	seeds=$(count "$work/corpus")
	"$bin" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts/" \
		"$work/corpus" >"$work/log" 2>&1
	rc=$?
	runs=$(runs_of "$work/log")
	if [ "$rc" -ne 0 ] || [ "$(count "$work/artifacts")" -ne 0 ]; then
		echo "FAIL $name: exit $rc after ${runs:-?} runs;" \
			"log and reproducer kept in $work"
		grep -E 'ERROR|SUMMARY|fuzz_image:|==[0-9]+==' "$work/log" |
			head -n 20 | sed 's/^/    /'
		return 1
	fi
	echo "ok   $name: ${runs:-?} runs in ${seconds}s," \
		"corpus $seeds -> $(count "$work/corpus") inputs"
	rm -rf "$work"
	return 0
}

for bin in "$@"; do
	run_one "$bin" || status=1
done
exit $status
