#!/bin/bash
# Boot 2 of the merge power-cut test: check names an unfinished merge or
# nothing worse, check --repair finishes it and leaves everything clean,
# the disk reads exactly the checksum logged before the merges began, and
# QEMU reads the remaining chain the same way.  TAP output.
cd "$(dirname "$0")/../.."
export PRLDCTL=$PWD/userspace/prldctl
. tests/cli/tap.sh
. tests/cli/chain.sh
: "${PRLD_VM_SCRATCH:?}" "${PRLD_VM_WORK:?}"
W=$PRLD_VM_WORK
d=/mnt/s/m

mkdir -p /mnt/s
mount "$PRLD_VM_SCRATCH" /mnt/s
ok $? "the scratch filesystem mounts"
echo "# $(wc -l < "$W/merged.log" 2>/dev/null || echo 0) merges completed before the cut"
run "$PRLDCTL" check --repair "$d"
ok $((RC != 0 && RC != 3)) "prldctl check --repair finishes or rolls back (exit $RC)"
[ "$RC" = 0 ] || [ "$RC" = 3 ] || echo "$OUT$ERR" | sed 's/^/#   /'
run "$PRLDCTL" check "$d"
is "$RC" 0 "then prldctl check is clean"
ok $([ ! -e "$d/DiskDescriptor.xml.merge" ]; echo $?) "no merge journal left"
is "$("$PRLDCTL" read "$d" | md5sum)" "$(cat "$W/ref.md5")" "the disk holds exactly what it held before the merges"
n=$(chain_files "$d" | wc -l)
judge "after the cut" "$d" "$n"
if [ "${PRLD_CRASH_SELFTEST:-0}" = 1 ]; then
	top=$(chain_files "$d" | head -1)
	printf 'X' | dd of="$top" bs=1 seek=$(( $(stat -c %s "$top") - 1 )) conv=notrunc status=none
	isnt_same=$("$PRLDCTL" read "$d" | md5sum)
	ok $([ "$isnt_same" != "$(cat "$W/ref.md5")" ]; echo $?) "selftest: a flipped data byte changes the checksum"
fi
umount /mnt/s
tap_done
