#!/bin/bash
# A 64-layer chain: random writes at every layer (63 offline snapshots),
# attached by the kernel; every byte resolves through the right layer
# (QEMU, given the same 64-deep backing chain, agrees), and writes through
# the device copy up from whatever depth holds the cluster.
. "$(dirname "$0")/lib.sh"

SEED=${PRLD_TEST_SEED:-$$}
RANDOM=$SEED
echo "# seed $SEED"
SIZE=$((16 << 20))
head -c 1M /dev/urandom > "$WORK/pool"
"$PRLDCTL" create -s 16M --cluster-size 64K "$S/d"
truncate -s $SIZE "$WORK/ref"
chunk() {	# chunk LEN: random bytes into $WORK/chunk
	tail -c +$(( $(rand $((1048576 - $1))) + 1 )) "$WORK/pool" | head -c "$1" > "$WORK/chunk"
}
failed=0
for layer in $(seq 0 63); do
	len=$(( $(rand 150000) + 1 )); off=$(rand $((SIZE - len)))
	chunk "$len"
	"$PRLDCTL" write --offset "$off" "$S/d" < "$WORK/chunk" || failed=1
	dd if="$WORK/chunk" of="$WORK/ref" bs=64k seek="$off" oflag=seek_bytes conv=notrunc status=none
	[ "$layer" -eq 63 ] || "$PRLDCTL" snapshot "$S/d" > /dev/null || failed=1
done
is "$failed" 0 "64 layers written, 63 snapshots taken"
mapfile -t files < <("$PRLDCTL" info --json "$S/d" | jq -r '.layers[].file')
is "${#files[@]}" 64 "the chain is 64 layers deep"

dev=$(attach "$S/d")
is "$("$PRLDCTL" info --json "$dev" | jq '.layers | length')" 64 "the kernel holds 64 layers"
devcmp "$dev" "$WORK/ref"
ok $? "every byte resolves through the right layer"
# QEMU: the same files as a 64-deep backing chain (top first).  The device
# holds the top as a writer, which QEMU honours: -U (force share) reads it
# anyway; nothing writes meanwhile.
C= prefix=
for ((k = ${#files[@]} - 1; k >= 0; k--)); do
	C="$C${C:+,}${prefix}driver=parallels,${prefix}file.driver=file,${prefix}file.filename=${files[k]}"
	prefix="${prefix}backing."
done
qemu-img convert -U --image-opts "$C" -O raw "$WORK/q.raw"
cmp -s "$WORK/q.raw" "$WORK/ref"
ok $? "QEMU reading the 64-deep backing chain agrees"

# Partial writes through the device: copy-up from any depth.
for i in $(seq 20); do
	len=$(( $(rand 20000) + 1 )); off=$(rand $((SIZE - len)))
	chunk "$len"
	for t in "$dev" "$WORK/ref"; do
		dd if="$WORK/chunk" of="$t" bs=64k seek="$off" oflag=seek_bytes conv=notrunc status=none
	done
done
sync
devcmp "$dev" "$WORK/ref"
ok $? "20 partial writes through the device: copy-up kept every byte"
"$PRLDCTL" close "$dev"
"$PRLDCTL" read "$S/d" | cmp -s - "$WORK/ref"
ok $? "offline read after detach agrees"
run "$PRLDCTL" check "$S/d"
is "$RC" 0 "64-layer chain checks clean"

tap_done
