#!/bin/bash
# prldctl compact: images QEMU wrote (bare, 1 MiB and 64 KiB clusters,
# and a chain prld snapshotted and QEMU wrote into) with leaked clusters
# among their data, compacted: the file ends after its last cluster,
# qemu-img check is clean, qemu-img compare against a raw reference made
# before says identical, prldctl check is clean; the report in text and
# JSON; nothing to do leaves the bytes alone; refusals (busy, not an
# image, a directory without descriptor); a crash at each step, then
# check --repair and compact again.
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/chain.sh"

P=$PRLDCTL
: "${PRLDCTL_TEST:?PRLDCTL_TEST must point at prldctl built with the test hooks}"
MB=1048576

# leak IMAGE FIRST N: clear BAT entries FIRST..FIRST+N-1 (their clusters
# stay in the file, referenced by nothing: leaked, as after a crash).
leak() {
	dd if=/dev/zero of="$1" bs=4 seek=$((16 + $2)) count="$3" conv=notrunc status=none
}
# entries IMAGE: the non-zero BAT entries.
entries() {
	local n
	n=$(le32 "$1" 32)
	od -An -tu4 -v -j 64 -N $((4 * n)) "$1" | tr -s ' ' '\n' | grep -vc '^0*$'
}

for cl in 1M 64K; do
	img=$WORK/q$cl.hds
	qemu-img create -q -f parallels -o cluster_size=$cl "$img" 64M
	qemu-io -f parallels -c "write -P 0x11 0 20M" -c "write -P 0x22 30M 5M" \
		-c "write -P 0x33 50M 64k" "$img" > /dev/null
	bytes=$(numfmt --from=iec "$cl")
	n=$(entries "$img")
	leak "$img" 2 $((4 * MB / bytes))
	leak "$img" $((10 * MB / bytes)) 1
	left=$(entries "$img")
	qemu-img convert -f parallels -O raw "$img" "$WORK/ref.raw"
	before=$(stat -c %s "$img")
	run "$P" compact "$img"
	is "$RC" 0 "$cl: compact a QEMU-written image with leaked clusters"
	like "$OUT" "clusters moved" "$cl: the report says what moved"
	data=$(( before - n * bytes ))
	is "$(stat -c %s "$img")" $((data + left * bytes)) "$cl: the file ends after its $left clusters"
	run qemu-img check -f parallels "$img"
	is "$RC" 0 "$cl: qemu-img check clean"
	run qemu-img compare -f parallels -F raw "$img" "$WORK/ref.raw"
	is "$RC" 0 "$cl: qemu-img compare with the raw reference: identical"
	run "$P" check "$img"
	is "$RC" 0 "$cl: prldctl check clean"
	sum=$(md5sum < "$img")
	run "$P" compact --json "$img"
	is "$RC" 0 "$cl: compact again"
	is "$(jq '.[0].moved_clusters' <<<"$OUT")" 0 "$cl: nothing moved the second time"
	is "$(jq '.[0].size_before == .[0].size_after' <<<"$OUT")" true "$cl: the JSON report: same size"
	is "$(md5sum < "$img")" "$sum" "$cl: the image's bytes untouched"
done

# A chain: prld's snapshot, QEMU writing into each layer, leaks in both.
d=$WORK/chain
"$P" create -s 64M "$d" > /dev/null
qemu-io -f parallels -c "write -P 0x44 0 24M" "$d/root.hds" > /dev/null
g=$("$P" snapshot "$d")
top=$(chain_files "$d" | head -1)
qemu-io -f parallels -c "write -P 0x55 4M 8M" -c "write -P 0x66 40M 3M" "$top" > /dev/null
leak "$d/root.hds" 1 5
leak "$top" 5 2
"$P" read "$d" > "$WORK/top.raw"
"$P" read --snapshot "$g" "$d" > "$WORK/snap.raw"
run "$P" check "$d"
is "$RC" 3 "chain: check sees the leaks before (exit 3)"
run "$P" compact --json "$d"
is "$RC" 0 "chain: compact the disk directory"
is "$(jq length <<<"$OUT")" 2 "chain: both images reported"
is "$(jq '[.[] | select(.size_after < .size_before)] | length' <<<"$OUT")" 2 "chain: both files shrank"
is "$(jq '[.[] | select(.used_after <= .used_before)] | length' <<<"$OUT")" 2 "chain: neither takes more space"
run "$P" check "$d"
is "$RC" 0 "chain: prldctl check clean after"
"$P" read "$d" | cmp -s - "$WORK/top.raw"
ok $? "chain: the top state reads as before"
"$P" read --snapshot "$g" "$d" | cmp -s - "$WORK/snap.raw"
ok $? "chain: the snapshot's state reads as before"
qemu-img convert -O raw --image-opts "$(qemu_opts "$d")" "$WORK/q.raw"
cmp -s "$WORK/q.raw" "$WORK/top.raw"
ok $? "chain: QEMU reads the chain as before"
judge "chain after compact" "$d" 2

# Refusals.
exec 8<"$d/root.hds"
flock -s 8	# a reader's lock, as prld's, ploop's and the driver's
sum=$(md5sum < "$d/root.hds")
run "$P" compact "$d"
is "$RC" 1 "busy: refused while another process reads an image"
like "$ERR" "in use by another process" "busy: says why"
is "$(md5sum < "$d/root.hds")" "$sum" "busy: the image untouched"
exec 8<&-
head -c 100000 /dev/urandom > "$WORK/junk"
run "$P" compact "$WORK/junk"
is "$RC" 1 "a random file: refused"
like "$ERR" "not a Parallels image" "... as not a Parallels image"
mkdir "$WORK/empty"
run "$P" compact "$WORK/empty"
is "$RC" 1 "a directory without descriptor: refused"
like "$ERR" "DiskDescriptor.xml" "... naming what is missing"
run "$P" compact
is "$RC" 1 "no argument: usage error"

# A crash at each step: repair, compact again, same bytes.
for step in begin move:1 move:7 synced; do
	img=$WORK/crash.hds
	rm -f "$img"
	qemu-img create -q -f parallels -o cluster_size=64K "$img" 16M
	qemu-io -f parallels -c "write -P 0x77 0 8M" "$img" > /dev/null
	leak "$img" 0 32
	qemu-img convert -f parallels -O raw "$img" "$WORK/ref.raw"
	run env PRLD_TEST_COMPACT_CRASH=$step "$PRLDCTL_TEST" compact "$img"
	is "$RC" 86 "crash at $step: died there"
	run qemu-img compare -f parallels -F raw "$img" "$WORK/ref.raw"
	is "$RC" 0 "crash at $step: QEMU reads the same"
	run "$P" check "$img"
	is "$RC" 2 "crash at $step: check names the in-use flag (exit 2)"
	run "$P" check --repair "$img"
	ok $((RC != 0 && RC != 3)) "crash at $step: check --repair (exit $RC)"
	run "$P" compact "$img"
	is "$RC" 0 "crash at $step: compact again"
	run qemu-img compare -f parallels -F raw "$img" "$WORK/ref.raw"
	is "$RC" 0 "crash at $step: identical to the reference at the end"
	run qemu-img check -f parallels "$img"
	is "$RC" 0 "crash at $step: qemu-img check clean"
	is "$(stat -c %s "$img")" $(( $(stat -c %s "$img") / 65536 * 65536 )) "crash at $step: whole clusters"
done

tap_done
