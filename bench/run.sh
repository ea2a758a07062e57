#!/bin/bash
# bench/run.sh - `make bench`: the benchmark in the VM test bed, once per
# kernel and backing filesystem, then the report (bench/report.py):
# bench/results/latest.{md,json,png}.
#
# Environment:
#   BENCH_KERNELS   guest kernels (default: the newest of
#                   `tests/vm/kernels.sh list`)
#   BENCH_FS        backing filesystems (default "ext4 xfs")
#   BENCH_RUNTIME   seconds per fio job (default 5; TCG is slow to warm up)
#   BENCH_RAMP      fio ramp time before each job (default 1)
#   BENCH_ROUNDS    repetitions of every job; the report takes medians (3)
#   BENCH_SIZE      allocated image / raw file size (default 1G)
#   BENCH_FRESH_SIZE  virtual size of the fresh expanding images (64G)
#   BENCH_FRESH_IOS   writes after which a job on a fresh image stops if
#                   its time has not run out (4096: at most 4 GiB of new
#                   1 MiB clusters per job, plus the ramp's)
#   BENCH_DEPTH     layers of the chain target (default 64)
#   BENCH_HUGE      the sparse image for memory/attach time (default 16T)
#   BENCH_DENSE     the fully mapped image for memory/attach (default 1T)
#   BENCH_MERGE_SIZE  data in the snapshot an online merge copies (2G)
#   BENCH_MERGE_HOT   its part the top rewrote, where write jobs write (256M)
#   BENCH_MERGE_JOBS  fio jobs run idle and during that merge (default
#                   "randread-4k-qd1 randwrite-4k-qd1")
#   BENCH_MERGE_PACES delete-snapshot --pace values, each its own pair of
#                   runs (default "100 50")
#   BENCH_TARGETS   subset of "loop prld fresh lfresh nbd chain merge huge"
#   BENCH_JOBS      subset of the fio job names (bench/guest.sh)
#   BENCH_OUT       output directory (default bench/results)
#   BENCH_TAG       label in the report (default: git describe)
#   BENCH_README    README to update with the table (default: none)
#   BENCH_SCRATCH_DIR  host directory of the guest's scratch disk image
#                   (default /dev/shm when it has 12 GiB free, else
#                   /var/tmp).  In RAM the host's own disk, whose latency
#                   spikes on this shared machine swamped the drivers'
#                   differences, drops out: every target sees the same
#                   fast virtio disk (cache=none, as on disk).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$top"

make -s userspace/prldctl
kernels=${BENCH_KERNELS:-$(tests/vm/kernels.sh list | tail -n 1)}
filesystems=${BENCH_FS:-ext4 xfs}
out=${BENCH_OUT:-$top/bench/results}
raw=$out/raw
tag=${BENCH_TAG:-$(git describe --always --dirty 2>/dev/null || echo unknown)}
mkdir -p "$raw"
rm -rf "${raw:?}"/*

envs=()
for v in BENCH_RUNTIME BENCH_RAMP BENCH_ROUNDS BENCH_SIZE BENCH_FRESH_SIZE BENCH_FRESH_IOS BENCH_DEPTH \
	BENCH_HUGE BENCH_DENSE BENCH_TARGETS BENCH_JOBS BENCH_MERGE_SIZE BENCH_MERGE_HOT BENCH_MERGE_JOBS BENCH_MERGE_PACES; do
	[ -n "${!v:-}" ] && envs+=(-e "$v=${!v}")
done

# The scratch disk's home: see BENCH_SCRATCH_DIR above.
scratch_dir=${BENCH_SCRATCH_DIR:-}
if [ -z "$scratch_dir" ]; then
	scratch_dir=/var/tmp
	free_kib=$(df -k --output=avail /dev/shm 2>/dev/null | tail -n 1)
	# cache=none opens the image O_DIRECT: tmpfs takes it since Linux 6.6.
	if [ "${free_kib:-0}" -ge $((12 << 20)) ] &&
		dd if=/dev/zero of=/dev/shm/.prld-bench-odirect bs=4k count=1 \
			oflag=direct status=none 2>/dev/null; then
		scratch_dir=/dev/shm
	fi
	rm -f /dev/shm/.prld-bench-odirect
fi
envs+=(-e "BENCH_SCRATCH_HOST=$(df --output=fstype "$scratch_dir" | tail -n 1)")
echo "bench: scratch disk image in $scratch_dir"

start=$(date +%s)
for k in $kernels; do
	# A copy of our own: later module builds (tests, A/B runs) must not
	# swap the module under a run that has not loaded it yet.
	ko=$top/build/bench/$k/prld.ko
	mkdir -p "${ko%/*}"
	cp "$(tests/kernel/build-module.sh "$k")" "$ko"
	for fs in $filesystems; do
		# run.sh --keep leaves its work directory (the guest's results)
		# in a directory of our own, so we know where to look.
		tmp=$(mktemp -d "$scratch_dir/prld-bench.XXXXXX")
		rc=0
		PRLD_VM_TMPDIR=$tmp tests/vm/run.sh --kernel "$k" \
			--scratch-size 24G --mem 2G --timeout 3600 --keep \
			-e "PRLD_KO=$ko" -e "BENCH_FS=$fs" ${envs[@]+"${envs[@]}"} \
			-- bench/guest.sh || rc=$?
		dest=$raw/$k--$fs
		mkdir -p "$dest"
		cp -r "$tmp"/prld-vm.*/share/results/. "$dest/" 2>/dev/null || true
		rm -rf "$tmp"
		if [ $rc -ne 0 ]; then
			echo "bench: the run on $k/$fs failed; partial results in $dest" >&2
			exit 1
		fi
	done
done
python3 bench/report.py --tag "$tag" ${BENCH_README:+--readme "$BENCH_README"} \
	"$raw" "$out"
echo "bench: done in $(( $(date +%s) - start )) s: $out/latest.md"
