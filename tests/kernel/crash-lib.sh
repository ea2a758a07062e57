#!/bin/bash
# What the power-cut scripts of a device written by build/durable share
# (tests/kernel/crash-*-workload.sh and crash-*-check.sh), sourced from
# the top of the tree in the guest.

# Boot 1: a fresh ext4 on the scratch disk at /mnt/s, the module loaded.
crash_fresh_scratch() {
	mkfs.ext4 -q -F "$PRLD_VM_SCRATCH"
	mkdir -p /mnt/s
	mount "$PRLD_VM_SCRATCH" /mnt/s
	insmod "$PRLD_KO"
}

# Boot 2, the end (TAP, after tests/cli/tap.sh): disk $1 attaches, every
# write $DURABLE logged as durable in $2 is on it (with
# PRLD_CRASH_SELFTEST=1, one undone write must then be noticed: proof
# that the check can fail), it detaches, the module and scratch go.
crash_durable_end() {
	local dev

	dev=$("$PRLDCTL" open "$1")
	ok $? "the disk attaches"
	run "$DURABLE" check-dev "$dev" "$2"
	is "$RC" 0 "every durable direct write is there"
	echo "$OUT" | sed 's/^/#   /'
	if [ "${PRLD_CRASH_SELFTEST:-0}" = 1 ]; then
		"$DURABLE" damage-dev "$dev" "$2" | sed 's/^/# /'
		run "$DURABLE" check-dev "$dev" "$2"
		is "$RC" 1 "selftest: check-dev notices an undone durable write"
	fi
	"$PRLDCTL" close "$dev"
	ok $? "the disk detaches"
	rmmod prld
	umount /mnt/s
	tap_done
}
