#!/bin/bash
# DISCARD, WRITE_ZEROES and FLUSH through the device: whole clusters of a
# one-layer disk are unmapped (BAT entry cleared, space punched), partial
# ranges read back as zeros, and the image stays clean for both checkers.
. "$(dirname "$0")/lib.sh"

MB=1048576
"$PRLDCTL" create -s 64M "$S/d"
dev=$(attach "$S/d")
head -c 8M /dev/urandom > "$WORK/data"
truncate -s 64M "$WORK/ref"
dd if="$WORK/data" of="$WORK/ref" conv=notrunc status=none
dd if="$WORK/data" of="$dev" bs=1M oflag=direct status=none
# zero_ref OFFSET LENGTH: the same zeros in the raw reference.
zero_ref() { head -c "$2" /dev/zero |
	dd of="$WORK/ref" bs=64k seek="$1" oflag=seek_bytes conv=notrunc status=none; }
clusters() { "$PRLDCTL" map "$dev" | sed -n 's/^clusters: *//p'; }
is "$(clusters)" "0-7" "8 clusters written"

run blkdiscard -o $((2 * MB)) -l $((3 * MB)) "$dev"
is "$RC" 0 "discard of three whole clusters"
zero_ref $((2 * MB)) $((3 * MB))
is "$(clusters)" "0-1,5-7" "they are unmapped in the kernel's map"
devcmp "$dev" "$WORK/ref"
ok $? "discarded range reads as zeros, the rest is intact"

run blkdiscard -o $((6 * MB + 4096)) -l 8192 "$dev"
is "$RC" 0 "discard of 8 KiB inside a cluster"
zero_ref $((6 * MB + 4096)) 8192
is "$(clusters)" "0-1,5-7" "a partial discard keeps the cluster"
devcmp "$dev" "$WORK/ref"
ok $? "partial discard reads as zeros, the cluster's other bytes intact"

# BLKZEROOUT asks for no unmapping: zeros, the cluster stays allocated.
run blkdiscard -z -o $((5 * MB)) -l $MB "$dev"
is "$RC" 0 "write-zeroes of a whole cluster"
zero_ref $((5 * MB)) $MB
is "$(clusters)" "0-1,5-7" "write-zeroes (no unmap) keeps the cluster"
devcmp "$dev" "$WORK/ref"
ok $? "and it reads as zeros"

# The last cluster: detach must not leave a tail qemu calls a leak.
run blkdiscard -o $((7 * MB)) -l $MB "$dev"
zero_ref $((7 * MB)) $MB
is "$(clusters)" "0-1,5-6" "the last cluster discarded"
run "$PRLDCTL" flush "$dev"
is "$RC" 0 "prldctl flush"
"$PRLDCTL" close "$dev"
run "$PRLDCTL" flush "$dev"
ok $((RC == 0)) "flush of an unbound device fails"
run qemu-img check -f parallels "$S/d/root.hds"
is "$RC" 0 "qemu-img check exit 0 after discards"
run "$PRLDCTL" check "$S/d"
is "$RC" 0 "prldctl check exit 0 (discarded clusters are holes, no leak)"
like "$OUT" "discarded" "and it notes the discarded clusters"
run qemu-img compare -f parallels -F raw "$S/d/root.hds" "$WORK/ref"
is "$RC" 0 "qemu-img compare: identical to the reference"
# Cluster 6 sits in file slot 7, after the header cluster: file ends at 8M.
is "$(stat -c %s "$S/d/root.hds")" $((8 * MB)) "file ends after the last mapped cluster"
used=$(( $(stat -c %b "$S/d/root.hds") * 512 ))
ok $(( used <= 5 * MB + 65536 ? 0 : 1 )) "discarded clusters use no space ($used bytes allocated)"

# fstrim through a mounted filesystem.
"$PRLDCTL" create -s 128M "$S/fs"
dev=$(attach "$S/fs")
mkfs.ext4 -q -F "$dev" && mkdir -p /mnt/prld && mount "$dev" /mnt/prld
head -c 20M /dev/urandom > /mnt/prld/gone && head -c 1M /dev/urandom > "$WORK/keep"
cp "$WORK/keep" /mnt/prld/keep && sync && rm /mnt/prld/gone && sync
before=$(stat -c %b "$S/fs/root.hds")
run fstrim /mnt/prld
is "$RC" 0 "fstrim on ext4 over the device"
after=$(stat -c %b "$S/fs/root.hds")
ok $(( after < before ? 0 : 1 )) "fstrim frees space in the image ($before -> $after blocks)"
cmp -s /mnt/prld/keep "$WORK/keep"
ok $? "kept file intact"
umount /mnt/prld
"$PRLDCTL" close "$dev"
run qemu-img check -f parallels "$S/fs/root.hds"
is "$RC" 0 "qemu-img check exit 0 after fstrim"

# On a snapshotted disk, discards of what only the snapshot holds do
# nothing: fstrim and mkfs must leave the top delta small (driver review
# M2: each discarded base cluster was copied up and zeroed, the top grew
# by the size of the discarded range).
"$PRLDCTL" create -s 512M "$S/snap"
dev=$(attach "$S/snap")
is "$(cat /sys/block/${dev#/dev/}/queue/discard_granularity)" $MB \
	"discard granularity is the cluster"
mkfs.ext4 -q -F "$dev" && mount "$dev" /mnt/prld
head -c 160M /dev/urandom > /mnt/prld/big && sync
base=$("$PRLDCTL" info --json "$dev" | jq '.layers[0].allocated_clusters')
ok $((base >= 160 ? 0 : 1)) "the base holds the data ($base clusters)"
"$PRLDCTL" snapshot "$dev" > /dev/null
rm /mnt/prld/big && sync
run fstrim /mnt/prld
is "$RC" 0 "fstrim of the snapshotted disk"
umount /mnt/prld
# Clusters, not file size: the file has a 64 MiB preallocated tail.
topc() { "$PRLDCTL" info --json "$dev" | jq '.layers[1].allocated_clusters'; }
n=$(topc)
ok $((n <= 16 ? 0 : 1)) "the top stays small after fstrim ($n clusters)"
run mkfs.ext4 -q -F -E discard "$dev"
is "$RC" 0 "mkfs with a whole-device discard"
n=$(topc)
ok $((n <= 48 ? 0 : 1)) "the top holds mkfs's metadata only ($n clusters)"
mount "$dev" /mnt/prld && echo new > /mnt/prld/f && umount /mnt/prld
ok $? "the new filesystem works"
run blkdiscard -z -o 0 -l $((64 * MB)) "$dev"
is "$RC" 0 "write-zeroes of 64 MiB, most of it the base's"
cmp -s <(dd if="$dev" bs=1M count=64 iflag=direct status=none) <(head -c 64M /dev/zero)
ok $? "reads back as zeros"
"$PRLDCTL" close "$dev"
run "$PRLDCTL" check "$S/snap"
is "$RC" 0 "the chain is clean"
bad=0
for f in "$S"/snap/root.hds*; do qemu-img check -q -f parallels "$f" || bad=1; done
is "$bad" 0 "qemu-img check clean on both images"

tap_done
