#!/bin/bash
# /sys/block/prldN/prld/ (driver/prld_sysfs.c) against what was asked for
# and what the kernel's ioctls report: the top, the chain (after a
# snapshot and a revert, and a chain whose text is longer than a page,
# read whole and in small pieces), cluster size, offset and flags (a
# deferred detach turns autoclear on), -ENXIO once unbound; lsblk's view
# of a partitioned, an unbound and a read-only device; prldctl list as
# root (counts) and as nobody (from sysfs alone).  Then /etc/prldtab with the real
# driver: attach-all attaches each line with its options, reports a bad
# one by its line without stopping, leaves noauto alone, is idempotent;
# detach-all detaches everything, a mounted device at its last close.
. "$(dirname "$0")/lib.sh"

sysattr() { cat "/sys/block/${1#/dev/}/prld/$2"; }

"$PRLDCTL" create -s 64M "$S/d" > /dev/null
dev=$(attach "$S/d")
top=$(realpath "$S/d/root.hds")
is "$(sysattr "$dev" backing_file)" "$top" "backing_file: the top image"
is "$(sysattr "$dev" chain)" "$top" "chain: the one image"
is "$(sysattr "$dev" cluster_size)" 1048576 "cluster_size in bytes"
is "$(sysattr "$dev" offset)" 0 "offset 0"
want_dio=$("$PRLDCTL" info --json "$dev" | jq -r 'if .direct_io then 1 else 0 end')
is "$(sysattr "$dev" read_only)$(sysattr "$dev" dio)$(sysattr "$dev" autoclear)$(sysattr "$dev" partscan)" \
	"0${want_dio}01" "read_only, dio (as the ioctl says), autoclear, partscan"
is "$(stat -c %a "/sys/block/${dev#/dev/}/prld/backing_file")" 444 "readable by anyone"

# The chain follows a snapshot and a revert of the attached device.
g=$("$PRLDCTL" snapshot "$dev")
mapfile -t want < <("$PRLDCTL" info --json "$dev" | jq -r '.layers[].file')
is "$(sysattr "$dev" chain)" "$(printf '%s\n' "${want[@]}")" "chain after a snapshot: base first, as the ioctl says"
is "$(sysattr "$dev" backing_file)" "${want[1]}" "backing_file: the new top"
"$PRLDCTL" revert --to "$g" "$dev" > /dev/null
mapfile -t want < <("$PRLDCTL" info --json "$dev" | jq -r '.layers[].file')
is "$(sysattr "$dev" chain)" "$(printf '%s\n' "${want[@]}")" "chain after a revert"
"$PRLDCTL" close "$dev"
run cat "/sys/block/${dev#/dev/}/prld/backing_file"
ok $((RC == 0)) "unbound: backing_file cannot be read"
like "$ERR" "No such device or address" "... ENXIO"
run cat "/sys/block/${dev#/dev/}/prld/chain"
like "$RC$ERR" "No such device or address" "... nor chain"

# A chain whose text does not fit a page: read whole and 100 bytes at a time.
long=$S/$(printf 'directory-with-a-rather-long-name-%.0s' 1 2 3 4)
"$PRLDCTL" create -s 16M --cluster-size 64K "$long" > /dev/null
for i in $(seq 30); do "$PRLDCTL" snapshot "$long" > /dev/null; done
dev=$(attach -r "$long")
"$PRLDCTL" info --json "$dev" | jq -r '.layers[].file' > "$WORK/want"
sysattr "$dev" chain > "$WORK/chain"
is "$(wc -l < "$WORK/chain")" 31 "a 31-layer chain: 31 lines"
ok $([ "$(stat -c %s "$WORK/chain")" -gt 4096 ]; echo $?) "... $(stat -c %s "$WORK/chain") bytes, more than a page"
cmp -s "$WORK/chain" "$WORK/want"
ok $? "... equal to the ioctl's layers"
dd if="/sys/block/${dev#/dev/}/prld/chain" bs=100 status=none | cmp -s - "$WORK/want"
ok $? "... also read 100 bytes at a time"
is "$(sysattr "$dev" read_only)" 1 "read_only 1 for -r"
is "$(cat "/sys/block/${dev#/dev/}/ro")" 1 "... and the block layer's ro"
"$PRLDCTL" close "$dev"

# Options: offset, buffered I/O, no partition scan; a deferred detach.
dev=$(attach --offset 1M --direct-io off --no-partscan "$S/d")
is "$(sysattr "$dev" offset)$(sysattr "$dev" dio)$(sysattr "$dev" partscan)" "104857600" \
	"offset 1048576, dio 0, partscan 0"
exec 7< "$dev"
"$PRLDCTL" close --deferred "$dev"
is "$(sysattr "$dev" autoclear)" 1 "a deferred detach shows as autoclear 1"
exec 7<&-
sleep 0.5
run cat "/sys/block/${dev#/dev/}/prld/backing_file"
ok $((RC == 0)) "... and the last close detached it"

# lsblk: a partitioned device and its partitions, then unbound.
dev=$(attach "$S/d")
printf 'label: gpt\n,16M\n,\n' | sfdisk -q "$dev" > /dev/null 2>&1
blockdev --rereadpt "$dev" 2> /dev/null
udevadm settle 2> /dev/null
n=${dev#/dev/}
is "$(lsblk -rn -o NAME,SIZE,RO,TYPE "$dev")" "$n 64M 0 disk
${n}p1 16M 0 part
${n}p2 46M 0 part" "lsblk -o NAME,SIZE,RO,TYPE: the disk and its two partitions"
"$PRLDCTL" close "$dev"
# As an unconnected nbd device: there, empty, without partitions.
is "$(lsblk -rn -o NAME,SIZE,RO,TYPE "$dev")" "$n 0B 0 disk" \
	"lsblk: the unbound device is an empty disk, its partitions gone"
dev=$(attach -r "$S/d")
is "$(lsblk -rn -d -o NAME,RO,TYPE "$dev")" "${dev#/dev/} 1 disk" "lsblk: a read-only device is RO 1"

# prldctl list: counts for root, sysfs alone for nobody.
j=$("$PRLDCTL" list --json)
is "$(jq -r '.[0].allocated_clusters' <<<"$j")" \
	"$("$PRLDCTL" info --json "$dev" | jq .allocated_clusters)" \
	"list as root: the allocation count (the partition table's clusters)"
chmod 755 "$S" "$S/d"
j=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$PRLDCTL" list --json)
is "$(jq -r '.[0].device' <<<"$j")" "$dev" "list as nobody: the device, from sysfs"
is "$(jq -r '.[0].layers[0].file' <<<"$j")" "$(realpath "$S/d/root.hds")" "... its image"
is "$(jq -r '.[0].read_only, .[0].size, .[0].allocated_clusters' <<<"$j" | tr '\n' ' ')" \
	"true 67108864 null " "... flags and size; the counts it may not know are null"
run setpriv --reuid=65534 --regid=65534 --clear-groups "$PRLDCTL" list
like "$OUT" "$dev" "list as nobody, as text"
"$PRLDCTL" close "$dev"

# ---- /etc/prldtab with the driver -------------------------------------------
for i in 1 2 3; do "$PRLDCTL" create -s 32M "$S/t$i" > /dev/null; done
head -c 1M /dev/urandom > "$WORK/m"
"$PRLDCTL" write --offset 1M "$S/t2" < "$WORK/m"
tab=$WORK/prldtab
cat > "$tab" <<EOF
$S/t1
$S/missing   ro
$S/t2        ro,offset=1M,direct-io=off
$S/t3        noauto
EOF
run "$PRLDCTL" attach-all --table "$tab"
is "$RC" 1 "attach-all with one bad line: exit 1"
like "$ERR" "$tab:2: $S/missing" "... the bad line named by its number"
d1=$(sed -n "s|^$S/t1: attached as ||p" <<<"$OUT")
d2=$(sed -n "s|^$S/t2: attached as ||p" <<<"$OUT")
DEVS+=("$d1" "$d2")
ok $([ -b "$d1" ] && [ -b "$d2" ]; echo $?) "... the lines before and after it attached ($d1, $d2)"
is "$(sysattr "$d2" read_only)$(sysattr "$d2" offset)$(sysattr "$d2" dio)" "110485760" \
	"... with their options (ro, offset=1M, direct-io=off)"
cmp -s <(head -c 1M "$d2") "$WORK/m"
ok $? "... the offset device starts at the disk's 1 MiB"
is "$("$PRLDCTL" list --json | jq length)" 2 "noauto left alone: two devices"
sed -i "\|missing|d" "$tab"
run "$PRLDCTL" attach-all --table "$tab"
is "$RC" 0 "attach-all again: exit 0"
like "$OUT" "$S/t1: already attached as $d1" "... an attached disk is left as it is"
is "$("$PRLDCTL" list --json | jq length)" 2 "... still two devices"

mkfs.ext4 -q "$d1" && mkdir -p "$WORK/mnt" && mount "$d1" "$WORK/mnt"
run "$PRLDCTL" detach-all
is "$RC" 0 "detach-all: exit 0"
like "$OUT" "$d2: detached" "... the idle device detached"
like "$OUT" "$d1: in use; detaches at its last close" "... the mounted one deferred"
is "$(sysattr "$d1" autoclear)" 1 "... its autoclear is on"
umount "$WORK/mnt"
sleep 0.5
is "$("$PRLDCTL" list | wc -l)" 0 "after the unmount nothing is attached"
for i in 1 2; do
	run "$PRLDCTL" check "$S/t$i"
	is "$RC" 0 "t$i checks clean after detach-all"
done
tap_done
