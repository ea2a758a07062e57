#!/bin/bash
# Backup of an attached disk: a snapshot's state attached read-only
# (`open -r --snapshot GUID`) beside the live device, which keeps taking
# writes; QEMU's locks as the driver holds them (the live top refused to
# qemu-io, the snapshot's shared file readable); the incremental recipe
# through devices (`map --from --to` from the kernel, the clusters copied
# from the attached newer state); convert from and to block devices.
. "$(dirname "$0")/lib.sh"

MB=1048576
"$PRLDCTL" create -s 64M "$S/d"
head -c 1M /dev/urandom | "$PRLDCTL" write "$S/d"
G0=$("$PRLDCTL" snapshot "$S/d")	# offline: never the device's top
dev=$(attach "$S/d")
truncate -s 64M "$WORK/ref"
head -c 20M /dev/urandom > "$WORK/a"
put 0 "$WORK/a"
cp "$WORK/ref" "$WORK/refA"
G1=$("$PRLDCTL" snapshot "$dev")
ok $? "snapshot G1 of the attached device"
head -c 2M /dev/urandom > "$WORK/b"
put $((5 * MB)) "$WORK/b"

run "$PRLDCTL" open --snapshot "$G1" "$S/d"
is "$RC" 1 "a snapshot state attaches read-only only"
like "$ERR" "read-only (-r)" "and says so"
snapdev=$(attach -r --snapshot "$G1" "$S/d")
ok $? "open -r --snapshot G1 beside the live device"
cmp -s "$snapdev" "$WORK/refA"
ok $? "the snapshot device reads G1's state"
head -c 1M /dev/urandom > "$WORK/c"
put $((40 * MB)) "$WORK/c"
devcmp "$dev" "$WORK/ref"
ok $? "the live device keeps taking writes meanwhile"
cmp -s "$snapdev" "$WORK/refA"
ok $? "the snapshot device still reads G1"
is "$("$PRLDCTL" info --json "$snapdev" | jq '.layers | length')" 2 \
	"the snapshot device's chain is G0, G1"
"$PRLDCTL" read --snapshot "$G1" "$S/d" | cmp -s - "$WORK/refA"
ok $? "read --snapshot G1 offline while the disk and G1 are attached"

# Locks as QEMU sees them while the driver holds the files.
top=$("$PRLDCTL" info --json "$dev" | jq -r '.layers[-1].file')
base=$("$PRLDCTL" info --json "$dev" | jq -r '.layers[0].file')
g1file=$("$PRLDCTL" info --json "$dev" | jq -r '.layers[1].file')
run qemu-io -f parallels -c "read 0 4k" "$top"
like "$OUT$ERR" "lock" "qemu-io cannot open the live top"
run qemu-io -r -f parallels -c "read -P 0 60M 4k" "$base"
is "$RC" 0 "qemu-io -r reads G0's file (a lower layer since attach) beside both devices"
# G1's file was the device's top when attached: its file took a writer's
# locks then, and the driver gave up the write and resize ones when the
# snapshot made it read-only, so QEMU reads it now.
run qemu-io -r -f parallels -c "read 0 4k" "$g1file"
is "$RC" 0 "qemu-io -r reads G1's file, the device's old top"
run qemu-io -f parallels -c "write 0 4k" "$g1file"
like "$OUT$ERR" "lock" "but cannot write it (the driver still unshares writes)"
run "$PRLDCTL" write "$S/d" < /dev/null
like "$ERR" "in use by another process" "prldctl write refused while attached"
run "$PRLDCTL" check --repair "$S/d"
is "$RC" 1 "check --repair refused while attached"

# The incremental step through the devices.
cp "$WORK/refA" "$WORK/backup"
G2=$("$PRLDCTL" snapshot "$dev")
ok $? "snapshot G2"
put $((50 * MB)) "$WORK/c"
is "$("$PRLDCTL" map --from "$G1" --to "$G2" "$dev" | sed -n 's/^clusters: *//p')" \
	"5-6,40" "map --from G1 --to G2 from the kernel: what was written between"
snap2=$(attach -r --snapshot "$G2" "$S/d")
for r in $("$PRLDCTL" map --from "$G1" --to "$G2" "$dev" |
	   sed -n 's/^clusters: *//p' | tr ',' ' '); do
	a=${r%-*} b=${r#*-}
	dd if="$snap2" of="$WORK/backup" bs=1M skip=$a seek=$a \
	   count=$((b - a + 1)) conv=notrunc status=none
done
cmp -s "$snap2" "$WORK/backup"
ok $? "full backup of G1 + the changed clusters = G2's state"

# convert: from a block device into a new disk, and onto a block device.
run "$PRLDCTL" convert -q "$snapdev" "$S/copy"
is "$RC" 0 "convert from the snapshot device into a new disk"
run qemu-img compare -f parallels -F raw "$S/copy/root.hds" "$WORK/refA"
is "$RC" 0 "the copy is G1's state"
is "$("$PRLDCTL" info --json "$S/copy" | jq .allocated_clusters)" 20 \
	"and allocates only G1's 20 data clusters"
"$PRLDCTL" create -s 64M "$S/target"
tdev=$(attach "$S/target")
dd if=/dev/urandom of="$tdev" bs=1M count=64 conv=fsync status=none
run "$PRLDCTL" convert -q --snapshot "$G2" "$S/d" "$tdev"
is "$RC" 0 "convert --snapshot G2 onto a block device (another prld device)"
cmp -s "$tdev" "$snap2"
ok $? "the device holds G2's state, zeros written over its old data"

for d in "$snap2" "$snapdev" "$tdev" "$dev"; do
	"$PRLDCTL" close "$d"
	ok $? "close $d"
done
DEVS=()
run "$PRLDCTL" check "$S/d"
is "$RC" 0 "the disk checks clean after all of it"
run "$PRLDCTL" check "$S/target"
is "$RC" 0 "the target checks clean"
"$PRLDCTL" read "$S/d" | cmp -s - "$WORK/ref"
ok $? "the disk holds every write offline"

tap_done
