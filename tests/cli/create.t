#!/bin/bash
# prldctl create: ploop's layout (header fields, data_off, CHS, descriptor),
# accepted by qemu-img check, equal to qemu-img create where the two agree.
. "$(dirname "$0")/tap.sh"

xp() { xmllint --xpath "string($2)" "$1"; }

# Header fields of a freshly created 64 MiB / 1 MiB disk.
run "$PRLDCTL" create -s 64M "$WORK/d64"
is "$RC" 0 "create -s 64M DIR"
img=$WORK/d64/root.hds
is "$(head -c 16 "$img")" "WithouFreSpacExt" "V2 magic"
is "$(le32 "$img" 16)" 2 "version 2"
is "$(le32 "$img" 20)" 16 "heads 16 (ploop CHS rule)"
is "$(le32 "$img" 24)" 256 "cylinders 256 = 131072/(16*32)"
is "$(le32 "$img" 28)" 2048 "cluster 2048 sectors"
is "$(le32 "$img" 32)" 64 "64 BAT entries"
is "$(le64 "$img" 36)" 131072 "nb_sectors"
is "$(le32 "$img" 44)" 0 "not in use"
is "$(le32 "$img" 48)" 2048 "data_off one cluster"
is "$(le32 "$img" 52)" 1 "CIF_Empty set, as ploop"
is "$(le64 "$img" 56)" 0 "no format extension"
is "$(stat -c %s "$img")" 1048576 "file ends at data_off"
run qemu-img check -f parallels "$img"
is "$RC" 0 "qemu-img check accepts it"

d=$WORK/d64/DiskDescriptor.xml
is "$(xp "$d" 'name(/*)')" Parallels_disk_image "descriptor root"
is "$(xp "$d" '/*/@Version')" 1.0 "descriptor Version"
is "$(xp "$d" '//Disk_Parameters/Disk_size')" 131072 "Disk_size in sectors"
is "$(xp "$d" '//Disk_Parameters/Cylinders')/$(xp "$d" '//Disk_Parameters/Heads')/$(xp "$d" '//Disk_Parameters/Sectors')" \
	256/16/32 "descriptor C/H/S"
is "$(xp "$d" '//Storage/End')" 131072 "Storage End"
is "$(xp "$d" '//Storage/Blocksize')" 2048 "Blocksize"
is "$(xp "$d" '//Storage/Image/File')" root.hds "Image File"
is "$(xp "$d" '//Storage/Image/Type')" Compressed "Image Type"
is "$(xp "$d" '//Storage/Image/GUID')" "{5fbaabe3-6958-40ff-92a7-860e329aab41}" "top GUID convention"
is "$(xp "$d" '//Snapshots/TopGUID')" "{5fbaabe3-6958-40ff-92a7-860e329aab41}" "TopGUID"
is "$(xp "$d" '//Snapshots/Shot/ParentGUID')" "{00000000-0000-0000-0000-000000000000}" "root's parent is zero"

# ploop's CHS rule at its interesting sizes (sectors per track 63 between
# 1032192 and 16777216 sectors, divisibility outside).
for spec in 2G:4161/16/63 10G:40960/16/32; do
	size=${spec%%:*}
	"$PRLDCTL" create -s "$size" "$WORK/chs$size"
	d=$WORK/chs$size/DiskDescriptor.xml
	is "$(xp "$d" '//Cylinders')/$(xp "$d" '//Heads')/$(xp "$d" '//Sectors')" \
		"${spec#*:}" "CHS for $size"
done

# Same layout as qemu-img create for the fields both define.
for spec in 64M:1M 100M:64K 3G:1M 1000M:32K; do
	size=${spec%%:*} cl=${spec#*:}
	"$PRLDCTL" create --image -s "$size" --cluster-size "$cl" "$WORK/p-$spec.hds"
	qemu-img create -q -f parallels -o cluster_size="$cl" "$WORK/q-$spec.hds" "$size"
	is "$(od -An -tx1 -j28 -N24 "$WORK/p-$spec.hds")" \
		"$(od -An -tx1 -j28 -N24 "$WORK/q-$spec.hds")" \
		"$spec: tracks, bat_entries, nb_sectors, inuse, data_off as qemu"
	is "$(stat -c %s "$WORK/p-$spec.hds")" "$(stat -c %s "$WORK/q-$spec.hds")" \
		"$spec: same file length as qemu"
	cmp -s -i 64 "$WORK/p-$spec.hds" "$WORK/q-$spec.hds"
	ok $? "$spec: same (empty) BAT and padding as qemu"
	# QEMU 7.2 reports one leaked cluster on its own empty images whose
	# BAT spans several clusters (format notes, 4): same verdict as its own.
	run qemu-img check -f parallels "$WORK/q-$spec.hds"
	qrc=$RC
	run qemu-img check -f parallels "$WORK/p-$spec.hds"
	is "$RC" "$qrc" "$spec: qemu-img check gives ours its own image's verdict"
	run "$PRLDCTL" check "$WORK/p-$spec.hds"
	is "$RC" 0 "$spec: prldctl check clean"
done

# V1 and an explicit geometry.
run "$PRLDCTL" create --image --format v1 -s 64M "$WORK/v1.hds"
is "$RC" 0 "create --format v1"
is "$(head -c 16 "$WORK/v1.hds")" "WithoutFreeSpace" "V1 magic"
run qemu-img check -f parallels "$WORK/v1.hds"
is "$RC" 0 "qemu-img check accepts V1"
run "$PRLDCTL" create --geometry 100/16/63 "$WORK/geo0"
is "$RC" 1 "create --geometry that ploop would rewrite is refused"
like "$ERR" "would not survive ploop, which rewrites Sectors as Disk_size / (Cylinders * Heads) = 64" "... saying why"
like "$ERR" "give 100/16/64" "... and what to give"
run "$PRLDCTL" create --geometry 100/16/64 "$WORK/geo"
is "$RC" 0 "create --geometry without -s"
d=$WORK/geo/DiskDescriptor.xml
is "$(xp "$d" '//Cylinders')/$(xp "$d" '//Heads')/$(xp "$d" '//Sectors')" 100/16/64 "geometry kept"
is "$(xp "$d" '//Disk_size')" 102400 "size = C*H*S rounded up to the cluster"

# Preallocation: every cluster mapped, in order, reading as zeros.
run "$PRLDCTL" create --preallocate --cluster-size 64K -s 4M "$WORK/pre"
is "$RC" 0 "create --preallocate"
is "$(xp "$WORK/pre/DiskDescriptor.xml" '//Storage/Preallocated')" 1 "descriptor says <Preallocated>1, as ploop writes"
img=$WORK/pre/root.hds
is "$(stat -c %s "$img")" $((65536 + 64 * 65536)) "file holds every cluster"
is "$(le32 "$img" $((64 + 4 * 0)))" 1 "first entry maps cluster 1"
is "$(le32 "$img" $((64 + 4 * 63)))" 64 "last entry maps cluster 64"
run qemu-img check -f parallels "$img"
is "$RC" 0 "qemu-img check accepts the preallocated image"
is "$("$PRLDCTL" info --json "$WORK/pre" | jq .allocated_clusters)" 64 "info: all allocated"
is "$("$PRLDCTL" read "$WORK/pre" | cmp - <(head -c 4M /dev/zero) && echo same)" same "reads as zeros"
is "$(stat -c %b "$img")" "$(( $(stat -c %s "$img") / 512 ))" "space reserved (no holes)"

# Refusals: nothing existing is overwritten, bad values are named.
printf 'keep' > "$WORK/existing.hds"
run "$PRLDCTL" create --image -s 1M "$WORK/existing.hds"
ok $((RC == 0)) "create --image over an existing file fails"
is "$(cat "$WORK/existing.hds")" keep "existing file untouched"
like "$ERR" "existing.hds" "error names the file"
run "$PRLDCTL" create -s 1M "$WORK/d64"
ok $((RC == 0)) "create over an existing disk fails"
run qemu-img check -f parallels "$WORK/d64/root.hds"
is "$RC" 0 "existing disk still intact"
run "$PRLDCTL" create -s 1M --cluster-size 1000 "$WORK/bad1"
ok $((RC == 0)) "cluster not a multiple of 512 refused"
like "$ERR" "--cluster-size" "error names the option"
run "$PRLDCTL" create -s 1M --cluster-size 128M "$WORK/bad2"
ok $((RC == 0)) "cluster above 64M refused"
run "$PRLDCTL" create -s 12Q "$WORK/bad3"
like "$ERR" "not a size" "garbage size refused"
run "$PRLDCTL" create -s 0 "$WORK/bad4"
ok $((RC == 0)) "size 0 refused"
run "$PRLDCTL" create --format v3 -s 1M "$WORK/bad5"
like "$ERR" "v3" "unknown format named"
run "$PRLDCTL" create "$WORK/bad6"
like "$ERR" "size" "missing size explained"
run "$PRLDCTL" create --image --format v1 -s 3T "$WORK/bad7.hds"
ok $((RC == 0)) "V1 over 2 TiB refused"
[ ! -e "$WORK/bad1" ] && [ ! -e "$WORK/bad7.hds" ]
ok $? "failed creates leave nothing behind"

tap_done
