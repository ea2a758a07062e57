#!/bin/bash
# bench/ab-guest.sh - runs inside the VM (bench/ab.sh starts it): the same
# prld fio jobs with several builds of the module (AB_KOS="A=path B=path
# ..."), alternating job by job so drift of the emulated machine hits all
# alike, for BENCH_ROUNDS rounds.  fio JSON goes to
# $PRLD_VM_WORK/results/fio/V--TARGET--JOB--rN.json, and loop's (the
# ceiling) right before each group.
#   AB_TARGETS  "prld" (allocated image), "fresh" (new image per job),
#               "loop" (the reference; module-independent)
set -u
cd "$(dirname "$0")/.."
: "${AB_KOS:?}" "${PRLD_VM_SCRATCH:?}" "${PRLD_VM_WORK:?}"
declare -A KO=()
for kv in $AB_KOS; do KO[${kv%%=*}]=${kv#*=}; done
VARIANTS=$(for kv in $AB_KOS; do echo -n "${kv%%=*} "; done)
ROUNDS=${BENCH_ROUNDS:-1}
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
		--output-format=json --output="$OUT/fio/$1--$2--r$ROUND.json" || return 1
	log "$1 $2 r$ROUND: $(jq -r '.jobs[0] | "\(.read.iops + .write.iops | floor) IOPS"' \
		"$OUT/fio/$1--$2--r$ROUND.json")"
}

fill() {
	dd if=/dev/zero of="$1" bs=1M count=$(($(numfmt --from=iec "$SIZE") >> 20)) \
		oflag=direct conv=fsync,notrunc status=none
}

use() {	# use VARIANT: that build of the module loaded
	rmmod prld 2>/dev/null
	insmod "${KO[$1]}"
}

case $FS in
ext4) mkfs.ext4 -q -F "$PRLD_VM_SCRATCH" ;;
xfs) mkfs.xfs -q -f "$PRLD_VM_SCRATCH" ;;
*) exit 2 ;;
esac
mkdir -p "$SCRATCH" && mount "$PRLD_VM_SCRATCH" "$SCRATCH" || exit 1
modprobe loop || exit 1
jq -n --arg kernel "$(uname -r)" --arg fs "$FS" --argjson runtime "$RUNTIME" \
	--arg labels "${AB_LABELS:-}" --argjson rounds "$ROUNDS" \
	'{kernel: $kernel, fs: $fs, runtime: $runtime, rounds: $rounds,
	  labels: $labels}' > "$OUT/meta.json"
rc=0

if want loop; then
	fallocate -l "$SIZE" "$SCRATCH/raw" && fill "$SCRATCH/raw" || exit 1
	loopdev=$(losetup --direct-io=on --show -f "$SCRATCH/raw") || exit 1
fi
first=${VARIANTS%% *}
if want prld; then
	use "$first" || exit 1
	"$PRLDCTL" create -s "$SIZE" --preallocate "$SCRATCH/alloc" > /dev/null || exit 1
	dev=$("$PRLDCTL" open --direct-io on "$SCRATCH/alloc") && fill "$dev" &&
		"$PRLDCTL" close "$dev" || exit 1
fi

for ROUND in $(seq "$ROUNDS"); do
	for j in $ALL_JOBS; do
		[ -n "${loopdev:-}" ] && { fio_run loop "$j" "$loopdev" || rc=1; }
		for v in $VARIANTS; do
			use "$v" || exit 1
			if want prld; then
				dev=$("$PRLDCTL" open --direct-io on "$SCRATCH/alloc") || exit 1
				fio_run "$v--prld" "$j" "$dev" || rc=1
				"$PRLDCTL" close "$dev" || exit 1
			fi
			want fresh && [[ " $WRITE_JOBS " == *" $j "* ]] || continue
			rm -rf "$SCRATCH/fresh"
			"$PRLDCTL" create -s "$FRESH_SIZE" "$SCRATCH/fresh" > /dev/null || exit 1
			dev=$("$PRLDCTL" open --direct-io on "$SCRATCH/fresh") || exit 1
			fio_run "$v--fresh" "$j" "$dev" || rc=1
			"$PRLDCTL" close "$dev" || exit 1
			"$PRLDCTL" check "$SCRATCH/fresh" > /dev/null ||
				{ log "$v: fresh image after $j does not check clean"; rc=1; }
		done
	done
done
[ -n "${loopdev:-}" ] && losetup -d "$loopdev"
rm -rf "$SCRATCH/fresh" "$SCRATCH/alloc" "$SCRATCH/raw"

umount "$SCRATCH"
rmmod prld 2>/dev/null
exit $rc
