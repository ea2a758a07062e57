#!/bin/bash
# Revert (switch to a snapshot) of an attached device: write A, snapshot,
# write B, revert, read A -- through the raw device (no stale page in the
# page cache) and through a mounted ext4 (unmounted for the revert, fsck
# clean).  Refused with EBUSY while anyone else has the device open or
# mounted, with nothing changed; malformed PRLD_REVERT requests refused.
. "$(dirname "$0")/lib.sh"

MB=1048576
TOP='{5fbaabe3-6958-40ff-92a7-860e329aab41}'
# State of the disk directory: descriptor bytes and file list.
dirstate() { md5sum "$S/d/DiskDescriptor.xml"; ls "$S/d"; }

# ---- raw device: A, snapshot, B, revert, A ---------------------------
"$PRLDCTL" create -s 32M "$S/d"
dev=$(attach "$S/d")
truncate -s 32M "$WORK/ref"
head -c 3M /dev/urandom > "$WORK/a"
put $((MB / 2)) "$WORK/a"
cp "$WORK/ref" "$WORK/refA"
snapA=$("$PRLDCTL" snapshot "$dev")
ok $? "snapshot of the attached device"
head -c 5M /dev/urandom > "$WORK/b"
put $((MB + 4096)) "$WORK/b"
# Buffered reads fill the page cache with B's state.
cat "$dev" | cmp -s - "$WORK/ref"
ok $? "B reads back (buffered, through the page cache)"
old_top=$("$PRLDCTL" info --json "$dev" | jq -r '.layers[-1].file')

exec 7<"$dev"
before=$(dirstate)
run "$PRLDCTL" revert --to "$snapA" "$dev"
is "$RC" 1 "revert while another process holds the device open: exit 1"
like "$ERR" "open or mounted elsewhere" "the message says why"
is "$(dirstate)" "$before" "descriptor and files unchanged after the refusal"
exec 7<&-
cat "$dev" | cmp -s - "$WORK/ref"
ok $? "the device still holds B after the refusal"

run "$PRLDCTL" revert --to "$snapA" "$dev"
is "$RC" 0 "revert of the attached device to snapshot A"
cat "$dev" | cmp -s - "$WORK/refA"
ok $? "buffered read: A again, no stale page of B"
dd if="$dev" bs=1M iflag=direct status=none | cmp -s - "$WORK/refA"
ok $? "direct read: A again"
j=$("$PRLDCTL" info --json "$dev")
is "$(jq '.layers | length' <<<"$j")" 2 "two layers: the snapshot and a new top"
is "$(jq -r '.layers[0].file' <<<"$j")" "$(realpath "$S/d/root.hds")" "the snapshot is the base"
is "$(jq '.layers[1].allocated_clusters' <<<"$j")" 0 "the new top is empty"
ok $([ ! -e "$old_top" ]; echo $?) "the discarded top's file is gone"
is "$(xmllint --xpath 'string(//Snapshots/TopGUID)' "$S/d/DiskDescriptor.xml")" "$TOP" "TopGUID still names the top"
new_top=$(jq -r '.layers[1].file' <<<"$j")
is "$(le32 "$new_top" 44)" $((0x746F6E59)) "the new top is marked in use"
run "$PRLDCTL" snapshots "$dev"
is "$RC" 0 "snapshots of /dev/prldN"
like "$OUT" "$snapA" "lists snapshot A"

# Writes after the revert land in the new top; then a second round.
cp "$WORK/refA" "$WORK/ref"
head -c 1M /dev/urandom > "$WORK/c"
put $((20 * MB)) "$WORK/c"
cp "$WORK/ref" "$WORK/refC"
snapC=$("$PRLDCTL" snapshot "$dev")
put $((2 * MB)) "$WORK/b"
"$PRLDCTL" revert --to "$snapA" "$dev"
devcmp "$dev" "$WORK/refA"
ok $? "revert back past a later snapshot: A"
"$PRLDCTL" revert --to "$snapC" "$dev"
devcmp "$dev" "$WORK/refC"
ok $? "and forward to the other branch: C"
"$PRLDCTL" close "$dev"
"$PRLDCTL" read "$S/d" | cmp -s - "$WORK/refC"
ok $? "offline read after detach: C"
run "$PRLDCTL" check "$S/d"
is "$RC" 0 "prldctl check: clean"
bad=0
for f in "$S"/d/root.hds*; do
	qemu-img check -q -f parallels "$f" || bad=1
done
is "$bad" 0 "qemu-img check: every image clean"

# ---- read-only device: nothing to revert ---------------------------------
dev=$(attach -r "$S/d")
before=$(dirstate)
run "$PRLDCTL" revert --to "$snapA" "$dev"
is "$RC" 1 "revert of a read-only device: exit 1"
like "$ERR" "read-only" "says it is read-only"
is "$(dirstate)" "$before" "nothing changed"
"$PRLDCTL" close "$dev"

# ---- ext4: snapshot, more files, revert (unmounted), fsck ------------------
"$PRLDCTL" create -s 64M "$S/e"
dev=$(attach "$S/e")
mkfs.ext4 -q "$dev" && mkdir -p "$WORK/m" && mount "$dev" "$WORK/m"
ok $? "ext4 on the device mounted"
head -c 3M /dev/urandom > "$WORK/m/a"
sumA=$(md5sum < "$WORK/m/a")
sync
fsfreeze -f "$WORK/m"
snapE=$("$PRLDCTL" snapshot "$dev")
ok $? "snapshot with the filesystem frozen"
fsfreeze -u "$WORK/m"
head -c 2M /dev/urandom > "$WORK/m/b"
dd if=/dev/urandom of="$WORK/m/a" bs=4k count=100 conv=notrunc status=none
sync
run "$PRLDCTL" revert --to "$snapE" "$dev"
is "$RC" 1 "revert while mounted: refused"
like "$ERR" "open or mounted elsewhere" "EBUSY, explained"
ok $([ "$(md5sum < "$WORK/m/a")" != "$sumA" ]; echo $?) "the mounted filesystem is untouched"
umount "$WORK/m"
run fsck.ext4 -f -n "$dev"
is "$RC" 0 "fsck clean before the revert"
run "$PRLDCTL" revert --to "$snapE" "$dev"
is "$RC" 0 "revert after unmounting"
run fsck.ext4 -f -n "$dev"
is "$RC" 0 "fsck clean after the revert"
mount "$dev" "$WORK/m"
is "$(md5sum < "$WORK/m/a")" "$sumA" "file a has its snapshot contents"
ok $([ ! -e "$WORK/m/b" ]; echo $?) "file b (written after the snapshot) is gone"
umount "$WORK/m"
"$PRLDCTL" close "$dev"
run "$PRLDCTL" check "$S/e"
is "$RC" 0 "the ext4 disk checks clean after detach"

# ---- malformed PRLD_REVERT requests: refused, nothing changes -----------
"$PRLDCTL" create -s 16M "$S/r"
dev=$(attach "$S/r")
head -c 1M /dev/urandom > "$WORK/x"
dd if="$WORK/x" of="$dev" bs=1M conv=fsync status=none
# On the scratch filesystem: the device does direct I/O, which tmpfs lacks.
E=$S/empty.hds
"$PRLDCTL" create --image -s 16M "$E"
"$PRLDCTL" create --image -s 16M "$S/full.hds"
"$PRLDCTL" write "$S/full.hds" < "$WORK/x"
"$PRLDCTL" create --image -s 16M --cluster-size 64K "$S/c64.hds"
topf=$(realpath "$S/r/root.hds")
try() {	# try NAME EXPECTED-ERRNO RAWATTACH-ARGS...
	local name=$1 want=$2
	shift 2
	run "$RAWATTACH" --revert-to "$dev" "$@"
	like "$ERR" "$want" "$name: $want"
}
try "wrong size" EINVAL --size 8 "$E"
try "flags" EINVAL --flags 1 "$E"
try "padding" EINVAL --pad 1 "$E"
try "reserved" EINVAL --reserved 1 "$E"
try "no layers" EINVAL --nr 0 "$E"
try "256 layers" EINVAL --nr 256 "$E"
try "bad fd" EBADF --bad-fd "$E"
try "bad pointer" EFAULT --bad-ptr "$E"
try "top opened read-only" EBADF --ro-fds "$E"
try "non-empty new top" EINVAL "$S/full.hds"
try "the current top inside the chain" EINVAL "$topf" "$E"
try "cluster size differs" EINVAL "$E" "$S/c64.hds"
try "a directory as a layer" EINVAL "$S" "$E"
cmp -s <(head -c 1M "$dev") "$WORK/x"
ok $? "after every refusal the device reads as before"
is "$("$PRLDCTL" info --json "$dev" | jq '.layers | length')" 1 "and has its one layer"
run "$RAWATTACH" --revert-to "$dev" "$E"
is "$RC" 0 "a raw revert to a lone empty image works"
cmp -s <(head -c 1M "$dev") <(head -c 1M /dev/zero)
ok $? "the device now reads zeros"
is "$(le32 "$topf" 44)" 0 "the old top was closed cleanly"
"$PRLDCTL" close "$dev"

tap_done
