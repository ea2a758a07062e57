#!/bin/bash
# Boot 1 of the snapshot power-cut test: random direct writes with FUA and
# flushes to an attached disk (build/durable logs what is durable to the
# 9p share) while snapshots of the device are taken one after another, so
# the cut lands before, inside or after a switch to a new delta.  Prints
# "PRLD-VM: ARMED" when the set-up is durable; runs until QEMU is killed.
set -eu
cd "$(dirname "$0")/../.."
: "${PRLD_KO:?}" "${PRLD_VM_SCRATCH:?}" "${PRLD_VM_WORK:?}"
PRLDCTL=$PWD/userspace/prldctl DURABLE=$PWD/build/durable
seed=${PRLD_CRASH_SEED:-1}
W=$PRLD_VM_WORK

. tests/kernel/crash-lib.sh
crash_fresh_scratch
"$PRLDCTL" create -s 64M --cluster-size 64K /mnt/s/snap > /dev/null
dev=$("$PRLDCTL" open /mnt/s/snap)
sync
rm -f "$W/dev.log" "$W/snaps.log"

echo "PRLD-VM: ARMED (seed $seed)"
"$DURABLE" dev "$dev" "$W/dev.log" "$seed" &
while "$PRLDCTL" snapshot "$dev" >> "$W/snaps.log"; do
	sleep 0.2
done &
wait -n
echo "crash-snapshot-workload: the writer or the snapshots stopped before the cut" >&2
exit 1
