#!/bin/bash
# The context the driver does its file I/O in (driver review M4, L3, L11):
#  - a frozen backing filesystem (fsfreeze, as for an LVM snapshot) makes
#    writes wait, async and allocating ones alike, and they complete after
#    the thaw; before, they went on into the frozen filesystem and ext4
#    warned about a journal start on it;
#  - the issuer's block cgroup follows the I/O to the backing disk, so its
#    io.max limits writes to /dev/prldN as it limits writes to any disk;
#  - the queue says it is rotational exactly when the backing disk is.
. "$(dirname "$0")/lib.sh"

MB=1048576
backing=$(findmnt -no SOURCE "$SCRATCH")
bname=$(basename "$(readlink -f "$backing")")

"$PRLDCTL" create -s 64M "$S/fz"
dev=$(attach --direct-io on "$S/fz")
is "$(cat /sys/block/${dev#/dev/}/queue/rotational)" \
	"$(cat /sys/block/$bname/queue/rotational)" "rotational as the backing disk"

# --- fsfreeze of the backing filesystem -----------------------------------
truncate -s 64M "$WORK/ref"
head -c 4096 /dev/urandom > "$WORK/a"
put 0 "$WORK/a"
run fsfreeze -f "$SCRATCH"
is "$RC" 0 "the backing filesystem is frozen"
# Into the allocated cluster's unwritten part (async direct I/O) and into
# a new cluster (the synchronous, allocating path).
dd if="$WORK/a" of="$dev" bs=4k seek=16 oflag=direct status=none & w1=$!
dd if="$WORK/a" of="$dev" bs=4k seek=$((5 * 256)) oflag=direct status=none & w2=$!
sleep 3
kill -0 $w1 2>/dev/null
ok $? "a write into an allocated cluster waits while frozen"
kill -0 $w2 2>/dev/null
ok $? "an allocating write waits while frozen"
fsfreeze -u "$SCRATCH"
wait $w1
is $? 0 "the first completes after the thaw"
wait $w2
is $? 0 "the second too"
dd if="$WORK/a" of="$WORK/ref" bs=4k seek=16 conv=notrunc status=none
dd if="$WORK/a" of="$WORK/ref" bs=4k seek=$((5 * 256)) conv=notrunc status=none
devcmp "$dev" "$WORK/ref"
ok $? "every byte as written"
"$PRLDCTL" close "$dev"
run qemu-img check -f parallels "$S/fz/root.hds"
is "$RC" 0 "qemu-img check clean"

# --- io.max of the issuer's cgroup ----------------------------------------
cg=/sys/fs/cgroup
mountpoint -q $cg || mount -t cgroup2 none $cg
echo +io > $cg/cgroup.subtree_control 2>/dev/null
mkdir -p $cg/prld-slow
if [ ! -e $cg/prld-slow/io.max ]; then
	# The debug kernel is built without CONFIG_BLK_DEV_THROTTLING.
	ok 0 "# SKIP $(uname -r) has no io.max (no blk-throttle)"
else
	"$PRLDCTL" create -s 64M "$S/cg"
	dev=$(attach --direct-io on "$S/cg")
	# Allocated first, so the timed writes are plain async direct I/O.
	dd if=/dev/zero of="$dev" bs=1M count=8 oflag=direct status=none
	echo "$(cat /sys/block/$bname/dev) wbps=$((1 * MB))" > $cg/prld-slow/io.max
	t0=$(date +%s%N)
	dd if=/dev/urandom of="$dev" bs=1M count=4 oflag=direct status=none
	fast=$(( ($(date +%s%N) - t0) / 1000000 ))
	t0=$(date +%s%N)
	bash -c "echo \$\$ > $cg/prld-slow/cgroup.procs &&
		exec dd if=/dev/urandom of=$dev bs=1M count=4 oflag=direct status=none"
	is $? 0 "a write from a cgroup with io.max 1 MB/s on the backing disk"
	slow=$(( ($(date +%s%N) - t0) / 1000000 ))
	ok $((slow >= 2500 && slow > 2 * fast ? 0 : 1)) \
		"is throttled: 4 MiB took $slow ms, outside the cgroup $fast ms"
	"$PRLDCTL" close "$dev"
fi
rmdir $cg/prld-slow

tap_done
