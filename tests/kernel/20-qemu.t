#!/bin/bash
# Through the device, QEMU as the judge: random writes then qemu-img check
# and compare; images qemu-io wrote read back like qemu-img convert.
. "$(dirname "$0")/lib.sh"

SEED=${PRLD_TEST_SEED:-$$}
RANDOM=$SEED
echo "# seed $SEED"
head -c 4M /dev/urandom > "$WORK/pool"

# Random writes (buffered, any byte offset and length) to the device and
# to a raw reference; detach; QEMU must agree on every byte.
random_writes() {	# NAME CREATE-ARGS...
	local name=$1 i off len src; shift
	"$PRLDCTL" create "$@" "$S/$name"
	local dev size
	dev=$(attach "$S/$name") || { ok 1 "$name: attach"; return; }
	size=$(blockdev --getsize64 "$dev")
	truncate -s 0 "$WORK/ref" && truncate -s "$size" "$WORK/ref"
	for i in $(seq 30); do
		len=$(( $(rand 200000) + 1 ))
		off=$(rand $((size - len)))
		src=$(rand $((4194304 - len)))
		tail -c +$((src + 1)) "$WORK/pool" | head -c "$len" > "$WORK/chunk"
		for t in "$dev" "$WORK/ref"; do
			dd if="$WORK/chunk" of="$t" bs=1M seek="$off" \
				oflag=seek_bytes conv=notrunc status=none
		done
	done
	sync
	devcmp "$dev" "$WORK/ref"
	ok $? "$name: device reads back the reference"
	"$PRLDCTL" close "$dev"
	run qemu-img check -f parallels "$S/$name/root.hds"
	is "$RC" 0 "$name: qemu-img check exit 0"
	run qemu-img compare -f parallels -F raw "$S/$name/root.hds" "$WORK/ref"
	is "$RC" 0 "$name: qemu-img compare identical"
	run "$PRLDCTL" check "$S/$name"
	is "$RC" 0 "$name: prldctl check clean"
}

# Sizes are small because the guest runs under TCG: what matters is many
# cluster boundaries, partial clusters and both formats, not volume.
random_writes v2-1m -s 32M
random_writes v2-64k -s 32M --cluster-size 64K
random_writes v1-1m -s 32M --format v1
random_writes prealloc -s 16M --cluster-size 256K --preallocate

# Images QEMU wrote, read through the device.
qemu_writes() {
	qemu-io -f parallels -c "write -P 0xab 0 64k" -c "write -P 0xcd 5M 4k" \
		-c "write -P 0x11 1048000 1000" -c "write -P 0x33 28M 2M" \
		-c "write -P 0x44 31M 1M" "$1" > /dev/null
}
for spec in 1M:v2 64K:v2 1M:v1; do
	cl=${spec%:*} fmt=${spec#*:}
	img=$S/q-$cl-$fmt.hds
	if [ "$fmt" = v2 ]; then
		qemu-img create -q -f parallels -o cluster_size="$cl" "$img" 32M
	else
		"$PRLDCTL" create --image --format v1 --cluster-size "$cl" -s 32M "$img"
	fi
	qemu_writes "$img"
	qemu-img convert -f parallels -O raw "$img" "$WORK/conv"
	dev=$(attach -r "$img")
	devcmp "$dev" "$WORK/conv"
	ok $? "qemu-io $cl $fmt image reads through the device like qemu-img convert"
	"$PRLDCTL" close "$dev"
done

tap_done
