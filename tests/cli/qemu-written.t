#!/bin/bash
# Images written by QEMU (qemu-img create + qemu-io) read back through
# prldctl byte-identical to qemu-img convert, and prldctl's map agrees
# with qemu-img map about which clusters are allocated.
. "$(dirname "$0")/tap.sh"

# qemu_map_bits IMAGE CLUSTER: allocated cluster numbers per qemu-img map.
qemu_map_bits() {
	qemu-img map -f parallels --output=json "$1" |
		jq -r --argjson cl "$2" '.[] | select(.data) |
			range(.start / $cl; (.start + .length) / $cl)' |
		sort -n | paste -sd, -
}

# prld_map_bits TARGET: allocated cluster numbers per prldctl map.
prld_map_bits() {
	"$PRLDCTL" map "$1" | sed -n 's/^clusters: *//p' |
		tr ',' '\n' | awk -F- 'NF==2{for(i=$1;i<=$2;i++)print i;next}
			NF==1 && $1!=""{print $1}' | paste -sd, -
}

check_image() {	# NAME IMAGE CLUSTER-BYTES
	qemu-img convert -f parallels -O raw "$2" "$WORK/conv.raw"
	"$PRLDCTL" read "$2" | cmp -s - "$WORK/conv.raw"
	ok $? "$1: prldctl read == qemu-img convert"
	is "$(prld_map_bits "$2")" "$(qemu_map_bits "$2" "$3")" \
		"$1: prldctl map == qemu-img map"
	run "$PRLDCTL" check "$2"
	is "$RC" 0 "$1: prldctl check clean"
}

writes() {	# IMAGE: a fixed pattern of qemu-io writes
	qemu-io -f parallels \
		-c "write -P 0xab 0 64k" \
		-c "write -P 0xcd 5M 4k" \
		-c "write -P 0x11 1048000 1000" \
		-c "write -P 0x22 33554431 3" \
		-c "write -P 0x33 60M 2M" \
		-c "write -z 61M 4k" \
		-c "write -P 0x44 63M 1M" "$1" > /dev/null
}

for cl in 1M 64K; do
	img=$WORK/q$cl.hds
	qemu-img create -q -f parallels -o cluster_size=$cl "$img" 64M
	writes "$img"
	bytes=$(numfmt --from=iec $cl)
	check_image "qemu $cl clusters" "$img" "$bytes"
	# qemu-io's own verification agrees with what we check.
	run qemu-io -r -f parallels -c "read -P 0xcd 5M 4k" "$img"
	like "$OUT" "read 4096/4096" "qemu $cl: qemu-io re-reads its pattern"
done

# V1 images: QEMU cannot create them, so prldctl does and QEMU writes.
"$PRLDCTL" create --image --format v1 -s 64M "$WORK/v1.hds"
writes "$WORK/v1.hds"
check_image "V1 written by qemu-io" "$WORK/v1.hds" $((1 << 20))
"$PRLDCTL" create --image --format v1 --cluster-size 64K -s 64M "$WORK/v1s.hds"
writes "$WORK/v1s.hds"
check_image "V1 64K written by qemu-io" "$WORK/v1s.hds" 65536

# A disk directory whose image qemu-io wrote.
"$PRLDCTL" create -s 64M "$WORK/dir"
writes "$WORK/dir/root.hds"
qemu-img convert -f parallels -O raw "$WORK/dir/root.hds" "$WORK/conv.raw"
"$PRLDCTL" read "$WORK/dir" | cmp -s - "$WORK/conv.raw"
ok $? "disk dir written by qemu-io reads identically"

# Offsets through the open policy agree with qemu-io's view.
"$PRLDCTL" read --offset 5M --length 4K "$WORK/q1M.hds" | cmp -s - <(head -c 4096 /dev/zero | tr '\0' '\315')
ok $? "--offset 5M --length 4K reads qemu's 0xcd pattern"

tap_done
