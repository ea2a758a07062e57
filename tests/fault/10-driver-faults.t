#!/bin/bash
# The driver's own fault points (prld_fault.c, debug kernel only): the
# BAT writeback of a flush failing after an allocation and after a
# discard, at detach, and at random under many allocations; a flush that
# fails.  New clusters' BAT entries reach the file at the next flush
# (prld_alloc.c), so a failed BAT write fails that flush: it must report
# the error, keep the entry for the next flush, keep the device working;
# after detach the image must check clean or with leaks only (qemu-img
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

# bat_entry DIR CLUSTER: the image's BAT entry as the file holds it now.
bat_entry() { le32 "$1/root.hds" $((64 + 4 * $2)); }

# --- The BAT write of a new cluster fails at the flush. ---
"$PRLDCTL" create -s 64M "$S/a" >/dev/null
dev=$(attach "$S/a")
head -c 64K /dev/urandom >"$WORK/p"
dd if="$WORK/p" of="$dev" bs=64K seek=16 oflag=direct status=none
ok $? "a write into a new cluster (cluster 1) succeeds"
is "$("$PRLDCTL" info --json "$dev" | jq .allocated_clusters)" 1 "the map has it"
is "$(bat_entry "$S/a" 1)" 0 "its BAT entry waits for the flush"
arm fail_bat_write 1
run "$PRLDCTL" flush "$dev"
ok $((RC == 0)) "the flush fails when its BAT write fails"
fired fail_bat_write
ok $? "the BAT-write fault fired"
is "$(bat_entry "$S/a" 1)" 0 "nothing was written"
cmp -s <(dd if="$dev" bs=64K skip=16 count=1 iflag=direct status=none) "$WORK/p"
ok $? "the device still reads the data"
run "$PRLDCTL" flush "$dev"
is "$RC" 0 "the next flush succeeds"
ok $(( $(bat_entry "$S/a" 1) == 0 )) "and writes the entry it kept"
"$PRLDCTL" close "$dev"
image_ok "$S/a" "after a failed BAT write"
"$PRLDCTL" read --offset $((16 * 64 * 1024)) --length 64K "$S/a" | cmp -s - "$WORK/p"
ok $? "the data is in the image after detach"

# --- The BAT write of a discard fails at the flush. ---
dev=$(attach "$S/a")
run blkdiscard -o $((1 * MB)) -l $MB "$dev"
is "$RC" 0 "discard of a whole mapped cluster"
cmp -s <(dd if="$dev" bs=64K skip=16 count=1 iflag=direct status=none) \
	<(head -c 64K /dev/zero)
ok $? "the cluster reads as zeros"
arm fail_bat_write 1
run "$PRLDCTL" flush "$dev"
ok $((RC == 0)) "the flush fails when its BAT write fails"
fired fail_bat_write
ok $? "the BAT-write fault fired"
ok $(( $(bat_entry "$S/a" 1) == 0 )) "the old entry stays in the file meanwhile"
run "$PRLDCTL" flush "$dev"
is "$RC" 0 "the next flush succeeds"
is "$(bat_entry "$S/a" 1)" 0 "and clears the entry"
"$PRLDCTL" close "$dev"
image_ok "$S/a" "after a failed discard writeback"

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

# --- The BAT write fails at detach: the image stays marked in use. ---
"$PRLDCTL" create -s 64M "$S/b" >/dev/null
dev=$(attach "$S/b")
dd if="$WORK/p" of="$dev" bs=64K seek=0 oflag=direct conv=fsync status=none
ok $? "a flushed write into cluster 0"
dd if="$WORK/p" of="$dev" bs=64K seek=32 oflag=direct status=none
ok $? "an unflushed write into cluster 2"
arm fail_bat_write 1
run "$PRLDCTL" close "$dev"
fired fail_bat_write
ok $? "the BAT-write fault fired at detach"
is "$("$PRLDCTL" list | wc -l)" 0 "the device is detached all the same"
is "$(le32 "$S/b/root.hds" 44)" $((0x746F6E59)) "the image keeps its in-use flag"
run "$PRLDCTL" check --repair "$S/b"
ok $((RC != 0 && RC != 3)) "check --repair clears it ($RC)"
image_ok "$S/b" "after a failed writeback at detach"
"$PRLDCTL" read --length 64K "$S/b" | cmp -s - "$WORK/p"
ok $? "the flushed write survived"

# --- Many allocations and flushes, a random tenth of BAT writes failing. ---
want=$(sha256sum <"$WORK/p")	# once: each exec is slow under KASAN
dev=$(attach "$S/a")
echo 1 >"$F/fail_bat_write/verbose"
echo 10 >"$F/fail_bat_write/probability"
echo 1000000 >"$F/fail_bat_write/times"
failed=0
for i in $(seq 0 47); do
	dd if="$WORK/p" of="$dev" bs=64K seek=$((i * 16 + 8)) oflag=direct \
		conv=fsync status=none 2>/dev/null || failed=$((failed + 1))
done
echo 0 >"$F/fail_bat_write/probability"
echo "# writes whose fsync failed: $failed of 48"
run "$PRLDCTL" flush "$dev"
is "$RC" 0 "a flush without faults succeeds"
bad=0
for i in $(seq 0 47); do
	got=$(dd if="$dev" bs=64K skip=$((i * 16 + 8)) count=1 iflag=direct status=none | sha256sum)
	[ "$got" = "$want" ] || bad=$((bad + 1))
done
is "$bad" 0 "every cluster holds its data"
"$PRLDCTL" close "$dev"
image_ok "$S/a" "after random BAT-write failures"
bad=0
for i in $(seq 0 47); do
	got=$("$PRLDCTL" read --offset $(( (i * 16 + 8) * 65536 )) --length 64K "$S/a" | sha256sum)
	[ "$got" = "$want" ] || bad=$((bad + 1))
done
is "$bad" 0 "and so does the image after detach"
tap_done
