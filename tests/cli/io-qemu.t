#!/bin/bash
# Random writes through prldctl (unaligned, straddling clusters), mirrored
# into a raw reference file; QEMU is the judge: qemu-img check exit 0 and
# qemu-img compare identical, and prldctl read returns the same bytes.
. "$(dirname "$0")/tap.sh"

SEED=${PRLD_TEST_SEED:-$$}
RANDOM=$SEED
echo "# seed $SEED (set PRLD_TEST_SEED to repeat)"
SIZE=$((64 << 20))
head -c 4M /dev/urandom > "$WORK/pool"

rand() { echo $(( ((RANDOM << 15) | RANDOM) % $1 )); }

# write_both TARGET OFFSET LEN: the same bytes into the disk and the raw.
write_both() {
	local src=$(rand $((4194304 - $3)))
	tail -c +$((src + 1)) "$WORK/pool" | head -c "$3" > "$WORK/chunk"
	"$PRLDCTL" write --offset "$2" "$1" < "$WORK/chunk" || return 1
	dd if="$WORK/chunk" of="$WORK/ref.raw" bs=1M seek="$2" \
		oflag=seek_bytes conv=notrunc status=none
}

# exercise NAME TARGET IMAGE-FILE CLUSTER-BYTES
exercise() {
	local name=$1 target=$2 img=$3 cl=$4 i off len failed=0
	# The disk is the requested size rounded up to a whole cluster.
	local vsize=$("$PRLDCTL" info --json "$target" | jq .virtual_size)
	truncate -s 0 "$WORK/ref.raw"
	truncate -s "$vsize" "$WORK/ref.raw"
	for i in $(seq 40); do
		case $((i % 4)) in
		0) len=$(( $(rand 3000) + 1 )) ;;		# tiny, unaligned
		1) len=$(( $(rand 300000) + 1 )) ;;		# spans clusters
		2) len=$cl ;;					# whole cluster
		3) len=$(( cl + $(rand 4096) )) ;;		# straddles two
		esac
		[ $len -gt 3000000 ] && len=3000000
		off=$(rand $((SIZE - len)))
		[ $((i % 4)) -eq 2 ] && off=$(( off / cl * cl ))
		write_both "$target" $off $len || failed=1
	done
	# The last bytes of the disk, and the first.
	write_both "$target" $((SIZE - 1)) 1 || failed=1
	write_both "$target" 0 17 || failed=1
	is $failed 0 "$name: 42 writes succeed"
	"$PRLDCTL" read "$target" | cmp -s - "$WORK/ref.raw"
	ok $? "$name: prldctl read returns the reference bytes"
	run qemu-img check -f parallels "$img"
	is "$RC" 0 "$name: qemu-img check exit 0"
	run qemu-img compare -f parallels -F raw "$img" "$WORK/ref.raw"
	is "$RC" 0 "$name: qemu-img compare identical to the reference"
	is "$(le32 "$img" 44)" 0 "$name: in-use flag cleared after close"
	is "$(( ($(stat -c %s "$img") - $(le32 "$img" 48) * 512) % cl ))" 0 \
		"$name: file ends on a cluster boundary"
	is "$(( $(le32 "$img" 52) & 1 ))" 0 "$name: CIF_Empty cleared"
}

"$PRLDCTL" create -s 64M "$WORK/dir1m"
exercise "dir, 1M clusters" "$WORK/dir1m" "$WORK/dir1m/root.hds" $((1 << 20))
"$PRLDCTL" create --image -s 64M --cluster-size 64K "$WORK/img64k.hds"
exercise "image, 64K clusters" "$WORK/img64k.hds" "$WORK/img64k.hds" 65536
"$PRLDCTL" create --image --format v1 -s 64M "$WORK/v1.hds"
exercise "V1 image" "$WORK/v1.hds" "$WORK/v1.hds" $((1 << 20))
"$PRLDCTL" create --preallocate --cluster-size 256K -s 64M "$WORK/pre"
exercise "preallocated dir" "$WORK/pre" "$WORK/pre/root.hds" 262144
"$PRLDCTL" create --image -s 64M --cluster-size 16896 "$WORK/odd.hds"
exercise "odd 33-sector clusters" "$WORK/odd.hds" "$WORK/odd.hds" 16896

# Allocation happened on demand: only written clusters are in the file.
"$PRLDCTL" create --image -s 64M "$WORK/sparse.hds"
printf 'x' | "$PRLDCTL" write --offset 40M "$WORK/sparse.hds"
is "$(stat -c %s "$WORK/sparse.hds")" $((2 << 20)) "one write, one cluster allocated"
is "$("$PRLDCTL" map --json "$WORK/sparse.hds" | jq -r .bitmap)" \
	"0000000000010000" "map shows cluster 40"

# Writes past the end fail and change nothing.
sum=$(sha256sum < "$WORK/sparse.hds")
run sh -c "printf 'ab' | '$PRLDCTL' write --offset $((SIZE - 1)) '$WORK/sparse.hds'"
ok $((RC == 0)) "write straddling the end fails"
like "$ERR" "sparse.hds" "error names the disk"
is "$(sha256sum < "$WORK/sparse.hds")" "$sum" "image unchanged by the failed write"
run "$PRLDCTL" read --offset $((SIZE + 1)) "$WORK/sparse.hds"
ok $((RC == 0)) "read from past the end fails"
run "$PRLDCTL" read --offset $((SIZE - 4)) --length 5 "$WORK/sparse.hds"
ok $((RC == 0)) "read running past the end fails"
is "$("$PRLDCTL" read --offset $((SIZE - 4)) "$WORK/sparse.hds" | od -An -tx1 | tr -d ' ')" \
	00000000 "read of the last 4 (zero) bytes works"

tap_done
