#!/bin/bash
# Boot 2 of the snapshot power-cut test: the descriptor opens, its chain
# checks clean but for the in-use flag and leaks, repairs to clean, QEMU
# reads the chain as prldctl does, and every write build/durable called
# durable is on the device: whatever step of a snapshot the cut hit, no
# acknowledged write is lost.  TAP output.
cd "$(dirname "$0")/../.."
export PRLDCTL=$PWD/userspace/prldctl
. tests/cli/tap.sh
. tests/cli/chain.sh
. tests/kernel/crash-lib.sh
: "${PRLD_KO:?}" "${PRLD_VM_SCRATCH:?}" "${PRLD_VM_WORK:?}"
DURABLE=$PWD/build/durable
W=$PRLD_VM_WORK
d=/mnt/s/snap

mkdir -p /mnt/s
mount "$PRLD_VM_SCRATCH" /mnt/s
ok $? "the scratch filesystem mounts"
insmod "$PRLD_KO"
echo "# $(wc -l < "$W/snaps.log") snapshots completed before the cut; chain of $(chain_files "$d" | wc -l)"
run "$PRLDCTL" check --json "$d"
bad=$(jq -r '.findings[] | select(.severity == "corrupt") | .message' <<< "$OUT" |
	grep -v '^in-use flag set' || true)
is "$bad" "" "prldctl check finds nothing but in-use flags and leaks"
run "$PRLDCTL" check --repair "$d"
ok $((RC != 0 && RC != 3)) "prldctl check --repair (exit $RC)"
judge "after the cut" "$d" "$(chain_files "$d" | wc -l)"
while read -r g; do
	grep -q "$g" "$d/DiskDescriptor.xml"
	ok $? "completed snapshot $g is in the descriptor"
done < "$W/snaps.log"
crash_durable_end "$d" "$W/dev.log"
