#!/bin/bash
# bench/ab.sh REF [KREL]: A/B measurement of a driver change in one VM
# run: A is the module built from git REF (say HEAD or main), B the one
# built from the working tree.  Each job runs with A, then B, job by job
# (bench/ab-guest.sh); the table shows B/A per job, and loop as the
# ceiling.  BENCH_FS, BENCH_RUNTIME, BENCH_JOBS, AB_TARGETS as in
# bench/run.sh and bench/ab-guest.sh.  Output: bench/results/ab-*.md.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$top"
ref=${1:?usage: ab.sh REF [KREL]}
krel=${2:-$(tests/vm/kernels.sh list | tail -n 1)}
fs=${BENCH_FS:-ext4}
kdir=/lib/modules/$krel/build

make -s userspace/prldctl
# A: the sources at REF, built in a directory of their own.
a=$top/build/ab/$krel/A
rm -rf "$a" && mkdir -p "$a"
git archive "$ref" Kbuild driver include | tar -x -C "$a"
make -s -C "$kdir" M="$a" modules >&2
ko_b=$(tests/kernel/build-module.sh "$krel")
b=$top/build/ab/$krel/B
mkdir -p "$b" && cp "$ko_b" "$b/prld.ko"

envs=()
for v in BENCH_RUNTIME BENCH_RAMP BENCH_SIZE BENCH_FRESH_SIZE BENCH_JOBS AB_TARGETS; do
	[ -n "${!v:-}" ] && envs+=(-e "$v=${!v}")
done
label_b="$(git describe --always --dirty)"
tmp=$(mktemp -d "${PRLD_VM_TMPDIR:-/var/tmp}/prld-ab.XXXXXX")
rc=0
PRLD_VM_TMPDIR=$tmp tests/vm/run.sh --kernel "$krel" --scratch-size 24G \
	--mem 2G --timeout 3600 --keep -e "AB_KO_A=$a/driver/prld.ko" \
	-e "AB_KO_B=$b/prld.ko" -e "AB_LABEL_A=$ref" -e "AB_LABEL_B=$label_b" \
	-e "BENCH_FS=$fs" ${envs[@]+"${envs[@]}"} -- bench/ab-guest.sh || rc=$?
raw=$top/build/ab/raw-$krel-$fs
rm -rf "$raw" && mkdir -p "$raw"
cp -r "$tmp"/prld-vm.*/share/results/. "$raw/" 2>/dev/null || true
rm -rf "$tmp"
[ $rc -eq 0 ] || { echo "ab: the VM run failed" >&2; exit 1; }
mkdir -p bench/results
python3 bench/ab_report.py "$raw" | tee "bench/results/ab-$(date -u +%Y%m%dT%H%M)-$fs.md"
