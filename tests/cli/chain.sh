# SPDX-License-Identifier: GPL-2.0-or-later
# Chain helpers for the CLI tests (sourced after tap.sh): the descriptor's
# chain walked by xmllint, QEMU's --image-opts for it, and judge, which
# holds a disk to QEMU's reading and checks.
TOPG='{5fbaabe3-6958-40ff-92a7-860e329aab41}'
ZERO='{00000000-0000-0000-0000-000000000000}'

xp() { xmllint --xpath "string($2)" "$1/DiskDescriptor.xml"; }

# The chain's files, top first, by walking ParentGUID from TopGUID.
chain_files() {
	local d=$1 g
	g=$(xp "$d" "//Snapshots/TopGUID")
	while [ "$g" != "$ZERO" ]; do
		echo "$d/$(xp "$d" "//Image[GUID='$g']/File")"
		g=$(xp "$d" "//Shot[GUID='$g']/ParentGUID")
	done
}

# --image-opts for the chain of DIR, backing.* nested per level.
qemu_opts() {
	local pre="" opts="" f
	for f in $(chain_files "$1"); do
		opts="$opts${opts:+,}${pre}driver=parallels,${pre}file.driver=file,${pre}file.filename=$f"
		pre="${pre}backing."
	done
	echo "$opts"
}

# judge NAME DIR: qemu-img convert of the chain equals prldctl read; every
# image passes qemu-img check; prldctl check passes; descriptor valid.
judge() {
	local f bad=0 n=0
	qemu-img convert -O raw --image-opts "$(qemu_opts "$2")" "$WORK/q.raw"
	"$PRLDCTL" read "$2" | cmp -s - "$WORK/q.raw"
	ok $? "$1: qemu-img convert of the chain equals prldctl read"
	for f in "$2"/root.hds*; do
		qemu-img check -f parallels "$f" > /dev/null 2>&1 || bad=1
		n=$((n + 1))
	done
	ok $bad "$1: qemu-img check passes on all $n images"
	"$PRLDCTL" check "$2" > /dev/null
	ok $? "$1: prldctl check exit 0"
	xmllint --noout "$2/DiskDescriptor.xml"
	ok $? "$1: descriptor is well-formed XML"
	is "$(xp "$2" "//Snapshots/TopGUID")" "$TOPG" "$1: TopGUID is the top GUID"
	is "$(chain_files "$2" | wc -l)" "$3" "$1: chain walks to the zero GUID in $3 steps"
}
