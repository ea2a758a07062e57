#!/bin/bash
# I/O errors under the backing file: the filesystem holding the images
# sits on a device-mapper device whose table is swapped at run time, so
# chosen sectors (the ones under one cluster, the BAT block, the space
# preallocated for new clusters) or the whole device fail on demand.
#
# Asserted in block-device terms (a disk with a volatile write cache): a
# failed read, write or flush reports an error to its caller; a write is
# only promised durable once a later flush succeeded; the device keeps
# working once the fault is gone; what reads back is always the old or
# the new data of a range, never someone else's bytes; the in-memory map
# agrees with what reads back; afterwards the images attach again, check
# clean or with leaks only, and every flushed write reads back.  No
# kernel splat (tests/vm/run.sh).
#
# Why device-mapper and not fail_make_request: dm-mod and dm-flakey are
# modules on Debian's stock kernels (fail_make_request is not built
# there), so this runs on 6.1, 6.12 and the debug kernel alike, and a dm
# table can fail a sector range: a read or write error on one cluster
# without ext4's own metadata I/O failing (which would abort its journal
# and turn every later step into a remount).  The `error` target fails
# reads and writes of a range but passes flushes (it has no flush bios);
# `flakey` with up 0 / down 1 fails every bio of the whole device, or with
# error_writes every write and flush while reads work.  The stack:
#
#   scratch ext4 (/dev/vda) > lower.img > loop > dm "prld-ioerr" > ext4
#   ($M) > the images > /dev/prldN
#
# Not the driver's fault points (tests/fault/10-driver-faults.t), so the
# module needs no PRLD_FAULT_INJECT build.  On a stock kernel:
#   PRLD_KTESTS=tests/fault/30-io-errors.t tests/kernel/run.sh "$(tests/vm/kernels.sh list | tail -n 1)"
# (make test-ioerr runs it on every test kernel; make test-debug on the
# debug kernel with the rest of tests/fault.)
. "$(dirname "$0")/../kernel/lib.sh"
MB=1048576
SIZE=16M	# small images: whole-device compares stay cheap (KASAN, TCG)
DM=prld-ioerr
M=$S/mnt
# dmsetup makes its own /dev/mapper nodes: the guest runs no udev.
export DM_DISABLE_UDEV=1

# --- The device-mapper stack. ---

cleanup() {
	exec 7>&- 2>/dev/null
	cleanup_devices
	if [ -n "${LOOP:-}" ]; then
		swap "0 $SECTORS linear $LOOP 0" 2>/dev/null
		umount "$M" 2>/dev/null
		dmsetup remove "$DM" 2>/dev/null
		losetup -d "$LOOP" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# swap TABLE: replace the live table (suspend without freezing the
# filesystem: a freeze would sync it, and syncing through a failing
# table is what the cases do on purpose, not as a side effect).
swap() {
	printf '%s\n' "$1" | dmsetup load "$DM" &&
		dmsetup suspend --nolockfs "$DM" && dmsetup resume "$DM"
}
fault_off() { swap "0 $SECTORS linear $LOOP 0"; }
# fault_all [error_writes]: every bio fails, or every write and flush.
fault_all() { swap "0 $SECTORS flakey $LOOP 0 0 1${1:+ 1 $1}"; }

# phys FILE OFF LEN: "sector count" runs of the dm device under bytes
# [OFF, OFF+LEN) of FILE (filefrag in 512-byte units; unwritten extents
# included).  Fails unless every byte of the range has a block.
phys() {
	filefrag -v -b512 "$1" | awk -v a=$(($2 / 512)) -v b=$((($2 + $3) / 512)) '
		$1 ~ /^[0-9]+:$/ {
			gsub(/[.:]+/, " ")
			ls = $2; le = $3 + 1; ps = $4
			s = ls > a ? ls : a; e = le < b ? le : b
			if (s < e) { print ps + s - ls, e - s; n += e - s }
		}
		END { exit n != b - a }' | sort -n
}

# fault_range FILE OFF LEN: the sectors under that part of FILE fail
# (reads and writes; flushes pass), the rest of the device works.
fault_range() {
	local runs t='' at=0 s n
	runs=$(phys "$1" "$2" "$3") || { echo "# no blocks under $1 $2+$3"; return 1; }
	while read -r s n; do
		[ "$s" -le "$at" ] || t+="$at $((s - at)) linear $LOOP $at"$'\n'
		t+="$s $n error"$'\n'
		at=$((s + n))
	done <<<"$runs"
	[ "$at" -ge "$SECTORS" ] || t+="$at $((SECTORS - at)) linear $LOOP $at"
	swap "$t"
}

# Modules on the stock kernels, built in on the debug kernel (no error
# there from modprobe matters: the targets list is the judge).
modprobe -q dm-mod; modprobe -q dm-flakey; modprobe -q loop
if ! dmsetup targets 2>/dev/null | grep -qw flakey; then
	ok 1 "device-mapper with the flakey target"
	tap_done
	exit
fi
truncate -s 512M "$S/lower.img"
LOOP=$(losetup --find --show "$S/lower.img")
SECTORS=$(blockdev --getsz "$LOOP")
if ! { dmsetup create "$DM" --table "0 $SECTORS linear $LOOP 0" &&
	mkfs.ext4 -q -F "/dev/mapper/$DM" && mkdir -p "$M" &&
	mount "/dev/mapper/$DM" "$M"; }; then
	ok 1 "ext4 on dm $DM over ${LOOP:-no loop device}"
	tap_done
	exit
fi

# --- Images, references and reads. ---

# new_image NAME [OPEN-ARGS...]: create $M/NAME, attach it as $dev, start
# its reference (what must read back after the run) and its list of
# ranges whose contents a failed or unflushed write left undefined.
new_image() {
	local name=$1
	shift
	"$PRLDCTL" create -s "$SIZE" "$M/$name" >/dev/null
	dev=$(attach "$@" "$M/$name")
	truncate -s "$SIZE" "$WORK/ref.$name"
	: >"$WORK/undef.$name"
	IMAGES+=("$name")
}
IMAGES=()
# flushed NAME OFF FILE: FILE into $dev at OFF, fsync'ed; into the ref.
flushed() {
	dd if="$3" of="$dev" bs=64k seek="$2" oflag=seek_bytes conv=notrunc,fsync \
		status=none &&
		dd if="$3" of="$WORK/ref.$1" bs=64k seek="$2" oflag=seek_bytes \
			conv=notrunc status=none
}
undef() { echo "$2 $3" >>"$WORK/undef.$1"; }	# undef NAME OFF LEN
# rd OFF LEN [DEV]: bytes of the device, bypassing its page cache.
rd() {
	dd if="${3:-$dev}" bs=64k skip="$1" count="$2" iflag=direct,skip_bytes,count_bytes \
		status=none
}
# wr FILE OFF [DD-FLAGS...]: one write through the device, direct.
wr() {
	local f=$1 o=$2
	shift 2
	dd if="$f" of="$dev" bs=64k seek="$o" oflag=seek_bytes,direct conv=notrunc \
		status=none "$@"
}
# slot NAME CLUSTER: byte offset of the cluster in the image file (BAT
# entry from the page cache of the file: what the driver last wrote).
slot() { echo $(($(le32 "$M/$1/root.hds" $((64 + 4 * $2))) * MB)); }
allocated() { "$PRLDCTL" info --json "$dev" | jq .allocated_clusters; }
# tail_start NAME: end of the last mapped cluster in the file (new
# clusters go at or after it, into space preallocated up to i_size).
tail_start() {
	od -An -tu4 -v -j64 -N$((4 * ${SIZE%M})) --endian=little "$M/$1/root.hds" |
		tr -s ' ' '\n' | sort -n | tail -n1 | { read -r e; echo $(((e + 1) * MB)); }
}
# old_or_new GOT OLD NEW: each 4 KiB block of GOT is OLD's or NEW's.
old_or_new() {
	python3 - "$@" <<'EOF'
import sys
got, old, new = (open(f, 'rb').read() for f in sys.argv[1:4])
bad = [i for i in range(0, len(got), 4096)
       if got[i:i + 4096] not in (old[i:i + 4096], new[i:i + 4096])]
if bad or len(got) != len(old):
    print("#   %d of %d blocks are neither, first at %s" %
          (len(bad), len(got) // 4096, bad[:1]))
sys.exit(1 if bad or len(got) != len(old) else 0)
EOF
}
head -c $MB /dev/urandom >"$WORK/A"
head -c $MB /dev/urandom >"$WORK/B"
head -c 64K /dev/urandom >"$WORK/x"
head -c 64K /dev/urandom >"$WORK/y"
head -c 512 "$WORK/y" >"$WORK/y512"
head -c $MB /dev/zero >"$WORK/zero"
# cluster OFF LEN FILE [BASE]: $WORK/cl is BASE (default zeros) with
# FILE at OFF: what a cluster must read after that one write.
cluster() {
	cp "${4:-$WORK/zero}" "$WORK/cl"
	dd if="$3" of="$WORK/cl" bs=64k seek="$1" count="$2" iflag=count_bytes \
		oflag=seek_bytes conv=notrunc status=none
}

# explain GOT WANT: the 4 KiB blocks of a cluster that differ, and how
# many of those differ only by bytes of $WORK/x (the data of the write
# that failed, at the start of a cluster).
explain() {
	python3 - "$1" "$2" "$WORK/x" <<'EOF'
import sys
got, want, x = (open(f, 'rb').read() for f in sys.argv[1:4])
diff = [i for i in range(0, len(want), 4096)
        if got[i:i + 4096] != want[i:i + 4096]]
stale = [i for i in diff if i + 4096 <= len(x) and
         all(g == w or g == x[i + k] for k, (g, w) in
             enumerate(zip(got[i:i + 4096], want[i:i + 4096])))]
print("#   %d blocks differ (first at +%s), %d of them hold the failed write's bytes"
      % (len(diff), diff[:1], len(stale)))
EOF
}

# --- 1. A read of an allocated cluster fails underneath. ---
new_image a
flushed a $((2 * MB)) "$WORK/A"
flushed a $((5 * MB)) "$WORK/B"
fault_range "$M/a/root.hds" "$(slot a 2)" $MB
ok $? "read fault under cluster 2 of a"
run rd $((2 * MB)) 64K
ok $((RC == 0)) "direct read of the failing cluster reports an error"
like "$ERR" "Input/output error" "and it is EIO"
blockdev --flushbufs "$dev"
run dd if="$dev" of=/dev/null bs=64k skip=32 count=16 status=none
ok $((RC == 0)) "buffered read of the failing cluster reports an error"
rd $((5 * MB)) $MB | cmp -s - "$WORK/B"
ok $? "another cluster reads fine meanwhile"
fault_off
rd $((2 * MB)) $MB | cmp -s - "$WORK/A"
ok $? "the cluster reads its data once the fault is gone"

# --- 2. A write into an allocated cluster fails underneath. ---
fault_range "$M/a/root.hds" "$(slot a 2)" $MB
run wr "$WORK/x" $((2 * MB))
ok $((RC == 0)) "direct write into the failing cluster reports an error"
run dd if="$WORK/x" of="$dev" bs=64k seek=$((2 * MB + 65536)) oflag=seek_bytes \
	conv=notrunc,fsync status=none
ok $((RC == 0)) "buffered write + fsync into the failing cluster reports an error"
fault_off
rd $((2 * MB)) $MB >"$WORK/got"
cp "$WORK/A" "$WORK/new"
dd if="$WORK/x" of="$WORK/new" bs=64k conv=notrunc status=none
dd if="$WORK/x" of="$WORK/new" bs=64k seek=1 conv=notrunc status=none
old_or_new "$WORK/got" "$WORK/A" "$WORK/new"
ok $? "the cluster holds its old or its new data, block by block"
head -c $MB /dev/urandom >"$WORK/A2"
flushed a $((2 * MB)) "$WORK/A2"
ok $? "a write there works again once the fault is gone"
rd $((2 * MB)) $MB | cmp -s - "$WORK/A2"
ok $? "and reads back"
"$PRLDCTL" close "$dev"

# The same two faults through buffered I/O on the image file (the
# synchronous worker path instead of async kiocbs).
dev=$(attach --direct-io off "$M/a")
dd if="$M/a/root.hds" iflag=nocache count=0 status=none	# reads go to disk
fault_range "$M/a/root.hds" "$(slot a 5)" $MB
run rd $((5 * MB)) 64K
ok $((RC == 0)) "direct-io off: a read of the failing cluster reports an error"
run wr "$WORK/x" $((5 * MB)) conv=fsync
ok $((RC == 0)) "direct-io off: a write + fsync into the failing cluster reports an error"
fault_off
# (Whatever the image file's page cache kept of the failed write counts
# as new data: not dropped.)
rd $((5 * MB)) $MB >"$WORK/got"
cp "$WORK/B" "$WORK/new"
dd if="$WORK/x" of="$WORK/new" conv=notrunc status=none
old_or_new "$WORK/got" "$WORK/B" "$WORK/new"
ok $? "direct-io off: the cluster holds its old or its new data"
flushed a $((5 * MB)) "$WORK/B"
rd $((5 * MB)) $MB | cmp -s - "$WORK/B"
ok $? "direct-io off: rewritten, it reads back"
"$PRLDCTL" close "$dev"

# --- 3. An allocating write fails: its data, its BAT entry, its copy-up. ---
# alloc_agrees WHAT CLUSTER BEFORE W [AFTER]: after an allocating write
# of $WORK/x at the start of CLUSTER that returned W, with BEFORE
# clusters mapped until then (AFTER once it succeeded, default one
# more): a write reported failed left the cluster unmapped and reading as
# before (zeros, or $OLD over a lower layer's cluster); one acknowledged
# (the error then came from the flush) is mapped and reads its data.
# The kernel's map and what reads back agree either way.
alloc_agrees() {
	local old=${OLD:-$WORK/zero}
	rd $(($2 * MB)) $MB >"$WORK/got"
	if [ "$4" != 0 ]; then
		is "$(allocated)" "$3" "$1: the failed write mapped nothing"
		cmp -s "$WORK/got" "$old"
		ok $? "$1: the cluster reads as before"
	else
		is "$(allocated)" "${5:-$(($3 + 1))}" "$1: the acknowledged write is mapped"
		cluster 0 64K "$WORK/x" "$old"
		cmp -s "$WORK/got" "$WORK/cl"
		ok $? "$1: the cluster reads its data"
	fi
}
# alloc_fails WHAT CLUSTER: write $WORK/x at the start of CLUSTER (no
# fsync), then PRLD_FLUSH: one of them must report the error.  Sets W.
alloc_fails() {
	run wr "$WORK/x" $(($2 * MB))
	W=$RC
	run "$PRLDCTL" flush "$dev"
	ok $((W == 0 && RC == 0)) "$1: the write ($W) or the flush ($RC) reports the error"
}

# The data of a new cluster fails: the space preallocated after the last
# cluster, where new clusters go, is under the fault.  Through direct
# I/O and through the backing file's page cache.
for dio in on off; do
	n=b$dio
	new_image "$n" --direct-io "$dio"
	flushed "$n" 0 "$WORK/A"	# cluster 0: the preallocated tail begins
	t=$(tail_start "$n")
	sz=$(stat -c %s "$M/$n/root.hds")
	ok $((sz - t < MB)) "$n: space preallocated after the last cluster ($t..$sz)"
	fault_range "$M/$n/root.hds" "$t" $((sz - t))
	alloc_fails "$n: allocating write whose data fails" 3
	alloc_agrees "$n" 3 1 "$W"
	fault_off
	alloc_agrees "$n: fault gone" 3 1 "$W"
	undef "$n" $((3 * MB)) $MB
	echo 3 >>"$WORK/alloc.$n"
	# The space the failed write used may be handed out again: the next
	# new cluster must not show what the failed write left there (in the
	# image file's page cache, say).  One sector into the cluster's
	# second page, which the failed write covered: were that page
	# written back whole with stale bytes, they would become durable
	# (the final compare would see them; the read here sees any page).
	run wr "$WORK/y512" $((4 * MB + 4608)) conv=fsync
	is "$RC" 0 "$n: the next allocating write works"
	dd if="$WORK/y512" of="$WORK/ref.$n" bs=512 seek=$((4 * MB + 4608)) \
		oflag=seek_bytes conv=notrunc status=none
	cluster 4608 512 "$WORK/y512"
	rd $((4 * MB)) $MB >"$WORK/got"
	cmp -s "$WORK/got" "$WORK/cl"
	r=$?
	ok $r "$n: the new cluster reads its data and zeros, nothing of the failed write"
	[ $r = 0 ] || explain "$WORK/got" "$WORK/cl"
	# Once the fault is gone the device works at once: with no flush
	# after the failed write, the next one must not inherit its error.
	t=$(tail_start "$n")
	fault_range "$M/$n/root.hds" "$t" $(($(stat -c %s "$M/$n/root.hds") - t))
	wr "$WORK/x" $((5 * MB)) 2>/dev/null
	fault_off
	undef "$n" $((5 * MB)) $MB
	echo 5 >>"$WORK/alloc.$n"
	run wr "$WORK/y512" $((6 * MB + 4608)) conv=fsync
	is "$RC" 0 "$n: fault gone, the first write after a failed one works"
	[ "$RC" != 0 ] || dd if="$WORK/y512" of="$WORK/ref.$n" bs=512 \
		seek=$((6 * MB + 4608)) oflag=seek_bytes conv=notrunc status=none
	"$PRLDCTL" close "$dev"
done

# The BAT entry's block fails: the data is written, the entry is not.
# Today the write fails; with the BAT entry left to the next flush (as a
# disk's volatile cache) the write may succeed and the flush fail.  The
# first 4 KiB of the file hold the header and every entry of this image.
new_image c
flushed c 0 "$WORK/A"
fault_range "$M/c/root.hds" 0 4096
ok $? "fault under the header and BAT block of c"
alloc_fails "c: allocating write whose BAT entry fails" 3
alloc_agrees c 3 1 "$W"
fault_off
alloc_agrees "c: fault gone" 3 1 "$W"
undef c $((3 * MB)) $MB
echo 3 >>"$WORK/alloc.c"
"$PRLDCTL" close "$dev"

# Copy-up: a partial write into a cluster only the lower layer holds
# needs that cluster's data, whose read fails.  The write must fail (the
# top cannot get a correct copy) and leave the old data visible; a read
# of the lower layer's cluster fails too.
new_image s
flushed s $((2 * MB)) "$WORK/A"
"$PRLDCTL" close "$dev"
"$PRLDCTL" snapshot "$M/s" >/dev/null
dev=$(attach "$M/s")
dd if="$M/s/root.hds" iflag=nocache count=0 status=none	# drop its cache
fault_range "$M/s/root.hds" "$(slot s 2)" $MB
ok $? "fault under cluster 2 of the lower layer of s"
run rd $((2 * MB)) 64K
ok $((RC == 0)) "s: a read of the lower layer's failing cluster reports an error"
alloc_fails "s: copy-up whose read of the lower layer fails" 2
fault_off
# Read once the fault is gone (the lower layer's cluster is what fails);
# the count is of clusters any layer maps, which a copy-up leaves alone,
# so the data tells: the old data unless the write was acknowledged.
OLD=$WORK/A alloc_agrees "s: fault gone" 2 1 "$W" 1
"$PRLDCTL" close "$dev"

# repair_fs: after errors ext4 may have aborted its journal: unmount,
# e2fsck (exit 0 or 1: nothing or fixed), mount again.
repair_fs() {
	umount "$M" && run e2fsck -fy "/dev/mapper/$DM" &&
		[ "$RC" -lt 4 ] && mount "/dev/mapper/$DM" "$M"
	ok $? "backing filesystem checked and mounted again (e2fsck $RC)"
}

# --- 4. A flush fails: every write of the backing device fails. ---
# Writes sit in the device's page cache (kept open on fd 7, so closing dd
# does not write them back) when the fault starts: fsync must fail.
new_image d
flushed d $MB "$WORK/A"
exec 7<>"$dev"
dd if="$WORK/B" of="$dev" bs=64k seek=$((6 * MB)) oflag=seek_bytes conv=notrunc status=none
dd if="$WORK/x" of="$dev" bs=64k seek=$MB oflag=seek_bytes conv=notrunc status=none
undef d $((6 * MB)) $MB
undef d $MB 65536
fault_all error_writes
run dd if=/dev/null of="$dev" conv=notrunc,fsync status=none
ok $((RC == 0)) "d: fsync of the device with dirty pages reports an error"
run "$PRLDCTL" flush "$dev"
ok $((RC == 0)) "d: prldctl flush reports an error"
run dd if=/dev/null of="$dev" conv=notrunc,fsync status=none
ok $((RC == 0)) "d: fsync with nothing dirty (a bare FLUSH) reports an error"
# ext4 has most likely aborted its journal by now (a commit failed), and
# 6.12 then fails reads as well (its forced shutdown): a read of flushed
# data returns that data or an error, never anything else.
rd $((MB + 65536)) $((MB - 65536)) >"$WORK/got"
rc=$?
tail -c $((MB - 65536)) "$WORK/A" | cmp -s - "$WORK/got"
same=$?
ok $((rc == 0 && same != 0)) "d: a read while writes fail returns the flushed data or an error ($rc)"
fault_off
# Later writes may fail (EROFS, the journal aborted), but one that is
# acknowledged and flushed must read back.
run wr "$WORK/y" $((2 * MB)) conv=fsync
if [ "$RC" = 0 ]; then
	dd if="$WORK/y" of="$WORK/ref.d" bs=64k seek=$((2 * MB)) oflag=seek_bytes \
		conv=notrunc status=none
	rd $((2 * MB)) 64K | cmp -s - "$WORK/y"
	ok $? "d: fault gone, a flushed write reads back"
else
	undef d $((2 * MB)) 65536
	ok 0 "d: fault gone, a write fails cleanly (${ERR%%$'\n'*})"
fi
exec 7>&-
run timeout 120 "$PRLDCTL" close "$dev"
is "$RC" 0 "d: detach after a failed flush"
repair_fs

# --- 5. Detach while every I/O of the backing device fails. ---
new_image e
flushed e $((2 * MB)) "$WORK/A"
wr "$WORK/x" $((4 * MB))
undef e $((4 * MB)) $MB
fault_all
run timeout 120 "$PRLDCTL" close "$dev"
ok $((RC == 124)) "e: detach under errors does not hang"
if [ "$RC" != 0 ]; then
	like "$ERR" "prldctl" "e: a failed detach says why"
	fault_off
	rd $((2 * MB)) $MB | cmp -s - "$WORK/A"
	ok $? "e: the device still reads once the fault is gone"
	run "$PRLDCTL" close "$dev"
	is "$RC" 0 "e: and detaches"
else
	fault_off
	"$PRLDCTL" list | grep -q "$dev"
	ok $((! $?)) "e: detached"
fi

# --- Afterwards: the filesystem repaired, every image attaches again. ---
fault_off
repair_fs
for n in "${IMAGES[@]}"; do
	img=$M/$n
	# A clean close needs working writes: where they failed (d, e) the
	# image may stay marked in use (what a crash leaves); nothing else.
	run "$PRLDCTL" check --json "$img"
	bad=$(jq -r '.findings[] | select(.severity == "corrupt") | .message' <<<"$OUT" |
		grep -v '^in-use flag set' || true)
	is "$bad" "" "$n: no corruption, at most the in-use flag ($(jq -c '[.findings[].message]' <<<"$OUT"))"
	case $n in d | e) ;; *)
		is "$(jq .corruptions <<<"$OUT")" 0 "$n: closed cleanly" ;;
	esac
	if [ "$RC" = 2 ]; then
		"$PRLDCTL" check --repair "$img" >/dev/null
	fi
	run "$PRLDCTL" check "$img"
	ok $((RC != 0 && RC != 3)) "$n: prldctl check $RC (0 or 3)"
	run qemu-img check -f parallels "$img/root.hds"
	ok $((RC != 0 && RC != 3)) "$n: qemu-img check $RC (0 or 3)"
	dev=$(attach "$img") || { ok 1 "$n: attaches again"; continue; }
	rd 0 "$SIZE" >"$WORK/got"
	# After detach and attach a failed allocating write's cluster reads
	# zeros or all of the write's data (the range was left undefined),
	# never part of it or anything else.
	while read -r c; do
		dd if="$WORK/got" of="$WORK/c" bs=64k skip=$((c * 16)) count=16 status=none
		cluster 0 64K "$WORK/x"
		cmp -s "$WORK/c" "$WORK/zero" || cmp -s "$WORK/c" "$WORK/cl"
		ok $? "$n: cluster $c of the failed allocating write reads zeros or its data"
	done < <(cat "$WORK/alloc.$n" 2>/dev/null)
	cp "$WORK/ref.$n" "$WORK/want"
	while read -r off len; do
		for f in got want; do
			dd if=/dev/zero of="$WORK/$f" bs=64k seek="$off" count="$len" \
				oflag=seek_bytes iflag=count_bytes conv=notrunc status=none
		done
	done <"$WORK/undef.$n"
	cmp "$WORK/got" "$WORK/want"
	ok $? "$n: attaches again, every flushed write reads back"
	"$PRLDCTL" close "$dev"
done
tap_done
