#!/bin/bash
# prldctl resize offline: the top grows, clusters in the way of the larger
# BAT move (64K clusters: one BAT cluster covers ~1 GiB), data and zeros
# read back, QEMU agrees (also on a chain whose lower layers stay smaller),
# the descriptor follows, shrinking and bad sizes are refused with nothing
# changed, and an interrupted resize (descriptor behind) is finished by
# running it again.
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/chain.sh"

MB=1048576
head -c $((3 * MB)) /dev/urandom > "$WORK/pool"

# ---- one layer, BAT grows from one cluster to three ------------------------
d=$WORK/d
"$PRLDCTL" create -s 512M --cluster-size 64K "$d" > /dev/null
"$PRLDCTL" write "$d" < "$WORK/pool"
head -c $((256 * 1024)) "$WORK/pool" | "$PRLDCTL" write --offset $((500 * MB)) "$d"
is "$(le32 "$d/root.hds" 48)" 128 "before: data starts after one 64K cluster"
run "$PRLDCTL" resize -s 2G "$d"
is "$RC" 0 "resize 512M -> 2G: exit 0"
is "$(le64 "$d/root.hds" 36)" $((2 * 1024 * 2048)) "header: 2 GiB in sectors"
is "$(le32 "$d/root.hds" 32)" 32768 "header: 32768 BAT entries"
is "$(le32 "$d/root.hds" 48)" 384 "header: the data area moved to the third cluster"
is "$(le32 "$d/root.hds" 44)" 0 "the image was closed cleanly"
is "$(xp "$d" //Disk_Parameters/Disk_size)" 4194304 "descriptor Disk_size follows"
is "$(xp "$d" //StorageData/Storage/End)" 4194304 "descriptor Storage End follows"
"$PRLDCTL" read --length $((3 * MB)) "$d" | cmp -s - "$WORK/pool"
ok $? "the first 3 MiB (moved clusters among them) read back"
"$PRLDCTL" read --offset $((500 * MB)) --length $((256 * 1024)) "$d" |
	cmp -s - <(head -c $((256 * 1024)) "$WORK/pool")
ok $? "data near the old end reads back"
"$PRLDCTL" read --offset $((1536 * MB)) --length $MB "$d" | cmp -s - <(head -c $MB /dev/zero)
ok $? "the new space reads as zeros"
head -c $MB "$WORK/pool" | "$PRLDCTL" write --offset $((2047 * MB)) "$d"
ok $? "the last MiB of the grown disk is writable"
judge "grown disk" "$d" 1
run qemu-img info --output=json -f parallels "$d/root.hds"
like "$OUT" '"virtual-size": 2147483648' "qemu-img sees 2 GiB"

# ---- refusals: nothing changes ----------------------------------------------
sum=$(md5sum < "$d/root.hds")
run "$PRLDCTL" resize -s 1G "$d"
is "$RC" 1 "shrink: exit 1"
like "$ERR" "shrinking is not supported" "shrink: says why"
run "$PRLDCTL" resize -s 1000 "$d"
is "$RC" 1 "a size not a multiple of 512: exit 1"
like "$ERR" "not a positive multiple of 512" "and says so"
run "$PRLDCTL" resize "$d"
is "$RC" 1 "no -s: usage error"
run "$PRLDCTL" resize -s 300T "$d"
is "$RC" 1 "beyond what the format addresses: exit 1"
is "$(md5sum < "$d/root.hds")" "$sum" "the image is unchanged after every refusal"
is "$(xp "$d" //Disk_Parameters/Disk_size)" 4194304 "and so is the descriptor"
run "$PRLDCTL" resize -s 2G "$d"
is "$RC" 0 "the same size again: nothing to do, exit 0"
is "$(md5sum < "$d/root.hds")" "$sum" "and nothing done"

# ---- a chain: only the top grows; QEMU reads the smaller backing as zeros ---
c=$WORK/c
"$PRLDCTL" create -s 64M --cluster-size 64K "$c" > /dev/null
head -c $((2 * MB)) "$WORK/pool" | "$PRLDCTL" write "$c"
"$PRLDCTL" snapshot "$c" > /dev/null
head -c $MB "$WORK/pool" | "$PRLDCTL" write --offset $((3 * MB)) "$c"
run "$PRLDCTL" resize -s 1500M "$c"
is "$RC" 0 "resize of a two-layer chain"
is "$(le64 "$c/root.hds" 36)" $((64 * 2048)) "the snapshot keeps its 64 MiB"
top=$(chain_files "$c" | head -1)
is "$(le64 "$top" 36)" $((1500 * 2048)) "the top has 1500 MiB"
head -c $MB "$WORK/pool" | "$PRLDCTL" write --offset $((1400 * MB)) "$c"
judge "grown chain" "$c" 2
"$PRLDCTL" snapshot "$c" > /dev/null && s2=$(chain_files "$c" | head -1)
is "$(le64 "$s2" 36)" $((1500 * 2048)) "a snapshot after the resize has the new size"
# (Data in the new top: QEMU 7.2 calls an empty image whose BAT spans
# several clusters leaky, its own ones too; format notes section 4.)
head -c $MB "$WORK/pool" | "$PRLDCTL" write --offset $((700 * MB)) "$c"
judge "grown chain, snapshot on top" "$c" 3

# ---- interrupted: image grown, descriptor not -------------------------------
i=$WORK/i
"$PRLDCTL" create -s 64M "$i" > /dev/null
head -c $MB "$WORK/pool" | "$PRLDCTL" write "$i"
cp "$i/DiskDescriptor.xml" "$WORK/desc.old"
"$PRLDCTL" resize -s 128M "$i"
cp "$WORK/desc.old" "$i/DiskDescriptor.xml"	# as if the crash came first
run "$PRLDCTL" check "$i"
is "$RC" 2 "check flags the descriptor lagging the image"
like "$OUT" "interrupted resize" "and names it"
"$PRLDCTL" read --length $MB "$i" | cmp -s - <(head -c $MB "$WORK/pool")
ok $? "the disk still opens and reads meanwhile"
run "$PRLDCTL" resize -s 128M "$i"
is "$RC" 0 "running the resize again finishes it"
is "$(xp "$i" //Disk_Parameters/Disk_size)" $((128 * 2048)) "the descriptor caught up"
run "$PRLDCTL" check "$i"
is "$RC" 0 "check clean afterwards"

# ---- a bare image -------------------------------------------------------
"$PRLDCTL" create --image -s 32M "$WORK/bare.hds" > /dev/null
run "$PRLDCTL" resize -s 96M "$WORK/bare.hds"
is "$RC" 0 "a bare image grows"
is "$(le64 "$WORK/bare.hds" 36)" $((96 * 2048)) "to 96 MiB"
run qemu-img check -f parallels "$WORK/bare.hds"
is "$RC" 0 "qemu-img check of the bare image"

tap_done
