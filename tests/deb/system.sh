#!/bin/bash
# system.sh install|purge DEBDIR - inside the test VM's writable root
# (tests/deb/guest.sh), as that system's root user; TAP.
#
# install: dpkg -i the four packages; DKMS built prld.ko for every kernel
#   with headers and it loads; prld-attach.service is enabled and passes
#   systemd-analyze verify; then the boot and shutdown path (use).
# purge: the boot and shutdown path on this (other) kernel with the
#   module DKMS built for it in the first boot; dpkg --purge; nothing of
#   the packages is left in the root (its overlay's upper half is
#   mounted at /mnt/upper to be searched).
#
# The boot path: /etc/prldtab lists a partitioned disk with an ext4
# filesystem, a read-only one with an offset, a Parallels Desktop 17
# bundle, a missing disk marked nofail and a noauto line; with udevd
# running, the unit's ExecStartPre and ExecStart lines (as systemd would
# run them) attach what they should, udev gives the by-id (name and
# UUID), by-uuid and by-label links, the filesystem mounts from an fstab
# line by UUID; after the unmount the unit's ExecStop detaches it all and
# every image checks clean.
stage=$1 debdir=$2
export PRLDCTL=/usr/bin/prldctl
. "$(dirname "$0")/../cli/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd -P)
K=$(uname -r)
V=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
PKGS=(libprld1 prldctl libprld-dev prld-dkms)
UNIT=/lib/systemd/system/prld-attach.service
PD17=/work/shared/data/parallels-desktop-17/pd17-bundles.tar.xz
TOPG='{5fbaabe3-6958-40ff-92a7-860e329aab41}'
PD_UID=0610bb35-447e-4aae-aa79-f1571d969081
D=/srv/prld
echo "# $stage on kernel $K"

# PID 1 is the test bed's own init, so systemd's tools think they run in
# a chroot and would ignore udevadm's requests.
export SYSTEMD_IGNORE_CHROOT=1

unit_line() { sed -n "s/^$1=//p" "$UNIT"; }
# links_to LINK DEV NAME: /dev/disk/LINK resolves to DEV (a device).
links_to() {
	local got
	got=$(readlink -f "/dev/disk/$1" 2>/dev/null)
	ok $([ -b "$2" ] && [ "$got" = "$2" ]; echo $?) "$3"
	[ "$got" = "$2" ] || echo "#   /dev/disk/$1 -> '$got', want '$2'"
}

load_module() {
	run modprobe prld
	is "$RC" 0 "modprobe prld on $K"
	like "$(modinfo -n prld 2>&1)" "/lib/modules/$K/updates/dkms/prld.ko" \
		"... the module DKMS built for $K"
}

# The test disks and /etc/prldtab (first boot only).
make_disks() {
	local dev
	mkdir -p "$D"
	"$PRLDCTL" create -s 64M "$D/data.hdd" > /dev/null
	dev=$("$PRLDCTL" open "$D/data.hdd")
	printf 'label: gpt\n,32M\n' | sfdisk -q "$dev" > /dev/null 2>&1
	mkfs.ext4 -q -L prlddata "${dev}p1"
	blkid -s UUID -o value "${dev}p1" > "$D/data.uuid"
	"$PRLDCTL" close "$dev"
	"$PRLDCTL" create -s 32M "$D/base.hdd" > /dev/null
	head -c 65536 /dev/urandom > "$D/base.pattern"
	"$PRLDCTL" write --offset 1M "$D/base.hdd" < "$D/base.pattern"
	tar -C "$D" -xJf "$PD17" expanding.hdd
	grep -q TopGUID "$D/expanding.hdd/DiskDescriptor.xml" ||
		sed -i "s|<Snapshots>|<Snapshots><TopGUID>$TOPG</TopGUID>|" \
			"$D/expanding.hdd/DiskDescriptor.xml"
	cat >> /etc/prldtab <<TAB
$D/data.hdd
$D/base.hdd             ro,offset=1M
$D/expanding.hdd        ro
$D/missing.hdd          nofail
$D/skip.hdd             noauto
TAB
	mkdir -p /mnt/data
	echo "UUID=$(cat "$D/data.uuid") /mnt/data ext4 defaults 0 2" >> /etc/fstab
}

# What the unit does at boot and at shutdown, around a mount from fstab.
boot_and_shutdown() {
	local uuid ddev bdev pdev pre
	uuid=$(cat "$D/data.uuid")
	/lib/systemd/systemd-udevd --daemon
	pre=$(unit_line ExecStartPre)
	${pre#-} > /dev/null 2>&1
	run $(unit_line ExecStart)
	is "$RC" 0 "the unit's ExecStart ($(unit_line ExecStart)): exit 0"
	like "$ERR" "/etc/prldtab:" "... the missing disk reported with its line"
	like "$ERR" "(nofail: ignored)" "... and ignored as nofail"
	ddev=$(sed -n "s|^$D/data.hdd: attached as ||p" <<<"$OUT")
	bdev=$(sed -n "s|^$D/base.hdd: attached as ||p" <<<"$OUT")
	pdev=$(sed -n "s|^$D/expanding.hdd: attached as ||p" <<<"$OUT")
	ok $([ -b "$ddev" ] && [ -b "$bdev" ] && [ -b "$pdev" ]; echo $?) \
		"three disks attached ($ddev $bdev $pdev), the noauto one not"
	is "$("$PRLDCTL" list --json | jq length)" 3 "... prldctl list agrees"
	is "$(cat "/sys/block/${bdev#/dev/}/prld/read_only") $(cat "/sys/block/${bdev#/dev/}/prld/offset")" \
		"1 1048576" "... with the table's options (ro, offset=1M)"
	cmp -s <(head -c 65536 "$bdev") "$D/base.pattern"
	ok $? "... the offset device starts at the disk's 1 MiB"
	udevadm settle
	links_to by-id/prld-data.hdd "$ddev" "udev: /dev/disk/by-id/prld-data.hdd"
	links_to by-id/prld-data.hdd-part1 "${ddev}p1" "udev: ... its partition, -part1"
	links_to by-uuid/"$uuid" "${ddev}p1" "udev: by-uuid of the ext4 on it"
	links_to by-label/prlddata "${ddev}p1" "udev: by-label"
	links_to by-id/prld-$PD_UID "$pdev" "udev: by-id from the PD bundle's <UID>"
	links_to by-id/prld-expanding "$pdev" "udev: by-id from its <Name>"
	mount /mnt/data
	ok $? "mount /mnt/data: fstab's UUID= line finds the filesystem"
	echo "$K" > "/mnt/data/booted-$K" && sync
	is "$(cat "/mnt/data/booted-$K")" "$K" "... and it takes a file"
	umount /mnt/data
	run $(unit_line ExecStop)
	is "$RC" 0 "the unit's ExecStop ($(unit_line ExecStop)): exit 0"
	is "$("$PRLDCTL" list | wc -l)" 0 "... every device detached"
	udevadm settle
	ok $([ ! -e /dev/disk/by-id/prld-data.hdd ] && [ ! -e "/dev/disk/by-uuid/$uuid" ]; echo $?) \
		"... and udev's links gone"
	for d in data base; do
		run "$PRLDCTL" check "$D/$d.hdd"
		is "$RC" 0 "$d.hdd checks clean"
	done
	udevadm control --exit
	rmmod prld
}

install_stage() {
	local k
	run dpkg -i $(for p in "${PKGS[@]}"; do ls "$debdir/${p}_${V}_"*.deb; done)
	is "$RC" 0 "dpkg -i ${PKGS[*]}"
	[ "$RC" -eq 0 ] || echo "$OUT$ERR" | tail -30 | sed 's/^/#   /'
	for k in /lib/modules/*/build; do
		k=$(basename "$(dirname "$k")")
		like "$(dkms status prld)" "prld/$V, $k, x86_64: installed" \
			"DKMS built and installed the module for $k"
	done
	load_module
	ok $([ -L /etc/systemd/system/sysinit.target.wants/prld-attach.service ]; echo $?) \
		"prld-attach.service is enabled"
	run systemd-analyze verify "$UNIT"
	is "$RC$OUT$ERR" "0" "systemd-analyze verify: no complaint"
	ok $([ -f /lib/udev/rules.d/60-prld.rules ] && [ -x /lib/udev/prld_id ]; echo $?) \
		"the udev rules and their helper are in place"
	cc -Wall -Wextra -Werror -o "$WORK/sdk-disk" "$top/examples/sdk-disk.c" \
		$(pkg-config --cflags --libs prld)
	ok $? "libprld-dev: the SDK example builds with pkg-config"
	make_disks
	like "$("$WORK/sdk-disk" info "$D/expanding.hdd")" "uid={$PD_UID}" \
		"... and runs on libprld1"
	boot_and_shutdown
}

purge_stage() {
	local p f bad=0
	is "$(dpkg-query -W -f='${Status}' prldctl)" "install ok installed" \
		"the first boot's installation is there"
	if [ ! -f "$D/data.uuid" ]; then
		ok 1 "... with the first boot's disks (it did not finish)"
		return
	fi
	load_module
	boot_and_shutdown
	for p in "${PKGS[@]}"; do dpkg -L "$p"; done | sort -u > "$WORK/files"
	run dpkg --purge prld-dkms libprld-dev prldctl libprld1
	is "$RC" 0 "dpkg --purge"
	for p in "${PKGS[@]}"; do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "" ] ||
			{ bad=1; echo "#   $p still known to dpkg"; }
	done
	ok $bad "dpkg knows none of the packages"
	bad=0
	while read -r f; do
		[ -d "$f" ] || [ ! -e "$f" ] || { bad=1; echo "#   $f left"; }
	done < "$WORK/files"
	ok $bad "none of their $(wc -l < "$WORK/files") paths is left"
	# Not man-db's cache of formatted pages (systemd-analyze verify had
	# man format ours): man-db's own cron job drops stale ones.
	left=$(cd /mnt/upper && find . -name '*prld*' ! -type c ! -path './srv/prld*' \
		! -path './var/cache/man/*' | sort)
	is "$left" "" "nothing named prld was left in the root (DKMS's tree, modules, /etc)"
	[ ! -e /etc/prldtab ] && [ ! -e /etc/systemd/system/sysinit.target.wants/prld-attach.service ]
	ok $? "/etc/prldtab and the unit's enablement went with the purge"
}

case $stage in
install) install_stage ;;
purge) purge_stage ;;
*) echo "usage: system.sh install|purge DEBDIR"; exit 2 ;;
esac
tap_done
