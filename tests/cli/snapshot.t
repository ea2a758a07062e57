#!/bin/bash
# prldctl snapshot / snapshots / revert offline: data at every level read
# back exactly, the descriptor they write, changes maps between snapshots
# replayed onto the older state, QEMU as the judge of the chains, and the
# refusals (unknown GUID, the top, bare image, disk in use, bad descriptor).
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/chain.sh"

CL=65536
GUID_RE='^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$'
head -c 4M /dev/urandom > "$WORK/pool"
POOLPOS=0

# put DIR OFFSET LEN: fresh bytes from the pool into the disk.
put() {
	tail -c +$((POOLPOS + 1)) "$WORK/pool" | head -c "$3" |
		"$PRLDCTL" write --offset "$2" "$1"
	POOLPOS=$(( (POOLPOS + $3) % (3 << 20) ))
}

# ---- write A, snapshot, write B, revert: A again -------------------------

d=$WORK/d
"$PRLDCTL" create -s 16M --cluster-size 64K "$d" > /dev/null
put "$d" 0 1000000
put "$d" 7000000 300000
"$PRLDCTL" read "$d" > "$WORK/a.raw"
run "$PRLDCTL" snapshot "$d"
is "$RC" 0 "snapshot: exit 0"
s=$OUT
[[ $s =~ $GUID_RE ]]
ok $? "snapshot prints a GUID ($s)"
ok $([ -f "$d/root.hds.$s" ]; echo $?) "new delta root.hds.{GUID}"
is "$(xp "$d" "//Image[GUID='$TOPG']/File")" "root.hds.$s" "top image file"
is "$(xp "$d" "//Shot[GUID='$TOPG']/ParentGUID")" "$s" "top's parent"
is "$(xp "$d" "//Image[GUID='$s']/File")" "root.hds" "old top holds the snapshot GUID"
judge "after one snapshot" "$d" 2
put "$d" 500000 200000
put "$d" 12000000 70000
"$PRLDCTL" read "$d" > "$WORK/b.raw"
cmp -s "$WORK/a.raw" "$WORK/b.raw"
ok $((! $?)) "B differs from A"
judge "after writing B" "$d" 2
run "$PRLDCTL" revert --to "$s" "$d"
is "$RC" 0 "revert: exit 0"
"$PRLDCTL" read "$d" | cmp -s - "$WORK/a.raw"
ok $? "A reads back after revert"
ok $([ ! -e "$d/root.hds.$s" ]; echo $?) "discarded delta removed"
is "$(ls "$d" | wc -l)" 3 "descriptor, base, one new delta"
judge "after revert" "$d" 2

# ---- three deep --------------------------------------------------------

t=$WORK/t
"$PRLDCTL" create -s 16M --cluster-size 64K "$t" > /dev/null
put "$t" 0 400000
put "$t" 9000000 100000
"$PRLDCTL" read "$t" > "$WORK/l0.raw"
S1=$("$PRLDCTL" snapshot "$t")
put "$t" 100000 150000
put "$t" 3000000 65536
"$PRLDCTL" read "$t" > "$WORK/l1.raw"
S2=$("$PRLDCTL" snapshot --json "$t" | jq -r .guid)
[[ $S2 =~ $GUID_RE ]]
ok $? "snapshot --json gives the GUID"
put "$t" 300000 50000
put "$t" 15000000 1000
"$PRLDCTL" read "$t" > "$WORK/l2.raw"
S3=$("$PRLDCTL" snapshot "$t")
put "$t" 2000 10
put "$t" 16000000 700000
"$PRLDCTL" read "$t" > "$WORK/l3.raw"
judge "three deep" "$t" 4

run "$PRLDCTL" snapshots "$t"
is "$RC" 0 "snapshots: exit 0"
is "$(echo "$OUT" | wc -l)" 4 "snapshots: one line per shot"
like "$(echo "$OUT" | tail -1)" "$TOPG" "snapshots: top last"
like "$(echo "$OUT" | tail -1)" "[top]" "snapshots: top marked"
like "$(echo "$OUT" | head -1)" "* $S1" "snapshots: root first, on the chain"
like "$(echo "$OUT" | sed -n 3p)" "*     $S3" "snapshots: indented by depth"
j=$("$PRLDCTL" snapshots --json "$t")
is "$(echo "$j" | jq length)" 4 "snapshots --json: four objects"
is "$(echo "$j" | jq -r '[.[].guid] | join(" ")')" "$S1 $S2 $S3 $TOPG" \
	"snapshots --json: tree order"
is "$(echo "$j" | jq '[.[].depth] | join(",")' -r)" "0,1,2,3" "depths"
is "$(echo "$j" | jq '[.[] | select(.on_chain)] | length')" 4 "all on the chain"
is "$(echo "$j" | jq -r '.[3].top, .[0].top')" "true
false" "top flag"
is "$(echo "$j" | jq -r '.[1].parent')" "$S1" "parent"
info_alloc=$("$PRLDCTL" info --json "$t" | jq '[.layers[].allocated_clusters] | join(",")' -r 2>/dev/null)
is "$(echo "$j" | jq -r '[.[].allocated] | join(",")')" \
	"$info_alloc" "allocated matches prldctl info"

# Every level read back on a copy reverted to it.
lvl=0
for g in "$S1" "$S2" "$S3"; do
	rm -rf "$WORK/c"
	cp -a "$t" "$WORK/c"
	"$PRLDCTL" revert --to "$g" "$WORK/c"
	"$PRLDCTL" read "$WORK/c" | cmp -s - "$WORK/l$lvl.raw"
	ok $? "level $lvl reads back exactly after revert"
	lvl=$((lvl + 1))
done
judge "reverted copy" "$WORK/c" 4

# ---- changes maps replayed onto the older state ------------------------

# replay MAPFILE SRC DST: copy the clusters the raw bitmap lists.
replay() {
	local i=0 b bit n=0
	for b in $(od -An -tu1 -v "$1"); do
		for bit in 0 1 2 3 4 5 6 7; do
			if (( b >> bit & 1 )); then
				"$PRLDCTL" read --offset $(( (i * 8 + bit) * CL )) \
					--length $CL "$2" |
					"$PRLDCTL" write --offset $(( (i * 8 + bit) * CL )) "$3"
				n=$((n + 1))
			fi
		done
		i=$((i + 1))
	done
	echo $n
}

"$PRLDCTL" map --from "$S1" --raw "$t" > "$WORK/m13.bin"
hex=$("$PRLDCTL" map --from "$S1" --json "$t" | jq -r .bitmap)
is "$(od -An -tx1 -v "$WORK/m13.bin" | tr -d ' \n')" "$hex" "map --raw and --json agree"
rm -rf "$WORK/old"
cp -a "$t" "$WORK/old"
"$PRLDCTL" revert --to "$S1" "$WORK/old"
n=$(replay "$WORK/m13.bin" "$t" "$WORK/old")
set=$("$PRLDCTL" map --from "$S1" --json "$t" | jq .set)
is "$n" "$set" "replayed every listed cluster ($n)"
ok $((n >= 256)) "the map lists only some clusters"
"$PRLDCTL" read "$WORK/old" | cmp -s - "$WORK/l3.raw"
ok $? "S1 state + clusters of map --from S1 = the top, byte for byte"

"$PRLDCTL" map --from "$S1" --to "$S2" --raw "$t" > "$WORK/m12.bin"
rm -rf "$WORK/at2" "$WORK/old"
cp -a "$t" "$WORK/at2"
"$PRLDCTL" revert --to "$S2" "$WORK/at2"
cp -a "$t" "$WORK/old"
"$PRLDCTL" revert --to "$S1" "$WORK/old"
replay "$WORK/m12.bin" "$WORK/at2" "$WORK/old" > /dev/null
"$PRLDCTL" read "$WORK/old" | cmp -s - "$WORK/l1.raw"
ok $? "S1 state + clusters of map --from S1 --to S2 = S2, byte for byte"
run "$PRLDCTL" map --from "$S2" --to "$S1" "$t"
ok $((RC == 0)) "map with the newer snapshot first is refused"

# ---- vendor elements ---------------------------------------------------

v=$WORK/v
"$PRLDCTL" create -s 4M "$v" > /dev/null
sed -i 's|<File>root.hds</File>|&<VendorImage>base</VendorImage>|;
	s|</Disk_Parameters>|&<Vendor_Root a="1">x</Vendor_Root>|' \
	"$v/DiskDescriptor.xml"
vs=$("$PRLDCTL" snapshot "$v")
"$PRLDCTL" snapshot "$v" > /dev/null
grep -q '<VendorImage>base</VendorImage>' "$v/DiskDescriptor.xml"
ok $? "snapshot keeps the image's vendor element"
grep -q '<Vendor_Root a="1">x</Vendor_Root>' "$v/DiskDescriptor.xml"
ok $? "snapshot keeps the root's vendor element"
"$PRLDCTL" revert --to "$vs" "$v"
grep -q '<VendorImage>base</VendorImage>' "$v/DiskDescriptor.xml" &&
	grep -q '<Vendor_Root a="1">x</Vendor_Root>' "$v/DiskDescriptor.xml"
ok $? "revert keeps them"
judge "vendor disk" "$v" 2

# ---- refusals ----------------------------------------------------------

cp "$t/DiskDescriptor.xml" "$WORK/desc.before"
files_before=$(ls "$t")
unk='{01234567-89ab-cdef-0123-456789abcdef}'
run "$PRLDCTL" revert --to "$unk" "$t"
is "$RC" 1 "revert to an unknown GUID: exit 1"
like "$ERR" "no snapshot $unk" "... names the GUID"
run "$PRLDCTL" revert --to "$TOPG" "$t"
is "$RC" 1 "revert to the top: exit 1"
like "$ERR" "$TOPG is the current top" "... says so"
run "$PRLDCTL" revert "$t"
is "$RC" 1 "revert without --to: exit 1"
like "$ERR" "--to GUID is required" "... says so"

top=$t/$(xp "$t" "//Image[GUID='$TOPG']/File")
run flock -x "$top" "$PRLDCTL" snapshot "$t"
is "$RC" 1 "snapshot while another process holds the top: exit 1"
like "$ERR" "in use" "... says the disk is in use"
run flock -x "$top" "$PRLDCTL" revert --to "$S1" "$t"
is "$RC" 1 "revert while another process holds the top: exit 1"
like "$ERR" "in use" "... says so too"
run flock -s "$top" "$PRLDCTL" revert --to "$S1" "$t"
is "$RC" 1 "revert while a reader holds the top: exit 1"
cmp -s "$t/DiskDescriptor.xml" "$WORK/desc.before"
ok $? "refusals left the descriptor alone"
is "$(ls "$t")" "$files_before" "refusals left the files alone"

"$PRLDCTL" create --image -s 4M "$WORK/bare.hds" > /dev/null
run "$PRLDCTL" snapshot "$WORK/bare.hds"
is "$RC" 1 "snapshot of a bare image: exit 1"
like "$ERR" "bare image" "... says why"
run "$PRLDCTL" snapshots "$WORK/bare.hds"
is "$RC" 1 "snapshots of a bare image: exit 1"

m=$WORK/m
"$PRLDCTL" create -s 4M "$m" > /dev/null
sed -i 's|<TopGUID>|&{nonsense|' "$m/DiskDescriptor.xml"
run "$PRLDCTL" snapshot "$m"
is "$RC" 1 "snapshot with a malformed descriptor: exit 1"
like "$ERR" "TopGUID" "... names the bad element"
is "$(ls "$m" | wc -l)" 2 "... and creates nothing"
printf '<Parallels_disk_image><oops>' > "$m/DiskDescriptor.xml"
run "$PRLDCTL" snapshot "$m"
is "$RC" 1 "snapshot with broken XML: exit 1"
like "$ERR" "DiskDescriptor.xml" "... names the descriptor"

# Racing snapshots: each one wins or is refused; none is lost or orphaned.
r=$WORK/race
"$PRLDCTL" create -s 4M --cluster-size 64K "$r" > /dev/null
for i in $(seq 12); do
	"$PRLDCTL" snapshot "$r" > "$WORK/race.$i" 2> /dev/null &
done
wait
won=$(cat "$WORK"/race.* | wc -l)
ok $((won < 1)) "racing snapshots: $won of 12 won"
is "$("$PRLDCTL" snapshots --json "$r" | jq length)" $((won + 1)) \
	"racing snapshots: one shot per winner"
is "$(ls "$r" | wc -l)" $((won + 2)) "racing snapshots: no stray deltas"
judge "racing snapshots" "$r" $((won + 1))

tap_done
