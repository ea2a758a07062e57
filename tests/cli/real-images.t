#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# real-images.t - disks other tools make, as users have them: the real
# Parallels Desktop 17 bundles (shared/data, extracted here, never kept)
# and every variant of docs' real-images.md built byte by byte by
# tests/corpus/gen_real.py.  Each is read byte for byte against its
# expected content, QEMU judging single images too, or refused with the
# reason; writes are checked the same way.
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/chain.sh"

GEN="python3 $(dirname "$0")/../corpus/gen_real.py"
PD17=${PRLD_PD17:-$(dirname "$0")/../../../shared/data/parallels-desktop-17/pd17-bundles.tar.xz}
SPLIT_SHA=035f643ace2bbca90762a1318e865ec456c44cfd578e65ed32a9363d6348efa1
MIB=1048576

gen() { $GEN "$1" "$WORK/$1"; }

# reads_as NAME DISK RAW: prldctl read equals the expected bytes.
reads_as() {
	"$PRLDCTL" read "$2" | cmp -s - "$3"
	ok $? "$1: read equals the expected bytes"
}

# check_is NAME DISK STATUS [TEXT]
check_is() {
	run "$PRLDCTL" check "$2"
	is "$RC" "$3" "$1: check exits $3"
	[ -z "${4:-}" ] || like "$OUT$ERR" "$4" "$1: check says '$4'"
}

# refused NAME DISK TEXT: info and read fail, naming the reason.
refused() {
	run "$PRLDCTL" info "$2"
	is "$RC" 1 "$1: info refuses it"
	like "$ERR" "$3" "$1: ... saying '$3'"
	run "$PRLDCTL" read --length 512 "$2"
	ok $((RC == 0)) "$1: read refuses it"
	is "$OUT" "" "$1: ... and prints no data"
}

# write_at DISK RAW OFFSET BYTES SEED: the same random bytes into both.
write_at() {
	head -c "$4" /dev/urandom >"$WORK/w.bin"
	"$PRLDCTL" write --offset "$3" "$1" <"$WORK/w.bin" &&
		dd if="$WORK/w.bin" of="$2" bs=1 seek="$3" conv=notrunc \
			status=none 2>/dev/null ||
		dd if="$WORK/w.bin" of="$2" bs=4096 oflag=seek_bytes \
			seek="$3" conv=notrunc status=none
}

# ---- the real Parallels Desktop 17 bundles ---------------------------

if [ -r "$PD17" ]; then
	tar -xJf "$PD17" -C "$WORK"
	e=$WORK/expanding.hdd
	python3 -c 'import sys
for i in range(100): sys.stdout.buffer.write(bytes([i]) * (1 << 20))' >"$WORK/expanding.raw"
	grep -q TopGUID "$e/DiskDescriptor.xml"
	ok $((! $?)) "pd17 expanding: the descriptor has no TopGUID (as PD writes)"
	run "$PRLDCTL" info --json "$e"
	is "$RC" 0 "pd17 expanding: info works"
	is "$(jq .virtual_size <<<"$OUT")" 104857600 "pd17 expanding: 100 MiB"
	reads_as "pd17 expanding" "$e" "$WORK/expanding.raw"
	check_is "pd17 expanding" "$e" 0 "No errors were found."
	unlike=$(grep -c "unknown in-use" <<<"$OUT")
	is "$unlike" 0 "pd17 expanding: PD's 'pd17' in-use value is clean"
	reads_as "pd17 expanding, the bundle's inner empty file" "$e/expanding.hdd" "$WORK/expanding.raw"
	qemu-img convert -f parallels -O raw "$e"/*.hds "$WORK/q.raw"
	cmp -s "$WORK/q.raw" "$WORK/expanding.raw"
	ok $? "pd17 expanding: qemu-img reads the same image the same"
	# Writes: across clusters, unaligned, into the one unmapped MiB 0.
	write_at "$e" "$WORK/expanding.raw" 1000 5000
	write_at "$e" "$WORK/expanding.raw" $((50 * MIB - 700)) 3000
	write_at "$e" "$WORK/expanding.raw" $((100 * MIB - 512)) 512
	reads_as "pd17 expanding after writes" "$e" "$WORK/expanding.raw"
	check_is "pd17 expanding after writes" "$e" 0
	qemu-img check -f parallels "$e"/*.hds >/dev/null 2>&1
	ok $? "pd17 expanding after writes: qemu-img check passes"
	qemu-img compare -f parallels -F raw "$e"/*.hds "$WORK/expanding.raw" >/dev/null
	ok $? "pd17 expanding after writes: qemu-img compare agrees"
	# A snapshot keeps the bundle in PD's style.
	run "$PRLDCTL" snapshot "$e"
	is "$RC" 0 "pd17 expanding: snapshot"
	snap=$OUT
	grep -q TopGUID "$e/DiskDescriptor.xml"
	ok $((! $?)) "pd17 expanding: ... adds no TopGUID"
	is "$(xmllint --xpath 'string(//Shot[1]/GUID)' "$e/DiskDescriptor.xml")" "$TOPG" \
		"pd17 expanding: ... the top's Shot first (libphdi reads the first)"
	ls "$e/expanding.hdd.0.$snap.hds" >/dev/null 2>&1
	ok $? "pd17 expanding: ... the delta named in PD's pattern"
	like "$(cat "$e/DiskDescriptor.xml")" "<UID>{0610bb35" "pd17 expanding: ... PD's own elements kept"
	write_at "$e" "$WORK/expanding.raw" $((7 * MIB + 3)) 100
	reads_as "pd17 expanding over a snapshot" "$e" "$WORK/expanding.raw"
	check_is "pd17 expanding with a snapshot" "$e" 0
	run "$PRLDCTL" delete-snapshot "$snap" "$e"
	is "$RC" 0 "pd17 expanding: delete-snapshot merges it"
	reads_as "pd17 expanding after the merge" "$e" "$WORK/expanding.raw"
	grep -q TopGUID "$e/DiskDescriptor.xml"
	ok $((! $?)) "pd17 expanding: ... still no TopGUID"

	s=$WORK/split.hdd
	run "$PRLDCTL" info "$s"
	is "$RC" 0 "pd17 split: info works"
	like "$OUT" "split.hdd.5.{" "pd17 split: ... lists the 6th piece"
	like "$OUT" "pieces:         6 (a split disk)" "pd17 split: ... says it is split"
	like "$OUT" "piece 5 from sector 19947520" "pd17 split: ... and where each piece starts"
	is "$("$PRLDCTL" read "$s" | sha256sum | cut -d' ' -f1)" "$SPLIT_SHA" \
		"pd17 split: read equals the disk's sha256 (10 GiB)"
	check_is "pd17 split" "$s" 0 "No errors were found."
	# Piece k holds value k near its start and its end: the boundaries.
	for k in 1 2 3 4 5; do
		off=$((k * 3989504 * 512))
		got=$("$PRLDCTL" read --offset $((off - 1)) --length 2 "$s" | od -An -tu1 | tr -s ' ')
		is "$got" " $k $((k + 1))" "pd17 split: piece boundary $k reads $k then $((k + 1))"
	done
	# A write across the first boundary lands in both pieces.
	head -c 8192 /dev/urandom >"$WORK/w.bin"
	"$PRLDCTL" write --offset $((3989504 * 512 - 4096)) "$s" <"$WORK/w.bin"
	ok $? "pd17 split: a write across a piece boundary"
	"$PRLDCTL" read --offset $((3989504 * 512 - 4096)) --length 8192 "$s" | cmp -s - "$WORK/w.bin"
	ok $? "pd17 split: ... reads back"
	check_is "pd17 split after the write" "$s" 0
	run "$PRLDCTL" snapshot "$s"
	is "$RC" 1 "pd17 split: snapshot refused"
	like "$ERR" "a split disk (6 <Storage> pieces): not supported" "pd17 split: ... saying why"
	run "$PRLDCTL" delete-snapshot "$TOPG" "$s"
	like "$ERR" "split disk" "pd17 split: delete-snapshot refused"
	run "$PRLDCTL" resize -s 20G "$s"
	like "$ERR" "split disk" "pd17 split: resize refused"
else
	ok 0 "# SKIP PD 17 fixtures not found at $PD17"
fi

# ---- Parallels Desktop style bundles ----------------------------------

for c in pd-no-topguid pd-topguid pd-no-shot pd-windows-path pd-chs-too-big \
	pd-absolute-path pd-dotdot-path; do
	gen "$c"
	reads_as "$c" "$WORK/$c" "$WORK/$c.raw"
	check_is "$c" "$WORK/$c" 0
	write_at "$WORK/$c" "$WORK/$c.raw" $((MIB - 100)) 300
	reads_as "$c after a write" "$WORK/$c" "$WORK/$c.raw"
done

gen pd-encrypted
refused pd-encrypted "$WORK/pd-encrypted" "encrypted disk (<Encryption> engine {d3a1f5c2"
check_is pd-encrypted "$WORK/pd-encrypted" 63 "unsupported: "
gen pd-padding
refused pd-padding "$WORK/pd-padding" "<Padding> 1: padded disks are not supported"
check_is pd-padding "$WORK/pd-padding" 63 "Not supported by prld"
gen pd-two-leaves
refused pd-two-leaves "$WORK/pd-two-leaves" "is not the only leaf of the snapshot tree"
check_is pd-two-leaves "$WORK/pd-two-leaves" 63 "{7d1e0c8a-55aa-4c3e-8f1b-2a9e6b4c0d77} is one too"
gen pd-backup-only
run "$PRLDCTL" info "$WORK/pd-backup-only"
is "$RC" 1 "pd-backup-only: info fails"
like "$ERR" "only Parallels Desktop's copy DiskDescriptor.xml.Backup: if it is current, restore it (cp " "pd-backup-only: ... saying what to do"

# ---- split, raw-base, resized, old, torn, CBT ------------------------

gen split3
reads_as split3 "$WORK/split3" "$WORK/split3.raw"
check_is split3 "$WORK/split3" 0
write_at "$WORK/split3" "$WORK/split3.raw" $((3 * MIB - 10)) $((3 * MIB + 20))
reads_as "split3 after a write over a whole piece" "$WORK/split3" "$WORK/split3.raw"
check_is "split3 after the write" "$WORK/split3" 0
run "$PRLDCTL" map --json "$WORK/split3"
is "$(jq -r '"\(.bits) \(.bitmap)"' <<<"$OUT")" "8 fd" "split3: map covers the 8 clusters of all pieces (after the write: all but cluster 1)"

for c in ploop-raw-base ploop-raw-base-grown; do
	gen "$c"
	reads_as "$c" "$WORK/$c" "$WORK/$c.raw"
	check_is "$c" "$WORK/$c" 0 "typed Plain but holds a Parallels delta"
	qemu-img convert -O raw --image-opts "driver=parallels,file.driver=file,file.filename=$WORK/$c/root.hds.{9b1c5c5e-2c1f-4a8e-9a57-3f0c2f3b8d11},backing.driver=raw,backing.file.driver=file,backing.file.filename=$WORK/$c/root.hds" "$WORK/q.raw"
	cmp -s "$WORK/q.raw" "$WORK/$c.raw"
	ok $? "$c: QEMU reading the delta over the raw base agrees"
	write_at "$WORK/$c" "$WORK/$c.raw" $((4 * MIB - 5)) 70000
	reads_as "$c after a write" "$WORK/$c" "$WORK/$c.raw"
	cmp -s "$WORK/$c/root.hds" <(head -c $((16 * MIB)) "$WORK/$c.raw") 
	ok $((! $?)) "$c: the write went to the delta, not the raw base"
	check_is "$c after the write" "$WORK/$c" 0
done

gen small-top
reads_as small-top "$WORK/small-top" "$WORK/small-top.raw"
check_is small-top "$WORK/small-top" 0 "less than the descriptor's Disk_size 65536: the disk has the top's size"

gen v1-data-off-zero
reads_as v1-data-off-zero "$WORK/v1-data-off-zero" "$WORK/v1-data-off-zero.raw"
qemu-img convert -f parallels -O raw "$WORK/v1-data-off-zero" "$WORK/q.raw"
cmp -s "$WORK/q.raw" "$WORK/v1-data-off-zero.raw"
ok $? "v1-data-off-zero: qemu-img reads it the same"
check_is v1-data-off-zero "$WORK/v1-data-off-zero" 0 "data_off is 0"
run "$PRLDCTL" write "$WORK/v1-data-off-zero" <<<"x"
is "$RC" 1 "v1-data-off-zero: write refused"
like "$ERR" "data_off is 0 (an old header; the data area is computed as QEMU does): read-only" "v1-data-off-zero: ... saying why"

gen torn-last-cluster
t=$WORK/torn-last-cluster
reads_as torn-last-cluster "$t" "$t.raw"
qemu-img convert -f parallels -O raw "$t" "$WORK/q.raw"
cmp -s "$WORK/q.raw" "$t.raw"
ok $? "torn-last-cluster: qemu-img reads it the same"
check_is torn-last-cluster "$t" 2 "its cluster is cut short by the end of the file"
run "$PRLDCTL" write "$t" <<<"x"
is "$RC" 1 "torn-last-cluster: write refused"
like "$ERR" "the last mapped cluster is cut short by the end of the file (a torn write): read-only; \`prldctl check --repair\`" "torn-last-cluster: ... saying what to do"
check_is "torn-last-cluster repair" "$t" 2
run "$PRLDCTL" check --repair "$t"
is "$RC" 0 "torn-last-cluster: --repair restores it"
reads_as "torn-last-cluster after the repair" "$t" "$t.raw"
write_at "$t" "$t.raw" $((3 * MIB + 1000)) 5000
reads_as "torn-last-cluster writable after the repair" "$t" "$t.raw"

gen cbt
c=$WORK/cbt
reads_as cbt "$c" "$c.raw"
qemu-img convert -f parallels -O raw "$c" "$WORK/q.raw"
cmp -s "$WORK/q.raw" "$c.raw"
ok $? "cbt: qemu-img opens it (checksum, bitmap) and reads the same"
check_is cbt "$c" 0 "format extension at sector"
like "$OUT" "No errors were found." "cbt: the bitmap and extension clusters are no leaks"
write_at "$c" "$c.raw" 100 200
is "$(le64 "$c" 56)" 0 "cbt: a write dropped the extension (ext_off 0)"
reads_as "cbt after the write" "$c" "$c.raw"
check_is "cbt after the write" "$c" 0
qemu-img check -f parallels "$c" >/dev/null 2>&1
ok $? "cbt after the write: qemu-img check clean (its clusters reclaimed)"
qemu-img compare -f parallels -F raw "$c" "$c.raw" >/dev/null
ok $? "cbt after the write: qemu-img compare agrees"

tap_done
