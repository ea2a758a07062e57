#!/bin/bash
# prldctl convert: raw files and block devices into new disks and back.
# QEMU judges: qemu-img compare against the raw reference, qemu-img check
# on every image made.  Zeros are skipped both ways (an image allocates
# only data clusters, a raw file gets holes), any snapshot state exports,
# images QEMU wrote export like qemu-img's own export, and Ctrl-C leaves
# nothing incomplete behind.
. "$(dirname "$0")/tap.sh"

P=$PRLDCTL
MiB=1048576
alloc_mib() { echo $(( $(stat -c %b "$1") * 512 / MiB )); }

# A sparse 512 MiB raw file: 4 x 32 MiB of random data, the rest holes,
# plus 32 MiB of written zeros (data for SEEK_DATA, zeros in content).
truncate -s 512M "$WORK/src.raw"
for at in 0 150 300 480; do
	dd if=/dev/urandom of="$WORK/src.raw" bs=1M seek=$at count=32 \
		conv=notrunc status=none
done
dd if=/dev/zero of="$WORK/src.raw" bs=1M seek=400 count=32 conv=notrunc \
	status=none
is "$(alloc_mib "$WORK/src.raw")" 160 "source: 512 MiB raw, 160 MiB allocated"

run "$P" convert "$WORK/src.raw" "$WORK/d"
is "$RC" 0 "import into a new directory"
like "$OUT" "536870912 bytes (512 MiB), of which 134217728 bytes (128 MiB) data" \
	"import says how much was data"
run "$P" info --json "$WORK/d"
is "$(echo "$OUT" | jq .virtual_size)" 536870912 "import: virtual size is the source's"
is "$(echo "$OUT" | jq .allocated_clusters)" 128 \
	"import: 128 clusters allocated (holes and zero blocks skipped)"
size=$(stat -c %s "$WORK/d/root.hds")
ok $(( size > 128 * MiB && size < 130 * MiB ? 0 : 1 )) \
	"import: the image is about the data's size ($size bytes)"
run qemu-img check -f parallels "$WORK/d/root.hds"
is "$RC" 0 "import: qemu-img check clean"
run qemu-img compare -f parallels -F raw "$WORK/d/root.hds" "$WORK/src.raw"
is "$RC" 0 "import: qemu-img compare identical to the source"
is "$(le32 "$WORK/d/root.hds" 44)" 0 "import: in-use flag cleared"

run "$P" convert "$WORK/d" "$WORK/out.raw"
is "$RC" 0 "export to a new raw file"
cmp -s "$WORK/out.raw" "$WORK/src.raw"
ok $? "export: byte-identical to the source"
is "$(alloc_mib "$WORK/out.raw")" 128 "export: sparse (holes, not written zeros)"

# A bare image by name, V1 with 64 KiB clusters; an existing raw file is
# replaced (cut first, so its old data leaves no trace).
head -c 2M /dev/urandom > "$WORK/old.raw"
run "$P" convert -q --cluster-size 64K --format v1 "$WORK/src.raw" "$WORK/v1.hds"
is "$RC$OUT" 0 "-q: import to NAME.hds prints nothing"
is "$(od -An -c -N16 "$WORK/v1.hds" | tr -d ' ')" "WithoutFreeSpace" \
	"NAME.hds is a bare V1 image"
run qemu-img compare -f parallels -F raw "$WORK/v1.hds" "$WORK/src.raw"
is "$RC" 0 "V1 64K import identical to the source"
run "$P" convert -q "$WORK/v1.hds" "$WORK/old.raw"
cmp -s "$WORK/old.raw" "$WORK/src.raw"
ok $? "export over an existing file: identical to the source"

# Any snapshot state: A, snapshot, B over part of it, grow, snapshot, C.
"$P" create -s 8M "$WORK/s" > /dev/null
head -c 3M /dev/urandom > "$WORK/A"
"$P" write "$WORK/s" < "$WORK/A"
G1=$("$P" snapshot "$WORK/s")
head -c 1M /dev/urandom > "$WORK/B"
"$P" write --offset 1M "$WORK/s" < "$WORK/B"
"$P" resize -s 12M "$WORK/s"
G2=$("$P" snapshot "$WORK/s")
head -c 512K /dev/urandom | "$P" write --offset 10M "$WORK/s"
"$P" read "$WORK/s" > "$WORK/now.raw"
"$P" convert -q --snapshot "$G1" "$WORK/s" "$WORK/g1.raw"
{ cat "$WORK/A"; head -c 5M /dev/zero; } > "$WORK/g1.ref"
cmp -s "$WORK/g1.raw" "$WORK/g1.ref"
ok $? "--snapshot G1: state A, at its own size (8 MiB)"
"$P" convert -q --snapshot "$G2" "$WORK/s" "$WORK/g2.raw"
{ head -c 1M "$WORK/A"; cat "$WORK/B"; tail -c +2097153 "$WORK/A"; \
  head -c 9M /dev/zero; } > "$WORK/g2.ref"
cmp -s "$WORK/g2.raw" "$WORK/g2.ref"
ok $? "--snapshot G2: A with B over it, 12 MiB"
"$P" convert -q "$WORK/s" "$WORK/top.raw"
cmp -s "$WORK/top.raw" "$WORK/now.raw"
ok $? "no --snapshot: the disk as it is"
run "$P" convert -O prld --snapshot "$G2" "$WORK/s" "$WORK/flat"
is "$RC" 0 "-O prld: a snapshot state into a new one-image disk"
run qemu-img compare -f parallels -F raw "$WORK/flat/root.hds" "$WORK/g2.ref"
is "$RC" 0 "-O prld: identical to the state"
run "$P" convert --snapshot '{00000000-0000-0000-0000-00000000abcd}' "$WORK/s" "$WORK/x.raw"
like "$ERR" "no snapshot" "an unknown snapshot GUID is refused"
ok $([ ! -e "$WORK/x.raw" ]; echo $?) "and nothing is created"

# Images QEMU wrote: export as qemu-img exports them.
qemu-img create -q -f parallels -o cluster_size=64k "$WORK/q.hds" 32M
qemu-io -f parallels -c "write -P 0x33 100k 300k" -c "write -P 0x77 20M 1M" \
	"$WORK/q.hds" > /dev/null
qemu-img convert -f parallels -O raw "$WORK/q.hds" "$WORK/q.ref"
run "$P" convert "$WORK/q.hds" "$WORK/q.raw"
is "$RC" 0 "export of a qemu-written image"
cmp -s "$WORK/q.raw" "$WORK/q.ref"
ok $? "qemu-written image exports like qemu-img convert"
run "$P" convert "$WORK/q.ref" "$WORK/q2.hds"
run qemu-img compare -f parallels -f parallels "$WORK/q2.hds" "$WORK/q.hds"
is "$RC" 0 "and imports back identical for qemu-img compare"
run qemu-img check -f parallels "$WORK/q2.hds"
is "$RC" 0 "qemu-img check clean on the re-import"

# Refusals: an existing destination disk, raw to raw, --snapshot of raw.
run "$P" convert "$WORK/src.raw" "$WORK/d"
is "$RC" 1 "import over an existing disk is refused"
like "$ERR" "exists" "and says it exists"
run "$P" convert -O raw "$WORK/src.raw" "$WORK/r2.raw"
like "$ERR" "raw to raw" "raw to raw is refused"
sum=$(md5sum < "$WORK/d/root.hds")
run "$P" convert "$WORK/d" "$WORK/d/root.hds"
like "$ERR" "convert does not overwrite one" "exporting over an image (its own) is refused"
is "$(md5sum < "$WORK/d/root.hds")" "$sum" "and the image is untouched"
run "$P" convert -O qcow2 "$WORK/d" "$WORK/r.qcow2"
like "$ERR" "qemu-img convert" "-O qcow2 points at qemu-img"

# -p: a progress bar on stderr.
run "$P" convert -p "$WORK/d" "$WORK/p.raw"
like "$ERR" "100% 512/512 MiB" "-p draws the bar up to 100%"

# Block devices (a loop device over a file), both ways.
if [ "$(id -u)" = 0 ] && LOOP=$(losetup -f --show "$WORK/dev.img" 2>/dev/null ||
	{ truncate -s 600M "$WORK/dev.img"; losetup -f --show "$WORK/dev.img"; }); then
	dd if=/dev/urandom of="$LOOP" bs=1M count=600 status=none 2>/dev/null
	run "$P" convert -q "$WORK/d" "$LOOP"
	is "$RC" 0 "export to a block device"
	cmp -s -n 536870912 "$LOOP" "$WORK/src.raw"
	ok $? "the device holds the disk, zeros written over the old data"
	run "$P" convert -q "$LOOP" "$WORK/fromdev"
	is "$RC" 0 "import from a block device"
	"$P" read --length 512M "$WORK/fromdev" | cmp -s - "$WORK/src.raw"
	ok $? "import from the device identical (up to the source's end)"
	run qemu-img check -f parallels "$WORK/fromdev/root.hds"
	is "$RC" 0 "import from the device: qemu-img check clean"
	# The device is larger (600 MiB): its random tail is data too.
	is "$("$P" info --json "$WORK/fromdev" | jq .allocated_clusters)" $((128 + 88)) \
		"import from the device skips its zero blocks"
	"$P" create -s 1G "$WORK/huge" > /dev/null
	run "$P" convert "$WORK/huge" "$LOOP"
	like "$ERR" "the device has 629145600 bytes (600 MiB), the disk 1073741824 bytes (1 GiB)" \
		"a device smaller than the disk is refused, sizes in bytes"
	losetup -d "$LOOP"
else
	ok 1 "losetup needs root: block device cases not run"
fi

# Ctrl-C: the incomplete output goes, the source is untouched.
interrupt_convert() {	# interrupt_convert NAME SRC DST WATCH
	"$P" convert "$2" "$3" 2> "$WORK/int.err" & local pid=$! i
	for i in $(seq 400); do
		[ -e "$4" ] && [ "$(stat -c %s "$4" 2>/dev/null || echo 0)" -gt $((32 * MiB)) ] && break
		sleep 0.01
	done
	kill -INT $pid
	wait $pid
	is $? 130 "$1: SIGINT ends convert with 130"
	ok $([ ! -e "$3" ]; echo $?) "$1: the incomplete output is removed"
	like "$(cat "$WORK/int.err")" "interrupted: $3 removed (it was incomplete)" \
		"$1: and says so"
}
truncate -s 1G "$WORK/big.raw"
dd if=/dev/urandom of="$WORK/big.raw" bs=1M count=400 status=none
interrupt_convert "import" "$WORK/big.raw" "$WORK/int" "$WORK/int/root.hds"
"$P" convert -q "$WORK/big.raw" "$WORK/big"
interrupt_convert "export" "$WORK/big" "$WORK/int.raw" "$WORK/int.raw"
run "$P" check "$WORK/big"
is "$RC" 0 "the interrupted export's source checks clean"
rm -rf "$WORK/big" "$WORK/big.raw"

tap_done
