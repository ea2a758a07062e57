#!/bin/bash
# A thin disk filled and trimmed gives its space back: ext4 on /dev/prldN
# filled, most files deleted, fstrim (the driver unmaps and punches the
# discarded clusters: the file takes less space at once, but keeps its
# length); detached, prldctl compact moves the last clusters into the
# holes and cuts the file: it shrinks, qemu-img compare against the raw
# reference read from the device before says identical, qemu-img check
# and prldctl check are clean, and the filesystem mounts with its files.
# Refused while attached; a snapshotted disk compacts every layer.
. "$(dirname "$0")/lib.sh"

MB=1048576
img=$S/d/root.hds
"$PRLDCTL" create -s 256M "$S/d"
dev=$(attach "$S/d")
mkfs.ext4 -q -F -E nodiscard "$dev"
mkdir -p /mnt/cp
mount "$dev" /mnt/cp
# Random bytes are slow to make under TCG: one pool, copied.
head -c $((10 * MB)) /dev/urandom > "$WORK/pool"
for i in $(seq 1 12); do
	cp "$WORK/pool" "/mnt/cp/f$i"
done
sync
full=$(stat -c %s "$img") full_used=$(( $(stat -c %b "$img") * 512 ))
rm /mnt/cp/f{1,2,3,4,5,7,8,9,10,11}
# ext4 frees the blocks only once the deletes commit: then they trim.
sync
keep=$(cd /mnt/cp && sha256sum f6 f12)
run fstrim -v /mnt/cp
is "$RC" 0 "fstrim of the ext4 on the device"
echo "# $OUT"
sync
trimmed=$(stat -c %s "$img") trimmed_used=$(( $(stat -c %b "$img") * 512 ))
echo "# image after filling: $full bytes long, $full_used used; after fstrim: $trimmed long, $trimmed_used used"
ok $([ "$trimmed_used" -lt $((full_used - 60 * MB)) ]; echo $?) "fstrim gave the space back at once (punched: $full_used -> $trimmed_used bytes used)"
run "$PRLDCTL" compact "$S/d"
is "$RC" 1 "compact refused while attached"
like "$ERR" "attached as $dev" "... naming the device"
umount /mnt/cp
dd if="$dev" bs=1M iflag=direct status=none > "$WORK/ref.raw"
"$PRLDCTL" close "$dev"
before=$(stat -c %s "$img")
run "$PRLDCTL" compact --json "$S/d"
is "$RC" 0 "prldctl compact of the detached disk"
moved=$(jq '.[0].moved_clusters' <<<"$OUT")
after=$(stat -c %s "$img") after_used=$(( $(stat -c %b "$img") * 512 ))
echo "# compact: $before -> $after bytes long ($after_used used), $moved clusters moved"
is "$(jq '.[0].size_before' <<<"$OUT")" "$before" "the report's length before"
is "$(jq '.[0].size_after' <<<"$OUT")" "$after" "the report's length after"
ok $([ "$after" -lt $((before - 60 * MB)) ]; echo $?) "the file shrank by more than 60 MiB"
ok $([ "$moved" -gt 0 ]; echo $?) "clusters were moved into the holes"
ok $([ "$after_used" -le $((trimmed_used + MB)) ]; echo $?) "it takes no more space than after the trim"
run qemu-img compare -f parallels -F raw "$img" "$WORK/ref.raw"
is "$RC" 0 "qemu-img compare with the raw reference: identical"
run qemu-img check -f parallels "$img"
is "$RC" 0 "qemu-img check clean"
run "$PRLDCTL" check "$S/d"
is "$RC" 0 "prldctl check clean"
dev=$(attach "$S/d")
run fsck.ext4 -f -n "$dev"
is "$RC" 0 "fsck clean"
mount "$dev" /mnt/cp
is "$(cd /mnt/cp && sha256sum f6 f12)" "$keep" "the files kept read back"
ok $([ "$(ls /mnt/cp | grep -c '^f')" = 2 ]; echo $?) "and only those"

# A snapshot, more files, a trim on the top: both layers compact.
g=$("$PRLDCTL" snapshot "$dev")
for i in 20 21 22 23; do
	head -c $((8 * MB)) "$WORK/pool" > "/mnt/cp/f$i"
done
sync
rm /mnt/cp/f20 /mnt/cp/f22 /mnt/cp/f6
sync
fstrim /mnt/cp
keep=$(cd /mnt/cp && sha256sum f12 f21 f23)
umount /mnt/cp
dd if="$dev" bs=1M iflag=direct status=none > "$WORK/ref.raw"
"$PRLDCTL" read --snapshot "$g" "$S/d" > "$WORK/snap.raw"
"$PRLDCTL" close "$dev"
top=$(ls "$S/d"/root.hds.*)
tbefore=$(stat -c %s "$top")
run "$PRLDCTL" compact "$S/d"
is "$RC" 0 "compact of the snapshotted disk"
ok $([ "$(stat -c %s "$top")" -lt "$tbefore" ]; echo $?) "the top shrank ($tbefore -> $(stat -c %s "$top"))"
"$PRLDCTL" read "$S/d" | cmp -s - "$WORK/ref.raw"
ok $? "the disk reads as the device did"
"$PRLDCTL" read --snapshot "$g" "$S/d" | cmp -s - "$WORK/snap.raw"
ok $? "the snapshot reads as before"
C="driver=parallels,file.driver=file,file.filename=$top"
C="$C,backing.driver=parallels,backing.file.driver=file,backing.file.filename=$img"
qemu-img convert --image-opts "$C" -O raw "$WORK/q.raw"
cmp -s "$WORK/q.raw" "$WORK/ref.raw"
ok $? "QEMU reads the compacted chain the same"
run "$PRLDCTL" check "$S/d"
is "$RC" 0 "prldctl check clean"
dev=$(attach "$S/d")
mount "$dev" /mnt/cp
is "$(cd /mnt/cp && sha256sum f12 f21 f23)" "$keep" "the files read back"
umount /mnt/cp
"$PRLDCTL" close "$dev"
tap_done
