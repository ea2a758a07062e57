#!/bin/bash
# Snapshots of an attached device: the device switches to a new delta
# under a frozen queue without losing an acknowledged write; the old top
# is closed cleanly; the descriptor matches what the device holds; QEMU
# reading the chain agrees; snapshots under a verifying fio load.
. "$(dirname "$0")/lib.sh"

MB=1048576
TOP='{5fbaabe3-6958-40ff-92a7-860e329aab41}'

"$PRLDCTL" create -s 32M "$S/d"
dev=$(attach "$S/d")
truncate -s 32M "$WORK/ref"
head -c 4M /dev/urandom > "$WORK/a"
put 0 "$WORK/a"
cp "$WORK/ref" "$WORK/refA"

run "$PRLDCTL" snapshot "$dev"
is "$RC" 0 "snapshot of /dev/prldN while attached"
snap1=$OUT
j=$("$PRLDCTL" info --json "$dev")
is "$(jq '.layers | length' <<<"$j")" 2 "the device now has two layers"
is "$(jq '[.layers[].writable] | tostring' <<<"$j")" '"[false,true]"' "old top read-only, new top writable"
is "$(jq -r '.layers[1].file' <<<"$j")" "$(realpath "$S/d/root.hds.$snap1")" "new top is root.hds.{snapshot GUID}"
is "$(le32 "$S/d/root.hds" 44)" 0 "the snapshot image was closed cleanly (in-use cleared)"
is "$(le32 "$S/d/root.hds.$snap1" 44)" $((0x746F6E59)) "the new top is marked in use"
run qemu-img check -f parallels "$S/d/root.hds"
is "$RC" 0 "qemu-img check: the snapshot image is clean while the device runs"
devcmp "$dev" "$WORK/ref"
ok $? "the device still reads every acknowledged byte"

head -c 2M /dev/urandom > "$WORK/b"
put $((MB + 512)) "$WORK/b"
ok $? "writes go on after the switch (partial clusters: copy-up)"
run "$PRLDCTL" snapshot "$S/d"
is "$RC" 0 "snapshot through the disk directory while attached"
snap2=$OUT
head -c 1M /dev/urandom > "$WORK/c"
put $((20 * MB)) "$WORK/c"
devcmp "$dev" "$WORK/ref"
ok $? "three layers read back the reference"
is "$("$PRLDCTL" info --json "$dev" | jq '.layers | length')" 3 "three layers"
exec 7<"$dev"	# another opener: the device must not change under it
run "$PRLDCTL" revert --to "$snap1" "$S/d"
ok $((RC == 0)) "revert while another process has the device open is refused"
like "$ERR" "open or mounted elsewhere" "and says what to do"
exec 7<&-
kmap=$("$PRLDCTL" map --json --from "$snap1" "$dev" | jq -r .bitmap)
kmap2=$("$PRLDCTL" map --json --from "$snap1" --to "$snap2" "$dev" | jq -r .bitmap)
run "$PRLDCTL" map --from "{11111111-1111-1111-1111-111111111111}" "$dev"
like "$ERR" "is not a layer of this device" "map of a device with an unknown GUID refused"
"$PRLDCTL" close "$dev"
is "$("$PRLDCTL" map --json --from "$snap1" "$S/d" | jq -r .bitmap)" "$kmap" \
	"the device's changes map since snapshot 1 equals the offline one"
is "$("$PRLDCTL" map --json --from "$snap1" --to "$snap2" "$S/d" | jq -r .bitmap)" "$kmap2" \
	"and between snapshots 1 and 2 too"

run "$PRLDCTL" check "$S/d"
is "$RC" 0 "prldctl check of the whole chain: clean"
for f in "$S"/d/root.hds*; do
	qemu-img check -q -f parallels "$f" || { ok 1 "qemu-img check $f"; }
done
ok 0 "qemu-img check: every image clean"
"$PRLDCTL" read "$S/d" | cmp -s - "$WORK/ref"
ok $? "offline read of the descriptor's chain equals what the device held"
C="driver=parallels,file.driver=file,file.filename=$S/d/root.hds.$snap2"
C="$C,backing.driver=parallels,backing.file.driver=file,backing.file.filename=$S/d/root.hds.$snap1"
C="$C,backing.backing.driver=parallels,backing.backing.file.driver=file,backing.backing.file.filename=$S/d/root.hds"
qemu-img convert --image-opts "$C" -O raw "$WORK/q.raw"
cmp -s "$WORK/q.raw" "$WORK/ref"
ok $? "QEMU reading the three-layer chain agrees"
is "$(xmllint --xpath 'string(//Snapshots/TopGUID)' "$S/d/DiskDescriptor.xml")" "$TOP" "TopGUID is the top GUID"
run "$PRLDCTL" revert --to "$snap1" "$S/d"
is "$RC" 0 "offline revert to the first snapshot"
"$PRLDCTL" read "$S/d" | cmp -s - "$WORK/refA"
ok $? "the disk holds the first snapshot's data again"

# A read-only device cannot take a snapshot; nothing changes.
sum=$(sha256sum < "$S/d/DiskDescriptor.xml")
dev=$(attach -r "$S/d")
run "$PRLDCTL" snapshot "$dev"
ok $((RC == 0)) "snapshot of a read-only device fails"
is "$(sha256sum < "$S/d/DiskDescriptor.xml")" "$sum" "descriptor restored after the failed switch"
is "$(ls "$S/d" | wc -l)" 4 "no stray delta left"
"$PRLDCTL" close "$dev"

# Malformed PRLD_PUSH_TOP requests: refused, the device keeps its chain.
"$PRLDCTL" create -s 16M "$S/p"
"$PRLDCTL" create --image -s 16M "$S/p-empty.hds"
"$PRLDCTL" create --image -s 16M "$S/p-full.hds"
printf x | "$PRLDCTL" write "$S/p-full.hds"
"$PRLDCTL" create --image -s 16M --cluster-size 64K "$S/p-64k.hds"
"$PRLDCTL" create --image -s 32M "$S/p-big.hds"
"$PRLDCTL" create -s 16M "$S/other"
dev=$(attach "$S/p")
other=$(attach "$S/other")
push() {	# push ERRNO NAME RAWATTACH-ARGS...
	local want=$1 name=$2; shift 2
	run "$RAWATTACH" --push-to "$dev" "$@"
	like "$ERR" "$want" "push $name: $want"
}
push EINVAL "struct size wrong" --size 8 "$S/p-empty.hds"
push EINVAL "unknown flag" --flags 1 "$S/p-empty.hds"
push EINVAL "non-zero padding" --pad 1 "$S/p-empty.hds"
push EINVAL "non-zero reserved" --reserved 1 "$S/p-empty.hds"
push EINVAL "a delta that is not empty" "$S/p-full.hds"
push EINVAL "another cluster size" "$S/p-64k.hds"
push EINVAL "another virtual size" "$S/p-big.hds"
push EINVAL "the device's own top" "$S/p/root.hds"
push EBADF "a read-only descriptor" --ro-fds "$S/p-empty.hds"
push EBUSY "a file another device writes" "$S/other/root.hds"
is "$("$PRLDCTL" info --json "$dev" | jq '.layers | length')" 1 "the device still has one layer"
run "$RAWATTACH" --push-to "$dev" "$S/p-empty.hds"
is "$RC" 0 "a valid push after all that works"
is "$("$PRLDCTL" info --json "$dev" | jq '.layers | length')" 2 "and adds the layer"
"$PRLDCTL" close "$dev"
"$PRLDCTL" close "$other"

# A new top must pass CONFIGURE's file checks (driver review M1): on a
# direct-I/O device, a delta on tmpfs is refused (6.1's tmpfs cannot do
# direct I/O: a write would have called a NULL direct_IO) or, where the
# filesystem can, it works; never an oops.  O_APPEND is refused.
"$PRLDCTL" create -s 16M "$S/dio"
dev=$(attach --direct-io on "$S/dio")
is "$("$PRLDCTL" info --json "$dev" | jq .direct_io)" true "a direct-I/O device"
mkdir -p /tmp/m1 && "$PRLDCTL" create --image -s 16M /tmp/m1/new.hds
dmesg_mark
run "$RAWATTACH" --push-to "$dev" /tmp/m1/new.hds
if [ "$RC" = 0 ]; then
	head -c 1M /dev/urandom > "$WORK/m1"
	dd if="$WORK/m1" of="$dev" bs=1M seek=2 oflag=direct conv=fsync status=none
	ok $? "the tmpfs delta was taken: direct writes into it work"
	cmp -s <(dd if="$dev" bs=1M skip=2 count=1 iflag=direct status=none) "$WORK/m1"
	ok $? "and read back"
else
	like "$ERR" EINVAL "a tmpfs delta for a direct-I/O device is refused with EINVAL"
	like "$(dmesg_new)" "cannot do direct I/O" "and dmesg says why"
fi
"$PRLDCTL" close "$dev"
rm -rf /tmp/m1
"$PRLDCTL" create -s 16M "$S/app"
"$PRLDCTL" create --image -s 16M "$S/app-new.hds"
dev=$(attach "$S/app")
run "$RAWATTACH" --push-to "$dev" --append "$S/app-new.hds"
like "$ERR" EINVAL "a new top opened with O_APPEND is refused"
is "$("$PRLDCTL" info --json "$dev" | jq '.layers | length')" 1 "the device keeps its chain"
"$PRLDCTL" close "$dev"
run "$RAWATTACH" --append "$S/app/root.hds"
like "$ERR" EINVAL "a chain opened with O_APPEND is refused at attach too"

# Snapshots while fio writes and verifies: no acknowledged write is lost.
"$PRLDCTL" create -s 64M --cluster-size 64K "$S/f"
dev=$(attach "$S/f")
fio --name=snapload --filename="$dev" --direct=1 --ioengine=psync \
	--rw=randwrite --bs=4k --size=16M --numjobs=2 --offset_increment=24M \
	--verify=crc32c --verify_fatal=1 --do_verify=1 --randseed=7 \
	--group_reporting --output-format=terse > "$WORK/fio.out" 2>&1 &
fio_pid=$!
snaps=0
for i in 1 2 3; do
	sleep 2
	"$PRLDCTL" snapshot "$dev" > /dev/null && snaps=$((snaps + 1))
done
wait $fio_pid
is "$?" 0 "fio verify passes across 3 snapshots taken under load"
is "$snaps" 3 "all three snapshots succeeded under load"
is "$("$PRLDCTL" info --json "$dev" | jq '.layers | length')" 4 "four layers"
"$PRLDCTL" close "$dev"
run "$PRLDCTL" check "$S/f"
is "$RC" 0 "chain clean after snapshots under load"

tap_done
