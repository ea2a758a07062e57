#!/bin/bash
# Deleting snapshots of an attached device (online merge): the top's
# parent (the top takes its clusters through the driver's claims) and an
# inner snapshot (its lower child takes them), on a raw device and under a
# mounted ext4 with fio writing and verifying; every acknowledged byte
# reads back through the device (O_DIRECT) and offline, the descriptor
# names what the device holds, prldctl check and qemu-img check are clean
# and QEMU reads the shorter chain the same.  Progress as JSON lines; a
# merge killed at a step is finished by the next operation; refusals
# (read-only device, the top, malformed PRLD_MERGE_* requests).
. "$(dirname "$0")/lib.sh"

MB=1048576
layers() { "$PRLDCTL" info --json "$1" | jq '.layers | length'; }
# shots DIR: the descriptor's Shot GUIDs, sorted.
shots() { xmllint --xpath '//Shot/GUID/text()' "$1/DiskDescriptor.xml" | tr -s ' \n' '\n' | sort; }
# qemu_chain DIR: the descriptor's chain (base first) as --image-opts.
qemu_chain() {
	local f opts="" pre="" first=1
	while read -r f; do
		if [ $first = 1 ]; then
			opts="driver=parallels,file.driver=file,file.filename=$f"
			first=0
		else
			pre="backing.$pre"
			opts="$opts,${pre}driver=parallels,${pre}file.driver=file,${pre}file.filename=$f"
		fi
	done < <("$PRLDCTL" info --json "$1" | jq -r '.layers | reverse | .[].file')
	echo "$opts"
}
judge_dir() {	# judge_dir DIR WHAT: prldctl check, qemu-img check, QEMU's read
	local bad=0 f
	run "$PRLDCTL" check "$1"
	is "$RC" 0 "$2: prldctl check clean"
	[ "$RC" = 0 ] || echo "$OUT$ERR" | sed 's/^/#   /'
	for f in $("$PRLDCTL" info --json "$1" | jq -r '.layers[].file'); do
		qemu-img check -q -f parallels "$f" || bad=1
	done
	is "$bad" 0 "$2: qemu-img check clean on every image"
	qemu-img convert --image-opts "$(qemu_chain "$1")" -O raw "$WORK/q.raw"
	cmp -s "$WORK/q.raw" "$WORK/ref"
	ok $? "$2: QEMU reads the chain as the reference"
}

# ---- a raw device: the top's parent, an inner one, the base ----------
"$PRLDCTL" create -s 64M --cluster-size 256K "$S/d"
dev=$(attach "$S/d")
truncate -s 64M "$WORK/ref"
for i in 1 2 3 4; do
	head -c $((3 * MB + 4096)) /dev/urandom > "$WORK/w"
	put $(( (i * 13 % 60) * MB + i * 512 )) "$WORK/w"
	eval "s$i=\$(\"\$PRLDCTL\" snapshot \"\$dev\")"
done
head -c $((MB + 512)) /dev/urandom > "$WORK/w"
put $((7 * MB + 100 * 512)) "$WORK/w"
is "$(layers "$dev")" 5 "four snapshots: five layers"
devcmp "$dev" "$WORK/ref"
ok $? "the reference reads back before any merge"
s4file=$("$PRLDCTL" info --json "$dev" | jq -r '.layers[3].file')

run "$PRLDCTL" delete-snapshot --json "$s4" "$dev"
is "$RC" 0 "delete the top's parent on the device"
is "$(tail -1 <<<"$OUT" | jq -r .status)" ok "the last JSON line says ok"
total=$(head -1 <<<"$OUT" | jq .total)
ok $([ "$total" -gt 0 ]; echo $?) "JSON progress lines: $total clusters to take"
is "$(tail -2 <<<"$OUT" | head -1 | jq '.done == .total')" true "the last progress line is done = total"
is "$(layers "$dev")" 4 "the device has four layers"
ok $([ ! -e "$s4file" ]; echo $?) "the snapshot's file is gone"
ok $(shots "$S/d" | grep -q "${s4}"; [ $? = 1 ]; echo $?) "the descriptor no longer names it"
devcmp "$dev" "$WORK/ref"
ok $? "the device reads the reference (direct I/O)"
ok $([ ! -e "$S/d/DiskDescriptor.xml.merge" ]; echo $?) "no journal left"

head -c $((2 * MB)) /dev/urandom > "$WORK/w"
put $((30 * MB + 512)) "$WORK/w"
run "$PRLDCTL" delete-snapshot --pace 50 "$s2" "$S/d"
is "$RC" 0 "delete an inner snapshot (its child a lower layer) through the directory, at pace 50%"
is "$(layers "$dev")" 3 "three layers left"
devcmp "$dev" "$WORK/ref"
ok $? "the device reads the reference"
run "$PRLDCTL" delete-snapshot "$s1" "$dev"
is "$RC" 0 "delete the base (its child a lower layer)"
devcmp "$dev" "$WORK/ref"
ok $? "the device reads the reference"
put $((50 * MB)) "$WORK/w"
run "$PRLDCTL" delete-snapshot "$s3" "$dev"
is "$RC" 0 "delete the last snapshot: the base into the top"
is "$(layers "$dev")" 1 "one layer left"
devcmp "$dev" "$WORK/ref"
ok $? "the device reads the reference"
put $((61 * MB)) "$WORK/w"
"$PRLDCTL" close "$dev"
"$PRLDCTL" read "$S/d" | cmp -s - "$WORK/ref"
ok $? "offline read after detach: the reference"
is "$(shots "$S/d" | wc -l)" 1 "the descriptor names the top alone"
judge_dir "$S/d" "after four online merges"

# ---- the same through libprld's job calls, as a program would -------
# (tests/kernel/jobwait.c: prld_merge_start, prld_job_set_pace,
# prld_job_wait with a progress callback, on the device and on its DIR)
"$PRLDCTL" create -s 32M --cluster-size 256K "$S/j"
dev=$(attach "$S/j")
rm -f "$WORK/ref" && truncate -s 32M "$WORK/ref"
head -c $((12 * MB)) /dev/urandom > "$WORK/w"
put 0 "$WORK/w"
j1=$("$PRLDCTL" snapshot "$dev")
head -c $((MB + 512)) /dev/urandom > "$WORK/w2"
put $((5 * MB)) "$WORK/w2"
j2=$("$PRLDCTL" snapshot "$dev")
put $((20 * MB)) "$WORK/w2"
run "$JOBWAIT" "$dev" "$j2" 50
is "$RC" 0 "library: the top's parent deleted through /dev/prldN at pace 50"
grep -Eqx 'progress [1-9][0-9]* ([1-9][0-9]*) \1' <<<"$OUT"
ok $? "... progress from the caller's thread, never back, ending at the total"
[ "$RC" = 0 ] || echo "$OUT" | sed 's/^/#   /'
run "$JOBWAIT" "$S/j" "$j1" 100
is "$RC" 0 "library: the base deleted through the attached DIR (its child a lower layer)"
grep -Eqx 'progress [1-9][0-9]* ([1-9][0-9]*) \1' <<<"$OUT"
ok $? "... with progress"
is "$(layers "$dev")" 1 "one layer left"
devcmp "$dev" "$WORK/ref"
ok $? "the device reads the reference"
run "$JOBWAIT" "$dev" "$j1" 100
is "$RC" 1 "library: a snapshot deleted already is refused"
like "$OUT" "no snapshot $j1" "... naming it"
"$PRLDCTL" close "$dev"
judge_dir "$S/j" "after the library's online merges"

# ---- under a mounted ext4 with fio writing and verifying ------------
"$PRLDCTL" create -s 256M "$S/fs"
dev=$(attach "$S/fs")
mkfs.ext4 -q -F "$dev"
mkdir -p /mnt/om
mount "$dev" /mnt/om
head -c $((24 * MB)) /dev/urandom > /mnt/om/before
sync
a=$("$PRLDCTL" snapshot "$dev")
head -c $((24 * MB)) /dev/urandom > /mnt/om/middle
sync
b=$("$PRLDCTL" snapshot "$dev")
sums=$(cd /mnt/om && sha256sum before middle)
# Verifying as it goes (verify_backlog): a stop by SIGINT checks too.
fio --name=live --directory=/mnt/om --size=32M --bs=4k --rw=randwrite \
	--direct=1 --ioengine=libaio --iodepth=4 --time_based --runtime=600 \
	--verify=crc32c --verify_backlog=64 --verify_fatal=1 \
	> "$WORK/fio.out" 2>&1 &
fio_pid=$!
sleep 2
run "$PRLDCTL" delete-snapshot --background "$b" "$dev"
is "$RC" 0 "delete the top's parent in the background, under a mounted ext4 and fio"
run "$PRLDCTL" wait --json "$dev"
is "$RC" 0 "wait follows it to its end"
is "$(tail -1 <<<"$OUT" | jq -r .status)" ok "... and its last line says ok"
is "$(layers "$dev")" 2 "two layers left"
run "$PRLDCTL" delete-snapshot "$a" "$dev"
is "$RC" 0 "and the base, still under fio"
is "$(layers "$dev")" 1 "one layer left"
kill -INT $fio_pid
wait $fio_pid
fio_rc=$?
# Stopped by SIGINT, fio exits 128 (130 on some versions) with err= 0.
ok $([ $fio_rc = 0 ] || [ $fio_rc = 128 ] || [ $fio_rc = 130 ]; echo $?) "fio stopped cleanly (exit $fio_rc)"
grep -q 'err= 0' "$WORK/fio.out"
ok $? "fio wrote and verified across both merges: err= 0"
ok $(! grep -qi 'verify.*\(fail\|bad\|error\)' "$WORK/fio.out"; echo $?) "no verify failure in fio's output"
grep -q 'err= 0' "$WORK/fio.out" || sed 's/^/#   /' "$WORK/fio.out" | head -20
is "$(cd /mnt/om && sha256sum before middle)" "$sums" "the files from before the snapshots are intact"
umount /mnt/om
run fsck.ext4 -f -n "$dev"
is "$RC" 0 "fsck clean after the merges"
dd if="$dev" bs=1M iflag=direct status=none > "$WORK/ref"
"$PRLDCTL" close "$dev"
judge_dir "$S/fs" "after merges under ext4"

# ---- killed at a step: the next operation finishes it ---------------
"$PRLDCTL" create -s 32M "$S/k"
dev=$(attach "$S/k")
rm -f "$WORK/ref" && truncate -s 32M "$WORK/ref"
head -c $((20 * MB)) /dev/urandom > "$WORK/w"
put 0 "$WORK/w"
k1=$("$PRLDCTL" snapshot "$dev")
head -c $((MB / 2)) /dev/urandom > "$WORK/w2"
put $((3 * MB + 512)) "$WORK/w2"
k2=$("$PRLDCTL" snapshot "$dev")
put $((9 * MB)) "$WORK/w2"
run env PRLD_TEST_MERGE_CRASH=copy:1 "$PRLDCTL_TEST" delete-snapshot "$k1" "$dev"
is "$RC" 86 "a merge of an inner snapshot (up into its lower child) killed after one cluster"
ok $([ -e "$S/k/DiskDescriptor.xml.merge" ]; echo $?) "its journal stays"
devcmp "$dev" "$WORK/ref"
ok $? "the device reads the reference meanwhile"
run "$PRLDCTL" check --json "$S/k"
like "$(jq -r '.findings[].message' <<<"$OUT")" "unfinished merge of snapshot $k1 into $k2" \
	"check names the unfinished merge"
run "$PRLDCTL" snapshot "$dev"
is "$RC" 0 "a snapshot of the device finishes it first"
k3=$OUT
ok $([ ! -e "$S/k/DiskDescriptor.xml.merge" ]; echo $?) "journal gone"
is "$(layers "$dev")" 3 "k2, k3 and the new top"
devcmp "$dev" "$WORK/ref"
ok $? "the device reads the reference"
put $((20 * MB)) "$WORK/w2"
run env PRLD_TEST_MERGE_CRASH=dropped "$PRLDCTL_TEST" delete-snapshot "$k3" "$dev"
is "$RC" 86 "a merge into the top killed after the device dropped the layer"
is "$(layers "$dev")" 2 "the device has left it out"
devcmp "$dev" "$WORK/ref"
ok $? "the device reads the reference"
run "$PRLDCTL" delete-snapshot "$k3" "$dev"
is "$RC" 1 "deleting it again finishes the merge first, then finds it gone"
like "$ERR" "no snapshot $k3" "... and says so"
ok $([ ! -e "$S/k/DiskDescriptor.xml.merge" ]; echo $?) "journal gone"
"$PRLDCTL" close "$dev"
judge_dir "$S/k" "after the interrupted merges"

# ---- refusals --------------------------------------------------------
"$PRLDCTL" create -s 16M "$S/r"
dev=$(attach "$S/r")
r1=$("$PRLDCTL" snapshot "$dev")
head -c $MB /dev/urandom > "$WORK/w"
dd if="$WORK/w" of="$dev" bs=1M oflag=direct status=none
run "$PRLDCTL" delete-snapshot '{5fbaabe3-6958-40ff-92a7-860e329aab41}' "$dev"
is "$RC" 1 "the top is refused"
like "$ERR" "is the current top" "... saying why"
exec 7<"$dev"
run "$PRLDCTL" delete-snapshot "$r1" "$dev"
is "$RC" 0 "another opener does not stop an online merge"
exec 7<&-
# A branch the device does not read (left by a revert): deleted beside it.
b1=$("$PRLDCTL" snapshot "$dev")
b2=$("$PRLDCTL" snapshot "$dev")
run "$PRLDCTL" revert --to "$b1" "$dev"
is "$RC" 0 "revert leaves snapshot b2 as a branch off the device's chain"
b2file=$S/r/$(xmllint --xpath "string(//Image[GUID='$b2']/File)" "$S/r/DiskDescriptor.xml")
run "$PRLDCTL" delete-snapshot "$b2" "$dev"
is "$RC" 0 "delete that branch while the device runs"
ok $([ ! -e "$b2file" ]; echo $?) "its file is gone"
is "$(layers "$dev")" 2 "the device's chain is untouched"
run "$PRLDCTL" delete-snapshot "$b1" "$dev"
is "$RC" 0 "then b1, on the chain again: online"
r2=$("$PRLDCTL" snapshot "$dev")
"$PRLDCTL" close "$dev"
rdev=$(attach -r "$S/r")
run "$PRLDCTL" delete-snapshot "$r2" "$rdev"
is "$RC" 1 "a read-only device: refused"
like "$ERR" "attached read-only" "... saying why"
"$PRLDCTL" close "$rdev"
dev=$(attach "$S/r")
base=$("$PRLDCTL" info --json "$dev" | jq -r '.layers[0].file')
merge() { run "$RAWIOCTL" merge "$dev" "$@"; }
merge copy 0 "$base" first=0 count=1 size=8
like "$ERR" EINVAL "PRLD_MERGE_COPY: wrong size"
merge copy 0 "$base" first=0 count=1 flags=1
like "$ERR" EINVAL "PRLD_MERGE_COPY: unknown flag"
merge copy 0 "$base" first=0 count=1 copied=1
like "$ERR" EINVAL "PRLD_MERGE_COPY: output field set"
merge copy 0 "$base" first=0 count=1 reserved=1
like "$ERR" EINVAL "PRLD_MERGE_COPY: reserved set"
merge copy 0 "$base" first=0 count=0
like "$ERR" EINVAL "PRLD_MERGE_COPY: no clusters"
merge copy 0 "$base" first=0 count=$(((1 << 20) + 1))
like "$ERR" EINVAL "PRLD_MERGE_COPY: too many clusters"
merge copy 0 "$base" first=16 count=1
like "$ERR" EINVAL "PRLD_MERGE_COPY: a range past the disk"
merge copy 1 "$base" first=0 count=1
like "$ERR" EINVAL "PRLD_MERGE_COPY: the top as the merged layer"
merge copy 0 /dev/null first=0 count=1
like "$ERR" EINVAL "PRLD_MERGE_COPY: a file that is not the layer"
merge drop 0 "$base" first=1
like "$ERR" EINVAL "PRLD_MERGE_DROP: a range"
merge drop 1 "$base"
like "$ERR" EINVAL "PRLD_MERGE_DROP: the top"
merge drop 7 "$base"
like "$ERR" EINVAL "PRLD_MERGE_DROP: no such layer"
is "$(layers "$dev")" 2 "the device keeps its chain after the refusals"
merge copy 0 "$base" first=0 count=16
is "$RC" 0 "a valid PRLD_MERGE_COPY works"
is "$OUT" 1 "it copied the one cluster the layer holds"
merge drop 0 "$base"
is "$RC" 0 "a valid PRLD_MERGE_DROP works"
is "$(layers "$dev")" 1 "and leaves the layer out"
"$PRLDCTL" close "$dev"
tap_done
