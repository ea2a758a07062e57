#!/bin/bash
# Boot 2 of the online-merge power-cut test: check finds nothing worse
# than in-use flags, leaks and an unfinished merge; check --repair
# finishes the merge (offline now) and leaves the chain clean, QEMU reads
# it as prldctl does, no snapshot whose delete returned is back, and every
# write build/durable called durable is on the device: whatever step of
# an online merge the cut hit, no acknowledged write is lost.  TAP output.
cd "$(dirname "$0")/../.."
export PRLDCTL=$PWD/userspace/prldctl
. tests/cli/tap.sh
. tests/cli/chain.sh
. tests/kernel/crash-lib.sh
: "${PRLD_KO:?}" "${PRLD_VM_SCRATCH:?}" "${PRLD_VM_WORK:?}"
DURABLE=$PWD/build/durable
W=$PRLD_VM_WORK
d=/mnt/s/om

mkdir -p /mnt/s
mount "$PRLD_VM_SCRATCH" /mnt/s
ok $? "the scratch filesystem mounts"
insmod "$PRLD_KO"
echo "# $(grep -c '^deleted' "$W/ops.log") deletes and $(grep -c '^snap' "$W/ops.log") snapshots completed before the cut; chain of $(chain_files "$d" | wc -l)"
if [ -e "$d/DiskDescriptor.xml.merge" ]; then
	echo "#   cut-at: during a merge ($(sed -n 's/^op //p;s/^shot //p' "$d/DiskDescriptor.xml.merge" | tr '\n' ' '))"
else
	echo "#   cut-at: no merge journal on disk"
fi
run "$PRLDCTL" check --json "$d"
bad=$(jq -r '.findings[] | select(.severity == "corrupt") | .message' <<< "$OUT" |
	grep -v '^in-use flag set' | grep -v '^unfinished merge of snapshot' || true)
is "$bad" "" "prldctl check finds nothing but in-use flags, leaks and an unfinished merge"
run "$PRLDCTL" check --repair "$d"
ok $((RC != 0 && RC != 3)) "prldctl check --repair (exit $RC)"
[ "$RC" = 0 ] || [ "$RC" = 3 ] || echo "$OUT$ERR" | sed 's/^/#   /'
ok $([ ! -e "$d/DiskDescriptor.xml.merge" ]; echo $?) "no merge journal left"
judge "after the cut" "$d" "$(chain_files "$d" | wc -l)"
while read -r what g; do
	[ "$what" = deleted ] || continue
	is "$(xp "$d" "count(//Shot[GUID='$g'])")" 0 "deleted snapshot $g stays deleted"
done < "$W/ops.log"
crash_durable_end "$d" "$W/dev.log"
