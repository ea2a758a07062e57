#!/bin/bash
# Real Parallels Desktop 17 disks through the device: the expanding.hdd
# bundle as PD shipped it (no TopGUID, a V1 image, 1 MiB clusters, "pd17"
# in the in-use field) attaches, reads every byte right (MiB i holds
# byte i), takes writes and detaches clean, and its snapshots are deleted
# while attached (online merge); QEMU's old V1 header with
# data_off 0 attaches read-only and is refused read-write (-EROFS).
. "$(dirname "$0")/lib.sh"

GEN="python3 $(dirname "$0")/../corpus/gen_real.py"
MIB=1048576

# An old V1 header (data_off 0): readable, never writable.
$GEN v1-data-off-zero "$S/old.hds"
dmesg_mark
run "$PRLDCTL" open "$S/old.hds"
ok $((RC == 0)) "data_off 0: read-write attach refused"
like "$(dmesg_new)" "data_off is 0" "... the driver names the reason"
dev=$(attach -r "$S/old.hds")
ok $? "data_off 0: read-only attach works"
devcmp "$dev" "$S/old.hds.raw"
ok $? "... reads as QEMU computes it"
"$PRLDCTL" close "$dev"

# ploop's CBT (a format extension: bitmap clusters after the data): read
# as is; a read-write attach drops the extension in the header write
# that marks the image in use, as an offline write does, and cuts its
# clusters.
$GEN cbt "$S/cbt.hds"
cp "$S/cbt.hds.raw" "$WORK/ref"
dev=$(attach -r "$S/cbt.hds")
devcmp "$dev" "$WORK/ref"
ok $? "CBT image: read-only attach reads every byte"
"$PRLDCTL" close "$dev"
ok $(( $(le64 "$S/cbt.hds" 56) ? 0 : 1 )) "... and keeps the extension"
dev=$(attach "$S/cbt.hds")
ok $? "CBT image: read-write attach"
is "$(le64 "$S/cbt.hds" 56)" 0 "... dropped the extension before any write"
head -c 5000 /dev/urandom > "$WORK/w"
put 100 "$WORK/w"
devcmp "$dev" "$WORK/ref"
ok $? "... takes a write"
"$PRLDCTL" close "$dev"
run "$PRLDCTL" check "$S/cbt.hds"
is "$RC" 0 "... prldctl check clean after the detach"
run qemu-img check -f parallels "$S/cbt.hds"
is "$RC" 0 "... qemu-img check clean: the extension's clusters were cut"
run qemu-img compare -f parallels -F raw "$S/cbt.hds" "$WORK/ref"
is "$RC" 0 "... qemu-img compare agrees"

# The real Parallels Desktop 17 expanding.hdd bundle (last: without the
# fixtures the file ends here, with a skip).
pd17 expanding.hdd
e=$S/expanding.hdd
python3 -c 'import sys
for i in range(100): sys.stdout.buffer.write(bytes([i]) * (1 << 20))' >"$WORK/ref"

dev=$(attach -r "$e")
ok $? "expanding.hdd attaches read-only"
is "$(blockdev --getsize64 "$dev")" $((100 * MIB)) "... 100 MiB"
devcmp "$dev" "$WORK/ref"
ok $? "... every byte through the device as PD wrote it (MiB i = byte i)"
"$PRLDCTL" close "$dev"

dev=$(attach "$e")
ok $? "expanding.hdd attaches read-write"
devcmp "$dev" "$WORK/ref"
ok $? "... reads the same"
head -c 70000 /dev/urandom >"$WORK/chunk"
put $((MIB - 1000)) "$WORK/chunk"
ok $? "... takes a write across clusters (into the unmapped MiB 0)"
devcmp "$dev" "$WORK/ref"
ok $? "... reads back the reference"
"$PRLDCTL" close "$dev"
ok $? "... detaches"
"$PRLDCTL" read "$e" | cmp -s - "$WORK/ref"
ok $? "prldctl read agrees after the detach"
run "$PRLDCTL" check "$e"
is "$RC" 0 "prldctl check clean after the detach"
grep -q TopGUID "$e/DiskDescriptor.xml"
ok $((! $?)) "the descriptor still has no TopGUID"

# The same bundle's snapshots deleted while it stays attached (online
# merge): the PD base (a V1 image) merged up into its lower child by the
# tool, then the top's parent into the top by the driver.
dev=$(attach "$e")
ok $? "expanding.hdd attaches read-write again"
p1=$("$PRLDCTL" snapshot "$dev")
ok $? "a snapshot of the PD disk on the device"
put $((10 * MIB + 3)) "$WORK/chunk"
p2=$("$PRLDCTL" snapshot "$dev")
put $((40 * MIB)) "$WORK/chunk"
is "$("$PRLDCTL" info --json "$dev" | jq '.layers | length')" 3 "... three layers"
run "$PRLDCTL" delete-snapshot "$p1" "$dev"
is "$RC" 0 "the PD base state deleted online (merged up into its child)"
devcmp "$dev" "$WORK/ref"
ok $? "... the device reads the reference"
put $((70 * MIB + 512)) "$WORK/chunk"
run "$PRLDCTL" delete-snapshot "$p2" "$dev"
is "$RC" 0 "the top's parent deleted online (merged into the top)"
is "$("$PRLDCTL" info --json "$dev" | jq '.layers | length')" 1 "... one layer left"
devcmp "$dev" "$WORK/ref"
ok $? "... the device reads the reference"
"$PRLDCTL" close "$dev"
ok $? "... detaches"
"$PRLDCTL" read "$e" | cmp -s - "$WORK/ref"
ok $? "prldctl read agrees after the online merges"
run "$PRLDCTL" check "$e"
is "$RC" 0 "prldctl check clean"
for f in "$e"/*.hds; do
	run qemu-img check -f parallels "$f"
	is "$RC" 0 "qemu-img check $(basename "$f")"
done
grep -q TopGUID "$e/DiskDescriptor.xml"
ok $((! $?)) "the descriptor still has no TopGUID"

tap_done
