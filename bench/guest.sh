#!/bin/bash
# bench/guest.sh - runs inside the VM (bench/run.sh starts it through
# tests/vm/run.sh): makes $BENCH_FS on the scratch disk, sets up each
# target in turn and runs the fio jobs on it, then measures the kernel
# memory and attach time of a sparse huge image.  Raw results (fio JSON,
# /proc snapshots, timings) go to $PRLD_VM_WORK/results; bench/report.py
# turns them into tables on the host.
#
# The machine is shared and emulated, so its speed drifts: loop, prld and
# qemu-nbd are attached together and each job runs on the three back to
# back; BENCH_ROUNDS repeats everything and the report takes the median.
# Then the memory and attach time of a sparse huge image (BENCH_HUGE)
# and of a fully mapped one (BENCH_DENSE).
# Targets:
#   loop   loop with direct I/O on a fully written raw file
#   prld   /dev/prldN on a fully allocated (and written) image
#   fresh  /dev/prldN on a new expanding image, one per write job
#   lfresh loop with direct I/O on a new sparse raw file of the same size,
#          one per write job: what first writes into a file cost any
#          file-backed device (block allocation or unwritten-extent
#          conversion in the filesystem), the context of fresh's ratio
#   nbd    qemu-nbd -f parallels --cache=none --aio=native on a copy of
#          that image (the same layout; one file cannot be opened twice)
#   chain  /dev/prldN on top of a BENCH_DEPTH-layer chain whose base is
#          another copy of it (read jobs only: a write would allocate
#          in the top, which is the fresh target's cost)
#   merge  latency during an online merge: /dev/prldN on a snapshot of
#          BENCH_MERGE_SIZE written data; the top holds its first
#          BENCH_MERGE_HOT (written after the snapshot, as a disk in use
#          rewrites its hot data).  Each of BENCH_MERGE_JOBS runs once idle
#          and once while `prldctl delete-snapshot` merges the snapshot
#          into the top (the clusters the top lacks copied), back to back;
#          read jobs read the whole disk, write jobs write the hot part;
#          the report compares p99
set -u
cd "$(dirname "$0")/.."
: "${PRLD_KO:?}" "${PRLD_VM_SCRATCH:?}" "${PRLD_VM_WORK:?}"
FS=${BENCH_FS:-ext4}
RUNTIME=${BENCH_RUNTIME:-5}
RAMP=${BENCH_RAMP:-1}
SIZE=${BENCH_SIZE:-1G}
FRESH_SIZE=${BENCH_FRESH_SIZE:-64G}
FRESH_IOS=${BENCH_FRESH_IOS:-4096}
DEPTH=${BENCH_DEPTH:-64}
HUGE=${BENCH_HUGE:-16T}
DENSE=${BENCH_DENSE:-1T}
TARGETS=${BENCH_TARGETS:-loop prld fresh lfresh nbd chain merge huge}
MERGE_SIZE=${BENCH_MERGE_SIZE:-2G}
MERGE_HOT=${BENCH_MERGE_HOT:-256M}
MERGE_JOBS=${BENCH_MERGE_JOBS:-randread-4k-qd1 randwrite-4k-qd1}
# delete-snapshot --pace: 100 copies flat out, 50 half the time.
MERGE_PACES=${BENCH_MERGE_PACES:-100 50}
ROUNDS=${BENCH_ROUNDS:-3}
PRLDCTL=$PWD/userspace/prldctl
SCRATCH=/mnt/scratch
OUT=$PRLD_VM_WORK/results
rm -rf "$OUT" && mkdir -p "$OUT/fio" || exit 1

# name -> fio arguments.  4k jobs show per-request cost, 1M jobs
# bandwidth, the fsync job the flush path.
declare -A JOB=(
	[randread-4k-qd1]="--rw=randread --bs=4k --iodepth=1"
	[randread-4k-qd32]="--rw=randread --bs=4k --iodepth=32"
	[randwrite-4k-qd1]="--rw=randwrite --bs=4k --iodepth=1"
	[randwrite-4k-qd32]="--rw=randwrite --bs=4k --iodepth=32"
	[seqread-1m-qd8]="--rw=read --bs=1M --iodepth=8"
	[seqwrite-1m-qd8]="--rw=write --bs=1M --iodepth=8"
	[randwrite-4k-fsync]="--rw=randwrite --bs=4k --iodepth=1 --fsync=1"
)
READ_JOBS="randread-4k-qd1 randread-4k-qd32 seqread-1m-qd8"
WRITE_JOBS="randwrite-4k-qd1 randwrite-4k-qd32 seqwrite-1m-qd8 randwrite-4k-fsync"
ALL_JOBS="$READ_JOBS $WRITE_JOBS"
[ -n "${BENCH_JOBS:-}" ] && ALL_JOBS=$BENCH_JOBS

log() { echo "# bench: $*"; }
want() { [[ " $TARGETS " == *" $1 "* ]]; }
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }

# fio_run TARGET JOB[@TAG] DEV [FIO-OPTION...]: one job, JSON to
# $OUT/fio/TARGET--JOB[@TAG]--rROUND.json.
fio_run() {
	local target=$1 job=$2 dev=$3 out="$OUT/fio/$1--$2--r$ROUND.json"
	shift 3
	# shellcheck disable=SC2086
	fio --name="${job%@*}" --filename="$dev" --ioengine=libaio --direct=1 \
		--time_based --runtime="$RUNTIME" --ramp_time="$RAMP" \
		--randrepeat=0 --norandommap ${JOB[${job%@*}]} "$@" \
		--output-format=json --output="$out" ||
		{ log "fio $job on $target failed"; return 1; }
	log "round $ROUND: $target $job: $(jq -r \
		'.jobs[0] | "\(.read.iops + .write.iops | floor) IOPS"' "$out")"
}

# run_jobs TARGET DEV JOBS...: those of JOBS that are in $ALL_JOBS.
run_jobs() {
	local target=$1 dev=$2 j
	shift 2
	for j in "$@"; do
		[[ " $ALL_JOBS " == *" $j "* ]] || continue
		fio_run "$target" "$j" "$dev" || return 1
	done
}

# TARGET=DEV pairs for the side-by-side jobs.
declare -A SIDE=()

# fill FILE|DEV: write its first $SIZE bytes once, so no target pays for
# unwritten extents or first-touch allocation in the steady-state runs.
fill() {
	dd if=/dev/zero of="$1" bs=1M count=$(($(numfmt --from=iec "$SIZE") >> 20)) \
		oflag=direct conv=fsync,notrunc status=none
}

# wait_gone PROG: qemu-nbd detaches asynchronously after `-d`.
wait_gone() {
	local i
	for i in $(seq 100); do
		pidof "$1" > /dev/null || return 0
		sleep 0.1
	done
	return 1
}

echo "# kernel $(uname -r), $FS on $PRLD_VM_SCRATCH, runtime ${RUNTIME}s + ${RAMP}s ramp"
case $FS in
ext4) mkfs.ext4 -q -F "$PRLD_VM_SCRATCH" ;;
xfs) mkfs.xfs -q -f "$PRLD_VM_SCRATCH" ;;
*) echo "unknown BENCH_FS=$FS"; exit 2 ;;
esac
mkdir -p "$SCRATCH" && mount "$PRLD_VM_SCRATCH" "$SCRATCH" || exit 1
insmod "$PRLD_KO" || exit 1
modprobe loop && modprobe nbd nbds_max=2 || exit 1
mkdir -p /run/lock
jq -n --arg kernel "$(uname -r)" --arg fs "$FS" --argjson runtime "$RUNTIME" \
	--argjson ramp "$RAMP" --arg size "$SIZE" --arg fresh_size "$FRESH_SIZE" \
	--argjson depth "$DEPTH" --arg huge "$HUGE" --arg dense "$DENSE" \
	--arg fio "$(fio --version)" \
	--argjson cpus "$(nproc)" --arg targets "$TARGETS" --argjson rounds "$ROUNDS" \
	--arg scratch_host "${BENCH_SCRATCH_HOST:-unknown}" \
	--arg merge_size "$MERGE_SIZE" --arg merge_hot "$MERGE_HOT" \
	'{kernel: $kernel, fs: $fs, runtime: $runtime, ramp: $ramp, size: $size,
	  rounds: $rounds,
	  fresh_size: $fresh_size, depth: $depth, huge: $huge, dense: $dense,
	  fio: $fio, merge_size: $merge_size, merge_hot: $merge_hot,
	  cpus: $cpus, scratch_host: $scratch_host,
	  targets: ($targets | split(" "))}' > "$OUT/meta.json"
rc=0

if want loop; then
	log "loop: raw file of $SIZE"
	fallocate -l "$SIZE" "$SCRATCH/raw" && fill "$SCRATCH/raw" || exit 1
	SIDE[loop]=$(losetup --direct-io=on --show -f "$SCRATCH/raw") || exit 1
	dio=$(cat "/sys/block/${SIDE[loop]#/dev/}/loop/dio")
	log "loop: ${SIDE[loop]}, dio=$dio"
	echo "$dio" > "$OUT/loop-dio"
fi

# The allocated image, written once through the device; qemu-nbd and the
# chain get copies of the result.
"$PRLDCTL" create -s "$SIZE" --preallocate "$SCRATCH/alloc" > /dev/null || exit 1
dev=$("$PRLDCTL" open --direct-io on "$SCRATCH/alloc") || exit 1
fill "$dev" || exit 1
"$PRLDCTL" close "$dev" || exit 1
if want nbd; then
	cp --reflink=never "$SCRATCH/alloc/root.hds" "$SCRATCH/nbd.hds" || exit 1
	qemu-nbd -f parallels --cache=none --aio=native -c /dev/nbd0 \
		"$SCRATCH/nbd.hds" || exit 1
	for _ in $(seq 50); do
		[ "$(cat /sys/block/nbd0/size)" != 0 ] && break
		sleep 0.1
	done
	SIDE[nbd]=/dev/nbd0
fi
if want chain; then
	cp -r --reflink=never "$SCRATCH/alloc" "$SCRATCH/chain" || exit 1
	log "chain: $((DEPTH - 1)) offline snapshots over a copy of the image"
	for _ in $(seq $((DEPTH - 1))); do
		"$PRLDCTL" snapshot "$SCRATCH/chain" > /dev/null || exit 1
	done
	t0=$(ms_now)
	SIDE[chain]=$("$PRLDCTL" open --direct-io on "$SCRATCH/chain") || exit 1
	echo $(( $(ms_now) - t0 )) > "$OUT/chain-attach-ms"
	"$PRLDCTL" info --json "${SIDE[chain]}" | jq '.layers | length' \
		> "$OUT/chain-layers"
fi
dev=$("$PRLDCTL" open --direct-io on "$SCRATCH/alloc") || exit 1
want prld && SIDE[prld]=$dev
log "side by side: $(for t in "${!SIDE[@]}"; do echo -n "$t=${SIDE[$t]} "; done)"

# fresh_run JOB: JOB on a new expanding image of its own.
fresh_run() {
	local fdev
	rm -rf "$SCRATCH/fresh"
	"$PRLDCTL" create -s "$FRESH_SIZE" "$SCRATCH/fresh" > /dev/null || return 1
	fdev=$("$PRLDCTL" open --direct-io on "$SCRATCH/fresh") || return 1
	# Every 4k write may take a new 1 MiB cluster: at thousands of IOPS
	# a fixed-time job filled the 24G scratch disk (ENOSPC, on xfs).
	# The job stops at FRESH_IOS writes if its time has not run out
	# (number_ios does not stop a time_based job, hence time_based=0).
	fio_run fresh "$1" "$fdev" --time_based=0 --number_ios="$FRESH_IOS" || rc=1
	"$PRLDCTL" close "$fdev" || return 1
	# How many writes allocated: clusters mapped at the end.
	"$PRLDCTL" info --json "$SCRATCH/fresh" > "$OUT/fresh--$1--r$ROUND.info.json"
	rm -rf "$SCRATCH/fresh"
}

# lfresh_run JOB: JOB through loop on a new sparse file, as fresh_run.
lfresh_run() {
	local ldev
	rm -f "$SCRATCH/lfresh"
	truncate -s "$FRESH_SIZE" "$SCRATCH/lfresh" || return 1
	ldev=$(losetup --direct-io=on --show -f "$SCRATCH/lfresh") || return 1
	fio_run lfresh "$1" "$ldev" --time_based=0 --number_ios="$FRESH_IOS" || rc=1
	losetup -d "$ldev" || return 1
	rm -f "$SCRATCH/lfresh"
}

for ROUND in $(seq "$ROUNDS"); do
	for j in $ALL_JOBS; do
		for t in loop prld chain nbd; do
			[ -n "${SIDE[$t]:-}" ] || continue
			[ $t != chain ] || [[ " $READ_JOBS " == *" $j "* ]] || continue
			fio_run "$t" "$j" "${SIDE[$t]}" || rc=1
		done
		if want fresh && [[ " $WRITE_JOBS " == *" $j "* ]]; then
			fresh_run "$j" || exit 1
		fi
		if want lfresh && [[ " $WRITE_JOBS " == *" $j "* ]]; then
			lfresh_run "$j" || exit 1
		fi
	done
done

# merge_live JOB PACE GUID [FIO-OPTION...]: JOB (named JOB@PACE) while
# snapshot GUID merges into the top at that pace; the merge's time and
# whether it outlasted the job to $OUT/merge--JOB@PACE--rR.json.
merge_live() {
	local j=$1@$2 pace=$2 g=$3 mpid t0 outlasted=false
	shift 3
	rm -f "$OUT/merge.lines"
	t0=$(ms_now)
	"$PRLDCTL" delete-snapshot --json --pace "$pace" "$g" "$mdev" \
		> "$OUT/merge.lines" &
	mpid=$!
	# The first progress line: the merge is planned and copying.
	for _ in $(seq 300); do
		[ -s "$OUT/merge.lines" ] && break
		sleep 0.1
	done
	fio_run merge_live "$j" "$mdev" "$@" || rc=1
	kill -0 $mpid 2> /dev/null && outlasted=true
	wait $mpid || { log "merge of $g failed: $(tail -1 "$OUT/merge.lines")"; return 1; }
	# Each merge writes the snapshot's data anew and frees the old file:
	# give those blocks back (tests/vm/run.sh passes discards through),
	# or the scratch image grows by that much a merge.
	fstrim "$SCRATCH" || log "fstrim of $SCRATCH failed"
	jq -n --argjson ms $(( $(ms_now) - t0 )) --argjson outlasted $outlasted \
		--argjson total "$(head -1 "$OUT/merge.lines" | jq .total)" \
		'{merge_ms: $ms, outlasted: $outlasted, clusters: $total}' \
		> "$OUT/merge--$j--r$ROUND.json"
	log "round $ROUND: merge of $(jq .clusters "$OUT/merge--$j--r$ROUND.json") clusters: $(jq .merge_ms "$OUT/merge--$j--r$ROUND.json") ms, outlasted fio: $outlasted"
}

if want merge; then
	"$PRLDCTL" create -s "$MERGE_SIZE" "$SCRATCH/merge" > /dev/null || exit 1
	mdev=$("$PRLDCTL" open --direct-io on "$SCRATCH/merge") || exit 1
	SIZE=$MERGE_SIZE fill "$mdev" || exit 1
	for ROUND in $(seq "$ROUNDS"); do
		for j in $MERGE_JOBS; do
			for pace in $MERGE_PACES; do
				# All the data in the snapshot, its hot part
				# rewritten in the top: each merge copies the
				# rest; the idle and the live job see the same
				# two-layer chain.
				g=$("$PRLDCTL" snapshot "$mdev") || exit 1
				SIZE=$MERGE_HOT fill "$mdev" || exit 1
				hot=()
				[[ $j == *write* ]] && hot=(--size="$MERGE_HOT")
				fio_run merge_idle "$j@$pace" "$mdev" \
					"${hot[@]}" || rc=1
				merge_live "$j" "$pace" "$g" "${hot[@]}" || exit 1
			done
		done
	done
	"$PRLDCTL" close "$mdev" || exit 1
	rm -rf "$SCRATCH/merge" "$OUT/merge.lines"
fi

"$PRLDCTL" close "$dev" || exit 1
if [ -n "${SIDE[loop]:-}" ]; then
	losetup -d "${SIDE[loop]}"
	rm -f "$SCRATCH/raw"
fi
if [ -n "${SIDE[nbd]:-}" ]; then
	qemu-nbd -d /dev/nbd0 > /dev/null
	wait_gone qemu-nbd || { log "qemu-nbd did not exit"; exit 1; }
	rm -f "$SCRATCH/nbd.hds"
fi

if [ -n "${SIDE[chain]:-}" ]; then
	"$PRLDCTL" close "${SIDE[chain]}" || exit 1
	rm -rf "$SCRATCH/chain"
fi
rm -rf "$SCRATCH/alloc"

# attach_cost NAME DIR: kernel memory (/proc/meminfo, /proc/vmallocinfo
# before and after) and time of `prldctl open -r DIR`, then of its detach,
# to $OUT/NAME-*.  Read-only: the image stays as it is for the next step.
attach_cost() {
	local name=$1 dir=$2 dev t0
	sync
	echo 3 > /proc/sys/vm/drop_caches
	# The image's headers are cold, the tool is not: without this the
	# time was mostly prldctl and libxml2 paged in over 9p (0.26 to 1.2 s
	# from run to run, against 0.2 s warm).
	"$PRLDCTL" info --json "$SCRATCH/tiny" > /dev/null || return 1
	sleep 1
	cat /proc/meminfo > "$OUT/$name-meminfo-before"
	cat /proc/vmallocinfo > "$OUT/$name-vmallocinfo-before"
	t0=$(ms_now)
	dev=$("$PRLDCTL" open -r "$dir") || return 1
	echo $(( $(ms_now) - t0 )) > "$OUT/$name-attach-ms"
	cat /proc/meminfo > "$OUT/$name-meminfo-after"
	cat /proc/vmallocinfo > "$OUT/$name-vmallocinfo-after"
	"$PRLDCTL" info --json "$dev" > "$OUT/$name-info.json"
	t0=$(ms_now)
	"$PRLDCTL" close "$dev" || return 1
	echo $(( $(ms_now) - t0 )) > "$OUT/$name-detach-ms"
	# Once more under strace -T for the PRLD_CONFIGURE ioctl alone, the
	# kernel's share (seccomp-bpf: the other syscalls run at full speed).
	echo 3 > /proc/sys/vm/drop_caches
	"$PRLDCTL" info --json "$SCRATCH/tiny" > /dev/null || return 1
	dev=$(strace -f --seccomp-bpf -T -e trace=ioctl \
		-o "$OUT/$name-attach.strace" "$PRLDCTL" open -r "$dir") || return 1
	"$PRLDCTL" close "$dev" || return 1
	log "$name: attach took $(cat "$OUT/$name-attach-ms") ms"
}

# map_every_cluster IMAGE: a V2 image whose every BAT entry names its own
# cluster, in order, in a sparse file: a fully allocated disk's map at
# the cost of a few MiB of scratch space.  V2 entries count clusters;
# data_off is in sectors, a whole number of clusters.
map_every_cluster() {
	python3 - "$1" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    hdr = f.read(64)
    cluster, entries = struct.unpack_from("<II", hdr, 0x1c)
    data_off, = struct.unpack_from("<I", hdr, 0x30)
    first = data_off // cluster
    f.seek(64)
    f.write(struct.pack("<%dI" % entries, *range(first, first + entries)))
    f.truncate((data_off + entries * cluster) * 512)
PY
}

if want huge; then
	# The tiny attach also leaves an unbound device behind, so the
	# snapshot difference below is the attach alone; its time is the
	# tool's own start-up cost (exec over 9p under TCG is slow).
	"$PRLDCTL" create -s 16M "$SCRATCH/tiny" > /dev/null || exit 1
	t0=$(ms_now)
	dev=$("$PRLDCTL" open "$SCRATCH/tiny") || exit 1
	echo $(( $(ms_now) - t0 )) > "$OUT/tiny-attach-ms"
	"$PRLDCTL" close "$dev" || exit 1
	"$PRLDCTL" create -s "$HUGE" "$SCRATCH/huge" > /dev/null || exit 1
	attach_cost huge "$SCRATCH/huge" || exit 1
	"$PRLDCTL" create -s "$DENSE" "$SCRATCH/dense" > /dev/null &&
		map_every_cluster "$SCRATCH/dense/root.hds" || exit 1
	attach_cost dense "$SCRATCH/dense" || exit 1
	rm -rf "$SCRATCH/huge" "$SCRATCH/tiny" "$SCRATCH/dense"
fi

umount "$SCRATCH"
rmmod prld
exit $rc
