#!/bin/bash
# The Virtuozzo SDK's disk API as a program written against it sees it:
# examples/sdk-disk.c and tests/lib/sdk_calls.c compile with
# `pkg-config --cflags --libs prld` against a staged `make install`
# ($STAGE, libraries in $STAGE$STAGE_LIBDIR) and run on it, every run
# also under valgrind (no error, no leak).  Judged by QEMU and prldctl:
# data written through PrlDisk_Write reads back identically through
# qemu-img convert; an offset policy reads what prldctl read --offset
# does; the changes map equals prldctl map --raw (all clusters and
# between snapshots); GetDiskInfo of a qemu-img image and of a Parallels
# Desktop 17 bundle (its <UID> and <Name>); and PrlDisk_SwitchToState
# through the caller's own open handle, synchronous and with a callback
# and WaitForCompletion, discards what the handle wrote and reads the
# snapshot's bytes.
. "$(dirname "$0")/../cli/tap.sh"
. "$(dirname "$0")/../cli/chain.sh"
: "${STAGE:?STAGE must name a staged make install}" "${STAGE_LIBDIR:?}"
top=$(cd "$(dirname "$0")/../.." && pwd)
export PKG_CONFIG_PATH=$STAGE$STAGE_LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$STAGE
export LD_LIBRARY_PATH=$STAGE$STAGE_LIBDIR
PD17=/work/shared/data/parallels-desktop-17/pd17-bundles.tar.xz
VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all --show-leak-kinds=definite,indirect"

flags=$(pkg-config --cflags --libs prld)
ok $? "pkg-config --cflags --libs prld: $flags"
cc -Wall -Wextra -Werror -o "$WORK/sdk-disk" "$top/examples/sdk-disk.c" $flags 2> "$WORK/cc.err"
ok $? "examples/sdk-disk.c compiles with it"
sed 's/^/#   /' "$WORK/cc.err"
cc -Wall -Wextra -Werror -pthread -o "$WORK/sdk_calls" "$top/tests/lib/sdk_calls.c" $flags 2> "$WORK/cc.err"
ok $? "tests/lib/sdk_calls.c compiles with it"
sed 's/^/#   /' "$WORK/cc.err"
like "$(ldd "$WORK/sdk-disk")" "libprld.so.1 => $STAGE$STAGE_LIBDIR/libprld.so.1" \
	"the example runs on the staged shared library"

# sdk NAME ARGS...: run the example plainly, then under valgrind; both
# must succeed with the same output (stdout in $WORK/NAME.out).
sdk() {
	local name=$1; shift
	"$WORK/sdk-disk" "$@" < "${SDK_IN:-/dev/null}" > "$WORK/$name.out" 2> "$WORK/$name.err"
	ok $? "sdk-disk $*"
	sed 's/^/#   /' "$WORK/$name.err" | head -5
}
sdk_vg() {
	$VG "$WORK/sdk-disk" "$@" < "${SDK_IN:-/dev/null}" > "$WORK/vg.out" 2> "$WORK/vg.err"
	ok $? "... $1 under valgrind: no error, no leak"
	sed 's/^/#   /' "$WORK/vg.err" | head -20
}

# ---- create, write, and QEMU's reading -------------------------------------
d=$WORK/disk
sdk create create "$d" 64
"$PRLDCTL" check "$d" > /dev/null
ok $? "prldctl check: the SDK's disk is clean"
qemu-img check -f parallels "$d/root.hds" > /dev/null
ok $? "qemu-img check: clean"
head -c $((3 * 1048576 + 777)) /dev/urandom > "$WORK/data"
SDK_IN=$WORK/data sdk write write "$d" 4095
qemu-img convert -f parallels -O raw "$d/root.hds" "$WORK/q.raw"
cmp -s <(tail -c +$((4095 * 512 + 1)) "$WORK/q.raw" | head -c $((3 * 1048576 + 777))) "$WORK/data"
ok $? "PrlDisk_Write's bytes at sector 4095 read back through qemu-img convert"
SDK_IN=$WORK/data sdk_vg write "$d" 9000

# ---- an offset policy ------------------------------------------------------
sdk read read "$d" 2096640 65536
"$PRLDCTL" read --offset 2096640 --length 65536 "$d" | cmp -s - "$WORK/read.out"
ok $? "an offset policy of 2096640 bytes reads what prldctl read --offset does"
sdk_vg read "$d" 2096640 65536

# ---- maps ------------------------------------------------------------------
sdk map map "$d"
"$PRLDCTL" map --raw "$d" | cmp -s - "$WORK/map.out"
ok $? "the allocation map equals prldctl map --raw"
like "$(cat "$WORK/map.err")" "granularity=1048576 bits=64 bytes=8" \
	"granularity, size and bytes"
g1=$("$PRLDCTL" snapshot "$d")
printf 'after' | "$PRLDCTL" write --offset $((40 << 20)) "$d"
sdk mapfrom map "$d" "${g1:1:36}"
"$PRLDCTL" map --raw --from "$g1" "$d" | cmp -s - "$WORK/mapfrom.out"
ok $? "the changes map since a snapshot (GUID without braces) equals prldctl's"
od -An -tx1 "$WORK/mapfrom.out" | tr -d ' \n' | grep -q '^0000000000010000$'
ok $? "... it holds cluster 40 only"
sdk_vg map "$d" "$g1" "$TOPG"

# ---- info ------------------------------------------------------------------
sdk info info "$d"
grep -qx "size_sectors=131072" "$WORK/info.out" &&
grep -qx "block_sectors=2048" "$WORK/info.out" &&
grep -qx "storages=1" "$WORK/info.out" &&
grep -qx "storage_type=2" "$WORK/info.out" &&
grep -qx "storage_file=$d/$(xp "$d" "//Image[GUID='$TOPG']/File")" "$WORK/info.out" &&
grep -qx "name=disk" "$WORK/info.out" &&
grep -qx "uid={00000000-0000-0000-0000-000000000000}" "$WORK/info.out"
ok $? "GetDiskInfo: size, cluster, one expanding storage (the top), name"
sed 's/^/#   /' "$WORK/info.out"
qemu-img create -q -f parallels -o cluster_size=64k "$WORK/q.hds" 10M
sdk qinfo info "$WORK/q.hds"
grep -qx "size_sectors=20480" "$WORK/qinfo.out" &&
grep -qx "block_sectors=128" "$WORK/qinfo.out" &&
grep -qx "name=q.hds" "$WORK/qinfo.out"
ok $? "GetDiskInfo of a bare image qemu-img made (64 KiB clusters)"
mkdir "$WORK/pd" && tar -C "$WORK/pd" -xJf "$PD17" expanding.hdd
pd=$WORK/pd/expanding.hdd
grep -q TopGUID "$pd/DiskDescriptor.xml" ||
	sed -i "s|<Snapshots>|<Snapshots><TopGUID>$TOPG</TopGUID>|" "$pd/DiskDescriptor.xml"
sdk pdinfo info "$pd"
grep -qx "uid={0610bb35-447e-4aae-aa79-f1571d969081}" "$WORK/pdinfo.out" &&
grep -qx "name=expanding" "$WORK/pdinfo.out" &&
grep -qx "size_sectors=204800" "$WORK/pdinfo.out"
ok $? "GetDiskInfo of a Parallels Desktop 17 bundle: its <UID> and <Name>"
sed 's/^/#   /' "$WORK/pdinfo.out"
sdk_vg info "$pd"

# ---- SwitchToState through the open handle --------------------------------
s=$WORK/switch
sdk screate create "$s" 16
head -c 65536 /dev/urandom > "$WORK/A"
"$PRLDCTL" write "$s" < "$WORK/A"
gA=$("$PRLDCTL" snapshot "$s")
head -c 65536 /dev/urandom | "$PRLDCTL" write "$s"
old_top=$s/$(xp "$s" "//Image[GUID='$TOPG']/File")
sdk sw switch "$s" "$gA" 65536
cmp -s "$WORK/sw.out" "$WORK/A"
ok $? "switched through the handle that wrote: it reads the snapshot's bytes"
"$PRLDCTL" read --length 65536 "$s" | cmp -s - "$WORK/A"
ok $? "... and so does prldctl afterwards"
ok $([ ! -e "$old_top" ]; echo $?) "... the discarded top's file is gone"
"$PRLDCTL" check "$s" > /dev/null
ok $? "... prldctl check clean"
judge "after a synchronous switch" "$s" 2
sdk swa switch "$s" "$gA" 65536 async
cmp -s "$WORK/swa.out" "$WORK/A"
ok $? "switched with a callback and WaitForCompletion: the snapshot's bytes"
like "$(cat "$WORK/swa.err")" "callback 0x1003 0" "the callback saw the start"
like "$(cat "$WORK/swa.err")" "callback 0x1002 1005" "... and the full completion"
sdk_vg switch "$s" "$gA" 65536 async
judge "after the switches" "$s" 2

# ---- the contracts ---------------------------------------------------------
mkdir "$WORK/calls"
$VG "$WORK/sdk_calls" "$WORK/calls" > "$WORK/calls.out" 2> "$WORK/calls.err"
rc=$?
n=$(grep -c '^ok ' "$WORK/calls.out")
is "$rc" 0 "sdk_calls: all $n contract checks pass under valgrind"
grep -v '^ok ' "$WORK/calls.out" | sed 's/^/#   /'
sed 's/^/#   /' "$WORK/calls.err" | head -20
tap_done
