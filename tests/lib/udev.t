#!/bin/bash
# prld_id, udev's helper for the /dev/disk/by-id/prld-* links
# (packaging/60-prld.rules), on made-up sysfs directories: the names of a
# Parallels Desktop 17 bundle (its <UID> and <Name>), of a disk prldctl
# made (the directory's name), of a chain (the descriptor next to the
# top), of a bare image qemu-img made; characters udev would not keep;
# and nothing at all for an unbound device or an unreadable disk.
. "$(dirname "$0")/../cli/tap.sh"
: "${BUILD:?}"
export LD_LIBRARY_PATH=$BUILD
PD17=/work/shared/data/parallels-desktop-17/pd17-bundles.tar.xz
TOPG='{5fbaabe3-6958-40ff-92a7-860e329aab41}'

# sys TOP: a sysfs device directory whose prld/backing_file names TOP.
sys() {
	rm -rf "$WORK/sys" && mkdir -p "$WORK/sys/prld"
	[ -z "$1" ] || printf '%s\n' "$1" > "$WORK/sys/prld/backing_file"
	echo "$WORK/sys"
}

mkdir "$WORK/pd" && tar -C "$WORK/pd" -xJf "$PD17" expanding.hdd
pd=$WORK/pd/expanding.hdd
grep -q TopGUID "$pd/DiskDescriptor.xml" ||
	sed -i "s|<Snapshots>|<Snapshots><TopGUID>$TOPG</TopGUID>|" "$pd/DiskDescriptor.xml"
run "$BUILD/prld_id" "$(sys "$pd/expanding.hdd.0.$TOPG.hds")"
is "$RC" 0 "a PD 17 bundle: exit 0"
is "$OUT" "ID_PRLD_UUID=0610bb35-447e-4aae-aa79-f1571d969081
ID_PRLD_NAME=expanding" "... its <UID> and <Name>"

"$PRLDCTL" create -s 8M "$WORK/vm one.hdd" > /dev/null
"$PRLDCTL" snapshot "$WORK/vm one.hdd" > /dev/null
top=$WORK/vm\ one.hdd/$(xmllint --xpath "string(//Image[GUID='$TOPG']/File)" \
	"$WORK/vm one.hdd/DiskDescriptor.xml")
run "$BUILD/prld_id" "$(sys "$top")"
is "$RC$OUT" "0ID_PRLD_NAME=vm_one.hdd" \
	"a chain prldctl made: the directory's name, its space made '_'"

# A partition's rule passes its own sysfs directory and "..".
mkdir "$WORK/sys/prld0p1"
run "$BUILD/prld_id" "$WORK/sys/prld0p1/.."
is "$RC$OUT" "0ID_PRLD_NAME=vm_one.hdd" "a partition: its disk's names through .."

qemu-img create -q -f parallels "$WORK/bare.hds" 8M
run "$BUILD/prld_id" "$(sys "$WORK/bare.hds")"
is "$RC$OUT" "0ID_PRLD_NAME=bare.hds" "a bare image qemu-img made: its file name"

run "$BUILD/prld_id" "$(sys "")"
is "$RC$OUT" "1" "an unbound device: exit 1, no properties"
mkdir "$WORK/broken" && echo '<not xml' > "$WORK/broken/DiskDescriptor.xml"
touch "$WORK/broken/root.hds"
run "$BUILD/prld_id" "$(sys "$WORK/broken/root.hds")"
is "$RC$OUT" "1" "an unreadable descriptor: exit 1, no properties"
like "$ERR" "prld_id: $WORK/broken/DiskDescriptor.xml" "... and why, on stderr"
run "$BUILD/prld_id"
is "$RC" 2 "no argument: usage, exit 2"
tap_done
