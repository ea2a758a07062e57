#!/bin/bash
# Boot 1 of the merge power-cut test: a chain of eight layers, each with
# fresh data, is built and its contents' checksum logged to the 9p share;
# then snapshots are deleted one after another from the root up, each
# merging its child's clusters into it.  A merge never changes what the
# disk (or any remaining snapshot) holds, so whatever the cut interrupts,
# the next open must finish or roll back to the same bytes.  No driver:
# merges are offline.  Prints "PRLD-VM: ARMED" once the chain is durable.
set -eu
cd "$(dirname "$0")/../.."
: "${PRLD_VM_SCRATCH:?}" "${PRLD_VM_WORK:?}"
PRLDCTL=$PWD/userspace/prldctl
seed=${PRLD_CRASH_SEED:-1}
W=$PRLD_VM_WORK
d=/mnt/s/m

mkfs.ext4 -q -F "$PRLD_VM_SCRATCH"
mkdir -p /mnt/s
mount "$PRLD_VM_SCRATCH" /mnt/s
"$PRLDCTL" create -s 256M --cluster-size 256K "$d" > /dev/null
RANDOM=$seed
for layer in 1 2 3 4 5 6 7 8; do
	for n in 1 2 3 4; do
		head -c 2M /dev/urandom |
			"$PRLDCTL" write --offset $(( (RANDOM % 250) * 1048576 + RANDOM % 4096 )) "$d"
	done
	[ $layer = 8 ] || "$PRLDCTL" snapshot "$d" > /dev/null
done
"$PRLDCTL" read "$d" | md5sum > "$W/ref.md5"
sync
rm -f "$W/merged.log"

echo "PRLD-VM: ARMED (seed $seed)"
while :; do
	root=$("$PRLDCTL" snapshots --json "$d" | jq -r '[.[] | select(.top | not)][0].guid // empty')
	[ -n "$root" ] || break
	"$PRLDCTL" delete-snapshot "$root" "$d" > /dev/null
	echo "$root" >> "$W/merged.log"
done
echo "crash-merge-workload: every merge done before the cut" >&2
sleep 1000
