#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# corpus-images.t - every image of tests/corpus/gen_corpus.c through
# prldctl.  For each case: `check` exits with the expected status and names
# the broken rule; an image the library must refuse is refused by `info`
# and `read` with the same rule on stderr; nothing ever changes a file
# except `check --repair`, which never touches an image whose header is
# invalid and leaves every other image openable.  qemu-img check is asked
# too, for the cases where QEMU 7.2 is known to agree.
#
# Needs PRLDCTL and CORPUS_GEN (set by `make test-cli`).  Prints TAP.

set -u

: "${PRLDCTL:?set PRLDCTL to the prldctl binary}"
: "${CORPUS_GEN:?set CORPUS_GEN to the gen_corpus binary}"

IN_USE_TEXT="in-use flag set"
TORN_TEXT="cut short by the end of the file"

# Cases QEMU 7.2 judges the same way (it is laxer about the rest: it takes
# data_off 0, nb_sectors 0, a short header, BAT entries into the header,
# duplicates and clusters that end past EOF).
QEMU_AGREES=" bad-magic version-1 version-3 cluster-zero cluster-big
	cluster-huge nb-sectors-huge ext-off-eof ext-off-unaligned
	ext-off-header empty-file short-bat overflow-bat overflow-bat-low
	data-off-zero
	overflow-v1 bat-past-eof-max in-use leaked-tail failed-extension
	valid-v2 valid-v1 valid-v1-tight valid-33-sector valid-32k valid-empty
	valid-clean-alt valid-late-data valid-partial-cluster "

tmp=$(mktemp -d "${TMPDIR:-/tmp}/prld-corpus.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0

ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

# ok_if CMD... : TAP line named by the last argument, status of the rest.
ok_if() {
	local name=${!#}

	"${@:1:$#-1}"
	ok $? "$name"
}

diag() {
	printf '%s\n' "$@" | sed 's/^/#   /'
}

contains() {
	case $1 in
	*"$2"*) return 0 ;;
	esac
	diag "output: $1" "expected to contain: $2"
	return 1
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

have_qemu=0
command -v qemu-img >/dev/null 2>&1 && have_qemu=1

"$CORPUS_GEN" "$tmp/corpus"
ok $? "gen_corpus ran"
ok_if test -s "$tmp/corpus/cases.txt" "gen_corpus wrote cases.txt"

# An image the library must refuse: a bad header or a bad BAT entry, or
# no image at all (status 1: no magic).  An image left in use, or whose
# last cluster a torn write cut short, opens read-only.
refused() {
	[ "$1" = 1 ] ||
		{ [ "$1" = 2 ] && [ "$2" != "$IN_USE_TEXT" ] && [ "$2" != "$TORN_TEXT" ]; }
}

# Only the header validator's rules stop a repair.
header_rule() {
	refused "$1" "$2" && case $2 in "BAT entry"*) false ;; esac
}

check_case() {
	local file=$1 status=$2 text=$3 path=$tmp/corpus/$1
	local before out rc

	before=$(sha "$path")
	out=$("$PRLDCTL" check "$path" 2>&1)
	rc=$?
	[ "$rc" = "$status" ] || diag "$out"
	ok_if test "$rc" = "$status" "$file: check exits $status"
	if [ "$text" != "-" ]; then
		contains "$out" "$text"
		ok $? "$file: check names '$text'"
	fi
	ok_if test "$(sha "$path")" = "$before" "$file: check wrote nothing"
}

open_case() {
	local file=$1 status=$2 text=$3 path=$tmp/corpus/$1
	local before rc

	before=$(sha "$path")
	if refused "$status" "$text"; then
		"$PRLDCTL" info "$path" >"$tmp/out" 2>"$tmp/err"
		rc=$?
		ok_if test "$rc" -ne 0 "$file: info refuses it"
		contains "$(cat "$tmp/err")" "$text"
		ok $? "$file: info names '$text' on stderr"
		"$PRLDCTL" read --length 4096 "$path" >"$tmp/out" 2>"$tmp/err"
		rc=$?
		ok_if test "$rc" -ne 0 "$file: read refuses it"
		contains "$(cat "$tmp/err")" "$text"
		ok $? "$file: read names '$text' on stderr"
		ok_if test ! -s "$tmp/out" "$file: read printed no data"
	else
		"$PRLDCTL" info "$path" >"$tmp/out" 2>"$tmp/err"
		rc=$?
		[ "$rc" = 0 ] || diag "$(cat "$tmp/err")"
		ok_if test "$rc" = 0 "$file: info works"
		"$PRLDCTL" read --length 4096 "$path" >"$tmp/out" 2>"$tmp/err"
		rc=$?
		[ "$rc" = 0 ] || diag "$(cat "$tmp/err")"
		ok_if test "$rc" = 0 "$file: read works"
	fi
	ok_if test "$(sha "$path")" = "$before" "$file: unchanged by info/read"
}

repair_case() {
	local file=$1 status=$2 text=$3 copy=$tmp/repair.hds
	local out rc again

	cp "$tmp/corpus/$file" "$copy"
	out=$("$PRLDCTL" check --repair "$copy" 2>&1)
	rc=$?
	if [ "$status" = 1 ]; then
		ok_if test "$rc" = 1 "$file: repair refuses it (exit 1)"
		contains "$out" "$text"
		ok $? "$file: repair says '$text'"
		ok_if cmp -s "$tmp/corpus/$file" "$copy" \
			"$file: repair left it alone"
		return
	fi
	if header_rule "$status" "$text"; then
		ok_if test "$rc" = 2 "$file: repair exits 2"
		contains "$out" "cannot repair"
		ok $? "$file: repair says it cannot repair"
		ok_if cmp -s "$tmp/corpus/$file" "$copy" \
			"$file: repair left the bad header alone"
		return
	fi
	[ "$rc" = 0 ] || [ "$rc" = 3 ] || diag "$out"
	ok_if test "$rc" = 0 -o "$rc" = 3 "$file: repair leaves no corruption"
	"$PRLDCTL" check "$copy" >/dev/null 2>&1
	again=$?
	ok_if test "$again" = "$rc" "$file: a second check agrees ($rc)"
	"$PRLDCTL" info "$copy" >/dev/null 2>"$tmp/err"
	rc=$?
	[ "$rc" = 0 ] || diag "$(cat "$tmp/err")"
	ok_if test "$rc" = 0 "$file: repaired image opens"
}

qemu_agrees() {
	local x

	for x in $QEMU_AGREES; do
		[ "$x" = "$1" ] && return 0
	done
	return 1
}

qemu_case() {
	local file=$1 status=$2 rc

	qemu_agrees "${file%.hds}" || return 0
	if [ "$have_qemu" = 0 ]; then
		ok 0 "$file: qemu-img check # SKIP qemu-img not installed"
		return
	fi
	qemu-img check -f parallels "$tmp/corpus/$file" >/dev/null 2>&1
	rc=$?
	if [ "$status" = 1 ]; then
		ok_if test "$rc" = 1 "$file: qemu-img check cannot open it either"
	elif [ "$status" = 2 ]; then
		ok_if test "$rc" -ne 0 "$file: qemu-img check fails too ($rc)"
	else
		ok_if test "$rc" = "$status" \
			"$file: qemu-img check exits $status"
	fi
}

ncases=0
while IFS=$'\t' read -r file status text; do
	[ -n "$file" ] || continue
	ncases=$((ncases + 1))
	check_case "$file" "$status" "$text"
	open_case "$file" "$status" "$text"
	repair_case "$file" "$status" "$text"
	qemu_case "$file" "$status"
done <"$tmp/corpus/cases.txt"

ok_if test "$ncases" -ge 40 "corpus has $ncases cases"
echo "1..$n"
[ "$failed" = 0 ]
