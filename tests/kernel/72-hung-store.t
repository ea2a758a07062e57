#!/bin/bash
# One device whose backing store hangs must not stall the others, nor
# /dev/prld-control, and waits for it must be killable (driver review
# M5: a global mutex was held across image I/O).  Device A's image lives
# on a filesystem that is frozen while a snapshot of A is switching its
# top: the switch waits, holding A.  Meanwhile another disk attaches and
# detaches, the control device answers, and a status query of A that
# waits for A dies at SIGKILL.  After the thaw A's snapshot completes.
. "$(dirname "$0")/lib.sh"

MB=1048576
# wait_gone PID SECONDS: 0 once PID has exited, within the time.
wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

mkdir -p /mnt/store
"$PRLDCTL" create -s 128M "$S/store"
store=$(attach "$S/store")
mkfs.ext4 -q -F "$store" && mount "$store" /mnt/store
"$PRLDCTL" create -s 32M /mnt/store/a
a=$(attach /mnt/store/a)
head -c 2M /dev/urandom > "$WORK/a"
dd if="$WORK/a" of="$a" bs=1M oflag=direct conv=fsync status=none
"$PRLDCTL" create --image -s 32M "$S/a-new.hds"
"$PRLDCTL" create -s 16M "$S/b"

fsfreeze -f /mnt/store
"$RAWATTACH" --push-to "$a" "$S/a-new.hds" > "$WORK/push" 2>&1 & push=$!
sleep 1
kill -0 $push 2>/dev/null
ok $? "the snapshot of A waits for its frozen filesystem"
"$PRLDCTL" open "$S/b" > "$WORK/b" 2> "$WORK/b.err" & opener=$!
wait_gone $opener 10
ok $? "another disk attaches meanwhile"
b=$(cat "$WORK/b") && DEVS+=("$b")
"$RAWIOCTL" ctl-get-free > /dev/null 2>&1 & ctl=$!
wait_gone $ctl 10
ok $? "the control device answers meanwhile"
"$PRLDCTL" info "$a" > /dev/null 2>&1 & query=$!
sleep 1
kill -9 $query
wait_gone $query 3
ok $? "a query waiting for A dies at SIGKILL"
if [ -n "$b" ]; then
	"$PRLDCTL" close "$b" & closer=$!
	wait_gone $closer 10
	ok $? "and the other disk detaches meanwhile"
fi
fsfreeze -u /mnt/store
wait $push
is $? 0 "after the thaw the snapshot of A completes"
is "$("$PRLDCTL" info --json "$a" | jq '.layers | length')" 2 "A has its new top"
cmp -s <(dd if="$a" bs=1M count=2 iflag=direct status=none) "$WORK/a"
ok $? "and its data"
"$PRLDCTL" close "$a"
umount /mnt/store
"$PRLDCTL" close "$store"
is "$("$PRLDCTL" list | wc -l)" 0 "everything detached"

tap_done
