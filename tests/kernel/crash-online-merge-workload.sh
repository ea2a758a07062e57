#!/bin/bash
# Boot 1 of the online-merge power-cut test: random direct writes with FUA
# and flushes to an attached disk (build/durable logs what is durable to
# the 9p share) while snapshots are taken and deleted on the device, an
# inner one (merged up into its lower child) and the top's parent (merged
# up into the top by the driver) by turns, so the cut lands before, inside
# or after a copy, a drop or a descriptor switch.  Prints "PRLD-VM: ARMED"
# when the set-up is durable; runs until QEMU is killed.
set -eu
cd "$(dirname "$0")/../.."
: "${PRLD_KO:?}" "${PRLD_VM_SCRATCH:?}" "${PRLD_VM_WORK:?}"
PRLDCTL=$PWD/userspace/prldctl DURABLE=$PWD/build/durable
seed=${PRLD_CRASH_SEED:-1}
W=$PRLD_VM_WORK

. tests/kernel/crash-lib.sh
crash_fresh_scratch
"$PRLDCTL" create -s 64M --cluster-size 256K /mnt/s/om > /dev/null
dev=$("$PRLDCTL" open /mnt/s/om)
sync
rm -f "$W/dev.log" "$W/ops.log"

echo "PRLD-VM: ARMED (seed $seed)"
"$DURABLE" dev "$dev" "$W/dev.log" "$seed" &
# ops.log: "snap G" once snapshot G is durable, "deleted G" once its
# delete returned (descriptor switched, file and journal gone).
{
	set -e
	a=$("$PRLDCTL" snapshot "$dev"); echo "snap $a" >> "$W/ops.log"
	# Short pauses: the cut should find a merge as often as not.
	while :; do
		sleep 0.2
		b=$("$PRLDCTL" snapshot "$dev"); echo "snap $b" >> "$W/ops.log"
		"$PRLDCTL" delete-snapshot --json "$a" "$dev" > /dev/null	# inner
		echo "deleted $a" >> "$W/ops.log"
		sleep 0.2
		a=$("$PRLDCTL" snapshot "$dev"); echo "snap $a" >> "$W/ops.log"
		"$PRLDCTL" delete-snapshot --json "$b" "$dev" > /dev/null	# the top's parent
		echo "deleted $b" >> "$W/ops.log"
		sync "$W/ops.log"
	done
} &
wait -n
echo "crash-online-merge-workload: the writer or the merges stopped before the cut" >&2
exit 1
