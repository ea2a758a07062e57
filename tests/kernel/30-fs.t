#!/bin/bash
# Filesystems on the device: ext4 and xfs round-trip a file tree across a
# detach, fsck clean; partitions appear and mount.
. "$(dirname "$0")/lib.sh"

# A tree of files with varied sizes, some sparse.
mkdir -p "$WORK/tree/a/b" "$WORK/tree/c"
for i in $(seq 40); do
	head -c $(( (i * 7919) % 300000 + 1 )) /dev/urandom > "$WORK/tree/a/f$i"
done
head -c 2M /dev/urandom > "$WORK/tree/a/b/big"
truncate -s 50M "$WORK/tree/c/sparse"
echo hello > "$WORK/tree/c/small"
mkdir -p /mnt/prld

fs_roundtrip() {	# FS SIZE MKFS-COMMAND...
	local fs=$1 size=$2 dev; shift 2
	"$PRLDCTL" create -s "$size" "$S/$fs"
	dev=$(attach "$S/$fs")
	"$@" "$dev" > /dev/null 2>&1
	ok $? "$fs: mkfs on the device"
	mount "$dev" /mnt/prld && cp -a "$WORK/tree" /mnt/prld/ && umount /mnt/prld
	ok $? "$fs: mount, copy a tree, umount"
	"$PRLDCTL" close "$dev"
	run qemu-img check -f parallels "$S/$fs/root.hds"
	is "$RC" 0 "$fs: image checks clean after detach"
	dev=$(attach "$S/$fs")
	case $fs in
	ext4) run e2fsck -fn "$dev" ;;
	xfs) run xfs_repair -n "$dev" ;;
	esac
	is "$RC" 0 "$fs: fsck clean after re-attach"
	mount "$dev" /mnt/prld && diff -r "$WORK/tree" /mnt/prld/tree
	ok $? "$fs: tree identical after re-attach"
	umount /mnt/prld
	"$PRLDCTL" close "$dev"
}

# xfsprogs refuses filesystems under 300 MB.
fs_roundtrip ext4 128M mkfs.ext4 -q -F
fs_roundtrip xfs 320M mkfs.xfs -q -f

# Partitions: scanned at attach, usable, gone at detach.
"$PRLDCTL" create -s 256M "$S/parts"
dev=$(attach "$S/parts")
printf 'label: dos\n,100M,L\n,,L\n' | sfdisk -q "$dev"
ok $? "sfdisk writes two partitions"
"$PRLDCTL" close "$dev"
dev=$(attach "$S/parts")
udevadm settle 2>/dev/null
for i in $(seq 50); do [ -b "${dev}p2" ] && break; sleep 0.1; done
[ -b "${dev}p1" ] && [ -b "${dev}p2" ]
ok $? "both partitions appear at attach"
mkfs.ext4 -q -F "${dev}p2" && mount "${dev}p2" /mnt/prld &&
	echo second > /mnt/prld/x && umount /mnt/prld
ok $? "second partition takes a filesystem"
is "$(blockdev --getsize64 "${dev}p2")" $((155 << 20)) "second partition size"
"$PRLDCTL" close "$dev"
[ ! -b "${dev}p2" ]
ok $? "partitions removed at detach"
dev=$(attach "$S/parts")
for i in $(seq 50); do [ -b "${dev}p2" ] && break; sleep 0.1; done
mount -o ro "${dev}p2" /mnt/prld && [ "$(cat /mnt/prld/x)" = second ]
ok $? "partition data survives detach and re-attach"
umount /mnt/prld
"$PRLDCTL" close "$dev"

tap_done
