#!/bin/bash
# Split disks through the device (Parallels Desktop's "split into 2 GB
# pieces": several <Storage> elements, each with its own image, one
# after the other; tests/corpus/gen_real.py builds them byte by byte, and
# the real PD 17 split.hdd): the pieces make one device, reads and writes
# cross piece boundaries, each piece's image is closed cleanly, snapshot,
# revert and resize refuse a split device, and the kernel refuses
# malformed part lists itself.
. "$(dirname "$0")/lib.sh"

MIB=1048576
GEN="python3 $(dirname "$0")/../corpus/gen_real.py"

d=$S/split3.hdd
$GEN split3 "$d"
cp "$d.raw" "$WORK/ref"
dev=$(attach "$d")
ok $? "an 8 MiB disk in pieces of 3 + 3 + 2 MiB attaches"
is "$(blockdev --getsize64 "$dev")" $((8 * MIB)) "... as one 8 MiB device"
j=$("$PRLDCTL" info --json "$dev")
is "$(jq '.layers | length' <<<"$j")" 3 "... with the three pieces' images"
devcmp "$dev" "$WORK/ref"
ok $? "... every byte as expected"
head -c $((2 * MIB)) /dev/urandom > "$WORK/w"
put $((2 * MIB + 12345)) "$WORK/w"
put $((5 * MIB + 512)) "$WORK/w"
devcmp "$dev" "$WORK/ref"
ok $? "writes across both piece boundaries read back"
run "$PRLDCTL" snapshot "$dev"
ok $((RC == 0)) "snapshot of a split device is refused"
run "$PRLDCTL" resize -s 16M "$dev"
ok $((RC == 0)) "resize of a split device is refused"
devcmp "$dev" "$WORK/ref"
ok $? "and the device is unchanged"
"$PRLDCTL" close "$dev"
bad=0
for f in "$d"/*.hds; do
	[ "$(le32 "$f" 44)" = 0 ] || bad=1
	qemu-img check -q -f parallels "$f" || bad=1
done
is "$bad" 0 "every piece closed cleanly, qemu-img check clean on each"
"$PRLDCTL" read "$d" | cmp -s - "$WORK/ref"
ok $? "offline read agrees"
run "$PRLDCTL" check "$d"
is "$RC" 0 "prldctl check clean"

# The kernel's own refusals of a bad part list (rawattach --parts).
p=("$d"/split3.0.*.hds "$d"/split3.1.*.hds "$d"/split3.2.*.hds)
run "$RAWATTACH" --parts 1,1 "${p[@]}"
like "$ERR" EINVAL "parts adding up to fewer layers than given: EINVAL"
run "$RAWATTACH" --parts 1,0,2 "${p[@]}"
like "$ERR" EINVAL "a part of no layers: EINVAL"
run "$RAWATTACH" --parts 3 "${p[@]}"
like "$ERR" EINVAL "a split of one part: EINVAL"
run "$RAWATTACH" --ro --parts 1,1,1 "${p[@]}"
is "$RC" 0 "a valid raw split attach"
dev=$OUT
DEVS+=("$dev")
devcmp "$dev" "$WORK/ref"
ok $? "reads the same"
"$PRLDCTL" close "$dev"

# The real Parallels Desktop 17 split disk: 10 GiB in 6 pieces.
pd17 split.hdd
s=$S/split.hdd
dev=$(attach -r "$s")
ok $? "PD 17 split.hdd attaches read-only"
is "$(blockdev --getsize64 "$dev")" $((10240 * MIB)) "... 10 GiB"
for k in 1 2 3 4 5; do
	off=$((k * 3989504 * 512))
	got=$(dd if="$dev" bs=512 skip=$((off / 512 - 1)) count=2 iflag=direct status=none |
		od -An -tu1 -j511 -N2 | tr -s ' ')
	is "$got" " $k $((k + 1))" "... piece boundary $k reads $k then $((k + 1))"
done
for k in 0 5; do
	off=$((k * 3989504 * 512))
	cmp -s <(dd if="$dev" bs=1M skip=$((off / MIB)) count=2 iflag=direct status=none) \
		<("$PRLDCTL" read --offset $off --length $((2 * MIB)) "$s")
	ok $? "... piece $((k + 1))'s first 2 MiB as prldctl reads them"
done
cmp -s <(dd if="$dev" bs=1M skip=10238 count=2 iflag=direct status=none) \
	<("$PRLDCTL" read --offset $((10238 * MIB)) --length $((2 * MIB)) "$s")
ok $? "... the disk's last 2 MiB too"
"$PRLDCTL" close "$dev"
dev=$(attach "$s")
ok $? "PD 17 split.hdd attaches read-write"
head -c 8192 /dev/urandom > "$WORK/w"
off=$((3989504 * 512 - 4096))
dd if="$WORK/w" of="$dev" bs=4096 seek=$((off / 4096)) oflag=direct conv=fsync status=none
cmp -s <(dd if="$dev" bs=4096 skip=$((off / 4096)) count=2 iflag=direct status=none) "$WORK/w"
ok $? "... a write across the first boundary reads back"
"$PRLDCTL" close "$dev"
"$PRLDCTL" read --offset $off --length 8192 "$s" | cmp -s - "$WORK/w"
ok $? "... and offline"
run "$PRLDCTL" check "$s"
is "$RC" 0 "... prldctl check clean"

tap_done
