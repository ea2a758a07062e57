#!/bin/bash
# A two-layer chain in the kernel: reads fall through to the base, a
# partial write into a cluster only the base holds copies it up first, a
# write-zeroes over a base cluster reads as zeros without copying it, a
# discard over base clusters changes nothing (discard promises nothing
# about the data, and copying up to zero it would fill the top), the base
# is never written, and QEMU reading the same chain as a backing chain
# sees the same bytes.
. "$(dirname "$0")/lib.sh"

CL=65536
"$PRLDCTL" create --image -s 16M --cluster-size 64K "$S/base.hds"
head -c 1M /dev/urandom > "$WORK/a"
"$PRLDCTL" write "$S/base.hds" < "$WORK/a"
truncate -s 16M "$WORK/ref"
dd if="$WORK/a" of="$WORK/ref" conv=notrunc status=none
# A delta is an empty image with the same geometry.
"$PRLDCTL" create --image -s 16M --cluster-size 64K "$S/top.hds"
base_sum=$(sha256sum < "$S/base.hds")
put() {	# put OFFSET FILE [DD-FLAGS]: the same bytes into device and ref
	dd if="$2" of="$dev" bs=64k seek="$1" oflag=seek_bytes${3:+,$3} \
		conv=notrunc,fsync status=none &&
	dd if="$2" of="$WORK/ref" bs=64k seek="$1" oflag=seek_bytes \
		conv=notrunc status=none
}

run "$RAWATTACH" "$S/base.hds" "$S/top.hds"
is "$RC" 0 "base + empty top attach"
dev=$OUT
DEVS+=("$dev")
j=$("$PRLDCTL" info --json "$dev")
is "$(jq '.layers | length' <<<"$j")" 2 "kernel reports two layers"
is "$(jq '[.layers[].writable] | tostring' <<<"$j")" '"[false,true]"' "only the top is writable"
is "$(jq .allocated_clusters <<<"$j")" 16 "16 clusters visible from the base"
devcmp "$dev" "$WORK/ref"
ok $? "reads fall through to the base"

head -c 1000 /dev/urandom > "$WORK/p1"
put $((3 * CL + 100)) "$WORK/p1"
ok $? "partial buffered write into a base cluster"
head -c $CL /dev/urandom > "$WORK/p2"
put $((5 * CL)) "$WORK/p2" direct
ok $? "whole-cluster direct write over a base cluster"
head -c 5000 /dev/urandom > "$WORK/p3"
put $((200 * CL + 512)) "$WORK/p3" direct
ok $? "partial direct write where no layer has data"
devcmp "$dev" "$WORK/ref"
ok $? "copy-up kept every other byte of the clusters"

run blkdiscard -z -o $((7 * CL)) -l $CL "$dev"
is "$RC" 0 "write-zeroes of a whole cluster the base holds"
head -c $CL /dev/zero | dd of="$WORK/ref" bs=64k seek=$((7 * CL)) \
	oflag=seek_bytes conv=notrunc status=none
devcmp "$dev" "$WORK/ref"
ok $? "it reads as zeros (the top holds zeros over the base)"
is "$("$PRLDCTL" map --json "$dev" | jq .set)" 17 "map: 16 base clusters + 1 new"
top=$("$PRLDCTL" info --json "$dev" | jq '.layers[1].allocated_clusters')
is "$top" 4 "the top holds exactly the 4 clusters written or zeroed"
run blkdiscard -o $((8 * CL)) -l $((4 * CL)) "$dev"
is "$RC" 0 "discard of four clusters the base holds"
is "$("$PRLDCTL" info --json "$dev" | jq '.layers[1].allocated_clusters')" 4 \
	"a discard over the base allocates nothing in the top"
devcmp "$dev" "$WORK/ref"
ok $? "and the base's data shows as before"
"$PRLDCTL" close "$dev"

is "$(sha256sum < "$S/base.hds")" "$base_sum" "the base was never written"
run qemu-img check -f parallels "$S/top.hds"
is "$RC" 0 "qemu-img check: top clean"
run "$PRLDCTL" check "$S/top.hds"
is "$RC" 0 "prldctl check: top clean"
C="driver=parallels,file.driver=file,file.filename=$S/top.hds"
C="$C,backing.driver=parallels,backing.file.driver=file,backing.file.filename=$S/base.hds"
qemu-img convert --image-opts "$C" -O raw "$WORK/chain.raw"
cmp -s "$WORK/chain.raw" "$WORK/ref"
ok $? "QEMU reading the chain as a backing chain sees the same bytes"

run "$RAWATTACH" --ro "$S/base.hds" "$S/top.hds"
is "$RC" 0 "read-only chain attach"
dev=$OUT
DEVS+=("$dev")
devcmp "$dev" "$WORK/ref"
ok $? "read-only chain reads the same bytes"
"$PRLDCTL" close "$dev"

# Layers must agree on the geometry.
"$PRLDCTL" create --image -s 16M --cluster-size 128K "$S/other.hds"
dmesg_mark
run "$RAWATTACH" --ro "$S/base.hds" "$S/other.hds"
like "$ERR" "EINVAL" "a layer with another cluster size is refused"
like "$(dmesg_new)" "layer 0: cluster of 128 sectors, top has 256" "and dmesg says why"
# A lower layer may be smaller than the top (the disk grew), never larger.
"$PRLDCTL" create --image -s 8M --cluster-size 64K "$S/small.hds"
dmesg_mark
run "$RAWATTACH" --ro "$S/base.hds" "$S/small.hds"
like "$ERR" "EINVAL" "a lower layer larger than the top is refused"
like "$(dmesg_new)" "layer 0: 32768 sectors, more than the top's 16384" "and dmesg says why"

tap_done
