#!/bin/bash
# crash.sh CUTS [KREL...]: the driver's power-cut test (tests/vm/crash.sh
# with tests/kernel/crash-workload.sh and crash-check.sh): CUTS cuts spread
# over the given kernels (default: every test kernel), the first cut on
# each kernel a selftest of the checker.  PRLD_CRASH_SEED fixes the seeds.
# PRLD_CRASH_KIND=snapshot, merge or online-merge cuts a loop of
# snapshots of a device, of offline merges, or of snapshots deleted on a
# device under writes instead (crash-KIND-workload.sh, crash-KIND-check.sh).
set -euo pipefail
cuts=${1:?usage: crash.sh CUTS [KREL...]}
shift
top=$(cd "$(dirname "$0")/../.." && pwd -P)
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || mapfile -t kernels < <("$top/tests/vm/kernels.sh" list)
seed=${PRLD_CRASH_SEED:-$(date +%s)}
kind=${PRLD_CRASH_KIND:-}
rc=0
for ((k = 0; k < ${#kernels[@]}; k++)); do
	n=$(( (cuts + k) / ${#kernels[@]} ))	# spread, first kernels first
	[ "$n" -gt 0 ] || continue
	ko=$("$top/tests/kernel/build-module.sh" "${kernels[k]}")
	echo "# kernel ${kernels[k]}: $n cuts, seeds from $((seed + k * 100000))"
	"$top/tests/vm/crash.sh" --kernel "${kernels[k]}" --cuts "$n" \
		--seed $((seed + k * 100000)) --selftest-every "${PRLD_CRASH_SELFTEST_EVERY:-25}" \
		-e "PRLD_KO=$ko" \
		--workload "tests/kernel/crash${kind:+-$kind}-workload.sh" \
		--check "tests/kernel/crash${kind:+-$kind}-check.sh" || rc=1
done
exit $rc
