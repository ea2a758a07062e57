# SPDX-License-Identifier: GPL-2.0-or-later
# TAP helpers for the CLI tests (sourced).  Each check prints "ok N - name"
# or "not ok N - name" plus diagnostics; tap_done prints the plan and sets
# the exit status.  $PRLDCTL is the tool under test (set by make).
set -u
: "${PRLDCTL:?PRLDCTL must point at the prldctl binary}"
TAP_N=0
TAP_FAILED=0
WORK=$(mktemp -d /tmp/prld-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

ok() {	# ok CONDITION-STATUS NAME
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $2"
	else
		echo "not ok $TAP_N - $2"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

is() {	# is GOT WANT NAME
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		echo "#   got '$1', want '$2'"
	fi
}

like() {	# like TEXT SUBSTRING NAME
	case "$1" in
	*"$2"*) ok 0 "$3" ;;
	*) ok 1 "$3"; echo "#   '$1' lacks '$2'" | head -c 2000; echo ;;
	esac
}

# run CMD...: sets $RC, $OUT (stdout), $ERR (stderr).
run() {
	"$@" >"$WORK/.out" 2>"$WORK/.err"
	RC=$?
	OUT=$(cat "$WORK/.out")
	ERR=$(cat "$WORK/.err")
}

# Little-endian u32/u64 at a byte offset of a file.
le32() { od -An -tu4 -j "$2" -N4 --endian=little "$1" | tr -d ' '; }
le64() { od -An -tu8 -j "$2" -N8 --endian=little "$1" | tr -d ' '; }

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ] || echo "# $TAP_FAILED of $TAP_N failed"
	[ "$TAP_FAILED" -eq 0 ]
}
