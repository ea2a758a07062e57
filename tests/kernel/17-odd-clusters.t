#!/bin/bash
# Cluster sizes that are not a power of two (1536K, 2560K: prldctl create
# and qemu-img accept any multiple of 512) through the whole data path:
# copy-up of clusters a snapshot holds, allocation right after a copy-up,
# copy-up of the base file's last cluster.  Every byte is compared with a
# raw reference, through the device and offline, and both checkers pass.
# A copy-up that ran past its cluster (driver review H1) wrote the next
# lower cluster over the next new cluster's space, and failed with EIO on
# the file's last cluster.
. "$(dirname "$0")/lib.sh"

KB=1024
for cs in 1536 2560; do
	cb=$((cs * KB))
	d=$S/d$cs
	"$PRLDCTL" create -s $((20 * cb)) --cluster-size ${cs}K "$d"
	size=$("$PRLDCTL" info --json "$d" | jq .virtual_size)
	rm -f "$WORK/ref" && truncate -s "$size" "$WORK/ref"
	# Base: clusters 0-3 and 6-11 hold data, 4-5 and 12-19 do not;
	# cluster 11 is the last one in the base file.
	for c in 0 1 2 3 6 7 8 9 10 11; do
		head -c $cb /dev/urandom > "$WORK/c"
		"$PRLDCTL" write --offset $((c * cb)) "$d" < "$WORK/c"
		dd if="$WORK/c" of="$WORK/ref" bs=64k seek=$((c * cb)) oflag=seek_bytes \
			conv=notrunc status=none
	done
	dev=$(attach --direct-io off "$d")
	run "$PRLDCTL" snapshot "$dev"
	is "$RC" 0 "${cs}K: snapshot of the attached disk"
	head -c 4096 /dev/urandom > "$WORK/w"
	# A copy-up of cluster 0, then a new cluster that no layer holds: its
	# space comes right after cluster 0's copy and must read as zeros.
	put $((0 * cb + 8192)) "$WORK/w"
	ok $? "${cs}K: partial write into a cluster the base holds (copy-up)"
	put $((4 * cb + 4096)) "$WORK/w"
	ok $? "${cs}K: partial write into a cluster no layer holds"
	cmp <(dd if="$dev" bs=64k skip=$((4 * cb)) count=$((cb / 65536 + 1)) \
		iflag=skip_bytes,direct status=none) \
		<(dd if="$WORK/ref" bs=64k skip=$((4 * cb)) count=$((cb / 65536 + 1)) \
		iflag=skip_bytes status=none) | sed 's/^/# /'
	test "${PIPESTATUS[0]}" = 0
	ok $? "${cs}K: the new cluster holds its write and zeros, nothing copied"
	# The last cluster of the base file: a copy-up must not read past EOF.
	put $((11 * cb + cb - 4096)) "$WORK/w"
	ok $? "${cs}K: copy-up of the base file's last cluster"
	put $((7 * cb + cb / 2 - 100)) "$WORK/w"
	ok $? "${cs}K: unaligned write across the middle of a lower cluster"
	put $((13 * cb - 2048)) "$WORK/w"
	ok $? "${cs}K: write across two new clusters"
	cmp <(dd if="$dev" bs=1M iflag=direct status=none) "$WORK/ref" | sed 's/^/# /'
	ok "${PIPESTATUS[0]}" "${cs}K: every byte of the device equals the reference"
	"$PRLDCTL" close "$dev"
	"$PRLDCTL" read "$d" | cmp -s - "$WORK/ref"
	ok $? "${cs}K: offline read of the chain equals the reference"
	run "$PRLDCTL" check "$d"
	is "$RC" 0 "${cs}K: prldctl check clean"
	bad=0
	for f in "$d"/root.hds*; do
		qemu-img check -q -f parallels "$f" || bad=1
	done
	is "$bad" 0 "${cs}K: qemu-img check clean on every image"
	top=$(ls "$d"/root.hds.*)
	C="driver=parallels,file.driver=file,file.filename=$top"
	C="$C,backing.driver=parallels,backing.file.driver=file,backing.file.filename=$d/root.hds"
	qemu-img convert --image-opts "$C" -O raw "$WORK/q.raw"
	cmp -s "$WORK/q.raw" "$WORK/ref"
	ok $? "${cs}K: QEMU reading the chain agrees"
done

# An image QEMU made with 1536K clusters, written by QEMU, then by prld
# under fio's verifying random writes (direct I/O, async path).
qemu-img create -q -f parallels -o cluster_size=1536k "$S/q.hds" 48M
qemu-io -f parallels -c "write -P 0x5a 0 3M" -c "write -P 0xa5 30M 2M" "$S/q.hds" > /dev/null
dev=$(attach --direct-io on "$S/q.hds")
run qemu-io -r -f raw -c "read -P 0x5a 0 3M" -c "read -P 0xa5 30M 2M" -c "read -P 0 3M 27M" "$dev"
like "$OUT" "read 2097152/2097152" "QEMU's 1536K-cluster data reads back through the device"
unlike() { case "$1" in *"$2"*) ok 1 "$3" ;; *) ok 0 "$3" ;; esac; }
unlike "$OUT" "Pattern verification failed" "with the right bytes"
run fio --name=odd --filename="$dev" --direct=1 --ioengine=libaio --iodepth=8 \
	--rw=randwrite --bs=4k --size=48M --io_size=8M --verify=crc32c \
	--verify_fatal=1 --do_verify=1 --randseed=3 --output-format=terse
is "$RC" 0 "fio verify of random writes on 1536K clusters"
"$PRLDCTL" close "$dev"
run qemu-img check -f parallels "$S/q.hds"
is "$RC" 0 "qemu-img check clean after prld wrote 1536K clusters"

tap_done
