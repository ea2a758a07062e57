#!/bin/bash
# The driver's own fault points (prld_fault.c, debug kernel only): a BAT
# write that fails during allocation and discard, a flush that fails.
# Each failed request must report an error, the device must keep working,
# and after detach the image must check clean or with leaks only (qemu-img
# check exit 0 or 3), never corrupt.  The fault counters prove each fault
# really fired.
. "$(dirname "$0")/../kernel/lib.sh"
F=/sys/kernel/debug/prld
MB=1048576

# arm NAME TIMES: fail the next TIMES calls of fault point NAME.
arm() {
	echo 1 >"$F/$1/verbose"	# one log line per fault, no stack dump
	echo 100 >"$F/$1/probability"
	echo "$2" >"$F/$1/times"
}
fired() { [ "$(cat "$F/$1/times")" = 0 ]; }
# image_ok DIR NAME: qemu-img check exit 0 (clean) or 3 (leaks only).
image_ok() {
	run qemu-img check -f parallels "$1/root.hds"
	ok $((RC != 0 && RC != 3)) "$2: qemu-img check $RC (0 or 3)"
	run "$PRLDCTL" check "$1"
	ok $((RC != 0 && RC != 3)) "$2: prldctl check $RC (0 or 3)"
}

[ -d "$F/fail_bat_write" ] && [ -d "$F/fail_flush" ]
ok $? "module built with its fault points ($F)"

# --- A BAT write fails while a write allocates a cluster. ---
"$PRLDCTL" create -s 64M "$S/a" >/dev/null
dev=$(attach "$S/a")
head -c 64K /dev/urandom >"$WORK/p"
arm fail_bat_write 1
run dd if="$WORK/p" of="$dev" bs=64K seek=16 oflag=direct status=none
ok $((RC == 0)) "write needing a new cluster fails when its BAT write fails"
fired fail_bat_write
ok $? "the BAT-write fault fired"
is "$("$PRLDCTL" info --json "$dev" | jq .allocated_clusters)" 0 \
	"nothing was mapped"
cmp -s <(dd if="$dev" bs=64K skip=16 count=1 iflag=direct status=none) \
	<(head -c 64K /dev/zero)
ok $? "the cluster still reads as zeros"
run dd if="$WORK/p" of="$dev" bs=64K seek=16 oflag=direct status=none
is "$RC" 0 "the same write succeeds once the fault is gone"
cmp -s <(dd if="$dev" bs=64K skip=16 count=1 iflag=direct status=none) "$WORK/p"
ok $? "and reads back"
"$PRLDCTL" close "$dev"
image_ok "$S/a" "after a failed BAT write"
"$PRLDCTL" read --offset $((16 * 64 * 1024)) --length 64K "$S/a" | cmp -s - "$WORK/p"
ok $? "the data is in the image after detach"

# --- A BAT write fails while a discard unmaps a whole cluster. ---
dev=$(attach "$S/a")
arm fail_bat_write 1
run blkdiscard -o $((1 * MB)) -l $MB "$dev"
ok $((RC == 0)) "discard of a whole mapped cluster fails when its BAT write fails"
fired fail_bat_write
ok $? "the BAT-write fault fired"
cmp -s <(dd if="$dev" bs=64K skip=16 count=1 iflag=direct status=none) "$WORK/p"
ok $? "the cluster keeps its data"
"$PRLDCTL" close "$dev"
image_ok "$S/a" "after a failed discard"

# --- A flush fails: PRLD_FLUSH and a REQ_OP_FLUSH from fsync. ---
dev=$(attach "$S/a")
arm fail_flush 1
run "$PRLDCTL" flush "$dev"
ok $((RC == 0)) "prldctl flush fails when the flush fails"
fired fail_flush
ok $? "the flush fault fired"
run "$PRLDCTL" flush "$dev"
is "$RC" 0 "the next flush succeeds"
dd if="$WORK/p" of="$dev" bs=64K seek=40 oflag=direct status=none
arm fail_flush 1
run dd if="$WORK/p" of="$dev" bs=64K seek=41 conv=fsync status=none
ok $((RC == 0)) "fsync of the device fails when the flush fails"
fired fail_flush
ok $? "the flush fault fired"
"$PRLDCTL" close "$dev"
is "$(le32 "$S/a/root.hds" 44)" 0 "detach after failed flushes still closes the image cleanly"
image_ok "$S/a" "after failed flushes"

# --- Many allocations, a random tenth of their BAT writes failing. ---
dev=$(attach "$S/a")
echo 1 >"$F/fail_bat_write/verbose"
echo 10 >"$F/fail_bat_write/probability"
echo 1000000 >"$F/fail_bat_write/times"
failed=0
for i in $(seq 0 47); do
	dd if="$WORK/p" of="$dev" bs=64K seek=$((i * 16 + 8)) oflag=direct \
		status=none 2>/dev/null || failed=$((failed + 1))
done
echo 0 >"$F/fail_bat_write/probability"
echo "# failed writes: $failed of 48"
bad=0
for i in $(seq 0 47); do
	got=$(dd if="$dev" bs=64K skip=$((i * 16 + 8)) count=1 iflag=direct status=none | sha256sum)
	[ "$got" = "$(sha256sum <"$WORK/p")" ] ||
		[ "$got" = "$(head -c 64K /dev/zero | sha256sum)" ] || bad=$((bad + 1))
done
is "$bad" 0 "every cluster holds either the data or zeros"
"$PRLDCTL" close "$dev"
image_ok "$S/a" "after random BAT-write failures"
tap_done
