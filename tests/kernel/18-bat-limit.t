#!/bin/bash
# The largest offset a BAT entry can hold (V1: 2^32 - 1 sectors).  A V1
# image whose free space starts one cluster below that limit (a sparse
# file of about 2 TiB): the next new cluster still fits, the one after it
# does not and must fail with ENOSPC, while clusters already allocated
# stay readable and writable.  Resize's moved clusters obey the same
# limit.  Before the check (driver review H2) the entry was truncated to
# 32 bits: an acknowledged write lost, then an alias of another cluster.
. "$(dirname "$0")/lib.sh"

MB=1048576
# put_le32 FILE OFFSET VALUE
put_le32() {
	printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($3 & 255)) \
		$((($3 >> 8) & 255)) $((($3 >> 16) & 255)) $((($3 >> 24) & 255)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

d=$S/v1
"$PRLDCTL" create -s 64M --format v1 "$d"
img=$d/root.hds
is "$(le32 "$img" 48)" 2048 "V1 image, data at sector 2048"
# Cluster 0 in the first data slot, cluster 3 one cluster below the limit.
high=$((4294963200))	# 2048 + 2097149 * 2048 sectors
head -c $MB /dev/urandom > "$WORK/c0"
head -c $MB /dev/urandom > "$WORK/c3"
truncate -s $(((high + 2048) * 512)) "$img"
dd if="$WORK/c0" of="$img" bs=1M seek=1 conv=notrunc status=none
dd if="$WORK/c3" of="$img" bs=512 seek=$high conv=notrunc status=none
put_le32 "$img" 64 2048
put_le32 "$img" $((64 + 3 * 4)) $high
printf '\0\0\0\0' | dd of="$img" bs=1 seek=52 conv=notrunc status=none	# not empty
truncate -s 64M "$WORK/ref"
dd if="$WORK/c0" of="$WORK/ref" conv=notrunc status=none
dd if="$WORK/c3" of="$WORK/ref" bs=1M seek=3 conv=notrunc status=none
run "$PRLDCTL" check "$img"
is "$RC" 0 "the crafted image is valid"

dev=$(attach "$d")
devcmp "$dev" "$WORK/ref"
ok $? "both clusters read back through the device"
head -c 4096 /dev/urandom > "$WORK/w"
put $((10 * MB)) "$WORK/w"
ok $? "a new cluster at the last offset a V1 entry can hold"
run dd if="$WORK/w" of="$dev" bs=4k seek=$((11 * 256)) oflag=direct conv=fsync status=none
ok $((RC == 0)) "the next new cluster is refused"
like "$ERR" "No space left on device" "with ENOSPC"
devcmp "$dev" "$WORK/ref"
ok $? "nothing of the refused write shows; the rest is intact"
put $((3 * MB + 4096)) "$WORK/w"
ok $? "allocated clusters stay writable after the refusal"
put $((10 * MB + 8192)) "$WORK/w"
ok $? "including the one allocated last"
devcmp "$dev" "$WORK/ref"
ok $? "the device reads the reference"

# Growing the BAT past data_off moves cluster 0 to the end of the file:
# beyond the limit, so the resize must fail and change nothing.
run "$PRLDCTL" resize -s 300G "$dev"
ok $((RC == 0)) "a resize whose moved cluster would pass the limit fails"
is "$(blockdev --getsize64 "$dev")" $((64 * MB)) "the device keeps its size"
devcmp "$dev" "$WORK/ref"
ok $? "and its data"
put $((4096)) "$WORK/w"
ok $? "and stays writable"
"$PRLDCTL" close "$dev"

"$PRLDCTL" read "$d" | cmp -s - "$WORK/ref"
ok $? "offline read equals the reference after detach"
run "$PRLDCTL" check "$d"
ok $((RC == 0 || RC == 3 ? 0 : 1)) "prldctl check: no corruption (leaks allowed)"
[ "$RC" = 0 ] || echo "$OUT$ERR" | sed 's/^/# /'
run qemu-img check -f parallels "$img"
ok $((RC == 0 || RC == 3 ? 0 : 1)) "qemu-img check: no corruption (leaks allowed)"
[ "$RC" = 0 ] || echo "$OUT$ERR" | sed 's/^/# /'
is "$(le32 "$img" 44)" 0 "the image was closed cleanly"
run qemu-img compare -f parallels -F raw "$img" "$WORK/ref"
is "$RC" 0 "qemu-img compare: identical to the reference"

tap_done
