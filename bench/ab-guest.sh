#!/bin/bash
# bench/ab-guest.sh - runs inside the VM (bench/ab.sh starts it): the same
# prld fio jobs with two builds of the module, A and B, alternating job by
# job so drift of the emulated machine hits both alike.  fio JSON goes to
# $PRLD_VM_WORK/results/fio/{A,B}--TARGET--JOB.json, plus loop's numbers
# once (the ceiling).
#   AB_TARGETS  "prld" (allocated image), "fresh" (new image per job),
#               "loop" (the reference; module-independent)
set -u
cd "$(dirname "$0")/.."
: "${AB_KO_A:?}" "${AB_KO_B:?}" "${PRLD_VM_SCRATCH:?}" "${PRLD_VM_WORK:?}"
FS=${BENCH_FS:-ext4}
RUNTIME=${BENCH_RUNTIME:-5}
RAMP=${BENCH_RAMP:-1}
SIZE=${BENCH_SIZE:-1G}
FRESH_SIZE=${BENCH_FRESH_SIZE:-64G}
TARGETS=${AB_TARGETS:-loop prld fresh}
PRLDCTL=$PWD/userspace/prldctl
SCRATCH=/mnt/scratch
OUT=$PRLD_VM_WORK/results
rm -rf "$OUT" && mkdir -p "$OUT/fio" || exit 1

declare -A JOB=(
	[randread-4k-qd1]="--rw=randread --bs=4k --iodepth=1"
	[randread-4k-qd32]="--rw=randread --bs=4k --iodepth=32"
	[randwrite-4k-qd1]="--rw=randwrite --bs=4k --iodepth=1"
	[randwrite-4k-qd32]="--rw=randwrite --bs=4k --iodepth=32"
	[seqread-1m-qd8]="--rw=read --bs=1M --iodepth=8"
	[seqwrite-1m-qd8]="--rw=write --bs=1M --iodepth=8"
	[randwrite-4k-fsync]="--rw=randwrite --bs=4k --iodepth=1 --fsync=1"
)
ALL_JOBS=${BENCH_JOBS:-randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 seqread-1m-qd8 seqwrite-1m-qd8 randwrite-4k-fsync}
WRITE_JOBS="randwrite-4k-qd1 randwrite-4k-qd32 seqwrite-1m-qd8 randwrite-4k-fsync"

log() { echo "# ab: $*"; }
want() { [[ " $TARGETS " == *" $1 "* ]]; }

fio_run() {	# fio_run OUTNAME JOB DEV
	# shellcheck disable=SC2086
	fio --name="$2" --filename="$3" --ioengine=libaio --direct=1 \
		--time_based --runtime="$RUNTIME" --ramp_time="$RAMP" \
		--randrepeat=0 --norandommap ${JOB[$2]} \
		--output-format=json --output="$OUT/fio/$1--$2.json" || return 1
	log "$1 $2: $(jq -r '.jobs[0] | "\(.read.iops + .write.iops | floor) IOPS"' \
		"$OUT/fio/$1--$2.json")"
}

fill() {
	dd if=/dev/zero of="$1" bs=1M count=$(($(numfmt --from=iec "$SIZE") >> 20)) \
		oflag=direct conv=fsync,notrunc status=none
}

use() {	# use A|B: that build of the module loaded
	rmmod prld 2>/dev/null
	if [ "$1" = A ]; then insmod "$AB_KO_A"; else insmod "$AB_KO_B"; fi
}

case $FS in
ext4) mkfs.ext4 -q -F "$PRLD_VM_SCRATCH" ;;
xfs) mkfs.xfs -q -f "$PRLD_VM_SCRATCH" ;;
*) exit 2 ;;
esac
mkdir -p "$SCRATCH" && mount "$PRLD_VM_SCRATCH" "$SCRATCH" || exit 1
modprobe loop || exit 1
jq -n --arg kernel "$(uname -r)" --arg fs "$FS" --argjson runtime "$RUNTIME" \
	--arg a "${AB_LABEL_A:-A}" --arg b "${AB_LABEL_B:-B}" \
	'{kernel: $kernel, fs: $fs, runtime: $runtime, a: $a, b: $b}' > "$OUT/meta.json"
rc=0

if want loop; then
	fallocate -l "$SIZE" "$SCRATCH/raw" && fill "$SCRATCH/raw" || exit 1
	dev=$(losetup --direct-io=on --show -f "$SCRATCH/raw") || exit 1
	for j in $ALL_JOBS; do fio_run loop "$j" "$dev" || rc=1; done
	losetup -d "$dev"
	rm -f "$SCRATCH/raw"
fi

if want prld; then
	use A || exit 1
	"$PRLDCTL" create -s "$SIZE" --preallocate "$SCRATCH/alloc" > /dev/null || exit 1
	dev=$("$PRLDCTL" open --direct-io on "$SCRATCH/alloc") && fill "$dev" &&
		"$PRLDCTL" close "$dev" || exit 1
	for j in $ALL_JOBS; do
		for v in A B; do
			use $v || exit 1
			dev=$("$PRLDCTL" open --direct-io on "$SCRATCH/alloc") || exit 1
			fio_run "$v--prld" "$j" "$dev" || rc=1
			"$PRLDCTL" close "$dev" || exit 1
		done
	done
	rm -rf "$SCRATCH/alloc"
fi

if want fresh; then
	for j in $WRITE_JOBS; do
		[[ " $ALL_JOBS " == *" $j "* ]] || continue
		for v in A B; do
			use $v || exit 1
			rm -rf "$SCRATCH/fresh"
			"$PRLDCTL" create -s "$FRESH_SIZE" "$SCRATCH/fresh" > /dev/null || exit 1
			dev=$("$PRLDCTL" open --direct-io on "$SCRATCH/fresh") || exit 1
			fio_run "$v--fresh" "$j" "$dev" || rc=1
			"$PRLDCTL" close "$dev" || exit 1
			"$PRLDCTL" check "$SCRATCH/fresh" > /dev/null ||
				{ log "$v: fresh image after $j does not check clean"; rc=1; }
		done
	done
	rm -rf "$SCRATCH/fresh"
fi

umount "$SCRATCH"
rmmod prld 2>/dev/null
exit $rc
