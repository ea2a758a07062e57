#!/bin/bash
# bench/ab.sh [--kernel KREL] REF... : A/B(/C...) measurement of driver
# changes in one VM run: one module per git REF (WORKTREE = the working
# tree as it is), each job run with every module in turn, job by job, in
# BENCH_ROUNDS rounds (bench/ab-guest.sh), loop right before as the
# ceiling.  BENCH_FS, BENCH_RUNTIME, BENCH_JOBS, AB_TARGETS as in
# bench/run.sh and bench/ab-guest.sh.  Prints the table and keeps it in
# bench/results/ab-DATE-FS.md.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$top"
krel=$(tests/vm/kernels.sh list | tail -n 1)
if [ "${1:-}" = --kernel ]; then krel=$2; shift 2; fi
[ $# -ge 2 ] || { echo "usage: ab.sh [--kernel KREL] REF REF..." >&2; exit 2; }
fs=${BENCH_FS:-ext4}
kdir=/lib/modules/$krel/build

make -s userspace/prldctl
kos='' labels='' n=0
for ref in "$@"; do
	v=$(printf "\\$(printf %o $((65 + n)))")	# A, B, C...
	n=$((n + 1))
	d=$top/build/ab/$krel/$v
	rm -rf "$d" && mkdir -p "$d"
	if [ "$ref" = WORKTREE ]; then
		cp -r Kbuild driver include "$d/"
		ref="worktree($(git describe --always --dirty))"
	else
		git archive "$ref" Kbuild driver include | tar -x -C "$d"
	fi
	make -s -C "$kdir" M="$d" modules >&2
	kos="$kos $v=$d/driver/prld.ko"
	labels="$labels $v=$ref"
done

envs=()
for v in BENCH_RUNTIME BENCH_RAMP BENCH_ROUNDS BENCH_SIZE BENCH_FRESH_SIZE \
	BENCH_JOBS AB_TARGETS; do
	[ -n "${!v:-}" ] && envs+=(-e "$v=${!v}")
done
tmp=$(mktemp -d "${PRLD_VM_TMPDIR:-/var/tmp}/prld-ab.XXXXXX")
rc=0
PRLD_VM_TMPDIR=$tmp tests/vm/run.sh --kernel "$krel" --scratch-size 24G \
	--mem 2G --timeout 3600 --keep -e "AB_KOS=${kos# }" \
	-e "AB_LABELS=${labels# }" -e "BENCH_FS=$fs" ${envs[@]+"${envs[@]}"} \
	-- bench/ab-guest.sh || rc=$?
raw=$top/build/ab/raw-$krel-$fs
rm -rf "$raw" && mkdir -p "$raw"
cp -r "$tmp"/prld-vm.*/share/results/. "$raw/" 2>/dev/null || true
rm -rf "$tmp"
[ $rc -eq 0 ] || { echo "ab: the VM run failed" >&2; exit 1; }
mkdir -p bench/results
python3 bench/ab_report.py "$raw" | tee "bench/results/ab-$(date -u +%Y%m%dT%H%M)-$fs.md"
