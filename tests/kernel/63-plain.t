#!/bin/bash
# Raw (plain) images through the driver, as other tools make them
# (tests/corpus/gen_real.py writes them byte by byte):
#  - ploop's raw-base disk: a raw base and a delta, both typed Plain in
#    the descriptor; the delta's kind comes from its bytes.  Reads equal
#    the expected bytes, writes land in the delta, QEMU reading the delta
#    over the raw base agrees, also once the delta has grown to the disk;
#  - Parallels Desktop's plain disk, one raw image whose size is not a
#    multiple of the cluster: read and written in place, discarded,
#    snapshotted (a delta over the raw image), reverted;
#  - the kernel's own refusals of a bad plain base.
. "$(dirname "$0")/lib.sh"

MB=1048576
GEN=$(dirname "$0")/../corpus/gen_real.py
SNAP='{9b1c5c5e-2c1f-4a8e-9a57-3f0c2f3b8d11}'

for c in ploop-raw-base ploop-raw-base-grown; do
	d=$S/$c
	python3 "$GEN" "$c" "$d"
	cp "$d.raw" "$WORK/ref"
	base_sum=$(sha256sum < "$d/root.hds")
	dev=$(attach "$d")
	ok $? "$c: attaches"
	j=$("$PRLDCTL" info --json "$dev")
	is "$(jq '[.layers[].writable] | tostring' <<<"$j")" '"[false,true]"' \
		"$c: a raw base under a writable delta"
	devcmp "$dev" "$WORK/ref"
	ok $? "$c: every byte as expected"
	head -c 70000 /dev/urandom > "$WORK/w"
	put $((4 * MB - 5000)) "$WORK/w"
	put $((15 * MB + 100)) "$WORK/w"
	devcmp "$dev" "$WORK/ref"
	ok $? "$c: writes across raw-base clusters (copy-up) read back"
	"$PRLDCTL" close "$dev"
	is "$(sha256sum < "$d/root.hds")" "$base_sum" "$c: the raw base was not written"
	"$PRLDCTL" read "$d" | cmp -s - "$WORK/ref"
	ok $? "$c: offline read agrees"
	run "$PRLDCTL" check "$d"
	is "$RC" 0 "$c: prldctl check clean"
	C="driver=parallels,file.driver=file,file.filename=$d/root.hds.$SNAP"
	C="$C,backing.driver=raw,backing.file.driver=file,backing.file.filename=$d/root.hds"
	qemu-img convert -O raw --image-opts "$C" "$WORK/q.raw"
	cmp -s "$WORK/q.raw" "$WORK/ref"
	ok $? "$c: QEMU reading the delta over the raw base agrees"
	run qemu-img check -f parallels "$d/root.hds.$SNAP"
	is "$RC" 0 "$c: qemu-img check of the delta clean"
done

# --- Parallels Desktop's plain disk -----------------------------------------
d=$S/plain.hdd
python3 "$GEN" pd-plain "$d"
img=$(ls "$d"/*.hds)
size=$(stat -c %s "$img")
cp "$d.raw" "$WORK/ref"
dev=$(attach "$d")
is "$(blockdev --getsize64 "$dev")" "$size" "plain disk: the device is the raw image's size"
is "$("$PRLDCTL" info --json "$dev" | jq .cluster_size)" $MB "in 1 MiB clusters"
devcmp "$dev" "$WORK/ref"
ok $? "plain disk: every byte, the partial last cluster too"
head -c 300000 /dev/urandom > "$WORK/w"
put $((size - 300000)) "$WORK/w"
put $((3 * MB - 7)) "$WORK/w"
devcmp "$dev" "$WORK/ref"
ok $? "plain disk: writes read back, to the last byte"
cmp -s "$img" "$WORK/ref"
ok $? "plain disk: written in place in the raw file"
run blkdiscard -o $((5 * MB)) -l $((2 * MB)) "$dev"
is "$RC" 0 "plain disk: discard of two whole clusters"
head -c $((2 * MB)) /dev/zero | dd of="$WORK/ref" bs=64k seek=$((5 * MB)) \
	oflag=seek_bytes conv=notrunc status=none
devcmp "$dev" "$WORK/ref"
ok $? "plain disk: they read as zeros"
run "$PRLDCTL" resize -s 64M "$dev"
ok $((RC == 0)) "plain disk: resize through the device is refused"
cp "$WORK/ref" "$WORK/refA"
run "$PRLDCTL" snapshot "$dev"
is "$RC" 0 "plain disk: snapshot while attached"
snap=$OUT
is "$("$PRLDCTL" info --json "$dev" | jq '.layers | length')" 2 "a delta over the raw image"
raw_sum=$(sha256sum < "$img")
head -c 2M /dev/urandom > "$WORK/w"
put $((size - 2 * MB)) "$WORK/w"
put $((MB / 2)) "$WORK/w"
devcmp "$dev" "$WORK/ref"
ok $? "plain disk: writes after the snapshot read back (over a partial cluster too)"
is "$(sha256sum < "$img")" "$raw_sum" "and leave the raw image alone"
run "$PRLDCTL" revert --to "$snap" "$dev"
is "$RC" 0 "plain disk: revert to the snapshot while attached"
devcmp "$dev" "$WORK/refA"
ok $? "the device holds the raw image's state again"
"$PRLDCTL" close "$dev"
run "$PRLDCTL" check "$d"
is "$RC" 0 "plain disk: prldctl check clean"
"$PRLDCTL" read "$d" | cmp -s - "$WORK/refA"
ok $? "plain disk: offline read agrees"

# --- what the kernel refuses itself ------------------------------------------
sectors=$((size / 512))
dmesg_mark
run "$RAWATTACH" --plain $((sectors + 1)) "$img"
like "$ERR" EINVAL "a plain base larger than its file: EINVAL"
like "$(dmesg_new)" "shorter than its" "and dmesg says why"
run "$RAWATTACH" --flags 0x10 "$img"
like "$ERR" EINVAL "PLAIN_BASE without a size: EINVAL"
run "$RAWATTACH" --plain $sectors --flags 0 "$img"
like "$ERR" EINVAL "a size without PLAIN_BASE: EINVAL"
run "$RAWATTACH" --ro --plain $sectors "$img"
is "$RC" 0 "a valid read-only raw attach"
dev=$OUT
DEVS+=("$dev")
cmp -s <(dd if="$dev" bs=1M iflag=direct status=none) "$img"
ok $? "reads the raw file"
"$PRLDCTL" close "$dev"

tap_done
