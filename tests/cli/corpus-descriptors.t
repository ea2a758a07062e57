#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every malformed descriptor in tests/corpus/descriptors must be refused by
# "prldctl info" (non-zero, the library's message on stderr) and reported
# as corruption by "prldctl check" (exit 2, the same message).  check
# prints findings as its report on stdout, so both streams are searched.
. "$(dirname "$0")/tap.sh"

CORPUS=$(cd "$(dirname "$0")/../corpus/descriptors" && pwd)

# Each case runs on a copy: the tools must never touch the corpus.
while IFS=$'\t' read -r name want; do
	case "$name" in '' | '#'*) continue ;; esac
	dir=$WORK/$name
	cp -r "$CORPUS/$name" "$dir"

	run "$PRLDCTL" info "$dir"
	ok $((RC == 0)) "$name: info fails (exit $RC)"
	like "$ERR" "$want" "$name: info names the problem on stderr"
	like "$ERR" "prldctl: " "$name: info prefixes its message"

	run "$PRLDCTL" check "$dir"
	is "$RC" 2 "$name: check exits 2 (corrupt)"
	like "$OUT$ERR" "$want" "$name: check names the problem"

	diff -r "$CORPUS/$name" "$dir" >/dev/null
	ok $? "$name: case files unchanged"
done <"$CORPUS/cases.txt"

tap_done
