#!/bin/bash
# Runs inside the VM (started by tests/kernel/run.sh through tests/vm/run.sh):
# backing filesystem on the scratch disk, load the module, run the kernel
# tests through prove, check that unloading works, report.
set -u
cd "$(dirname "$0")/../.."
: "${PRLD_KO:?}" "${PRLD_VM_SCRATCH:?}"
fs=${PRLD_BACKING_FS:-ext4}
export PRLDCTL=$PWD/userspace/prldctl \
	PRLDCTL_TEST=$PWD/build/prldctl-test RAWATTACH=$PWD/build/rawattach \
	CORPUS_GEN=$PWD/build/gen_corpus MUTANTS=$PWD/build/mutants \
	MUTANT_RUN=$PWD/build/mutant_run RAWIOCTL=$PWD/build/rawioctl \
	JOBWAIT=$PWD/build/jobwait \
	SCRATCH=/mnt/scratch

echo "# kernel $(uname -r), backing filesystem $fs on $PRLD_VM_SCRATCH"
case $fs in
ext4) mkfs.ext4 -q -F "$PRLD_VM_SCRATCH" ;;
xfs) mkfs.xfs -q -f "$PRLD_VM_SCRATCH" ;;
*) echo "unknown PRLD_BACKING_FS=$fs"; exit 2 ;;
esac
mkdir -p "$SCRATCH" && mount "$PRLD_VM_SCRATCH" "$SCRATCH" || exit 1
insmod "$PRLD_KO" || exit 1

# A hang must end the run with evidence: report blocked tasks after 30 s
# (the hung-task detector) and, when the suite overruns, dump every
# blocked task's stack and the kernel log tail before giving up.
echo 30 > /proc/sys/kernel/hung_task_timeout_secs 2>/dev/null
echo 1 > /proc/sys/kernel/sysrq
# --timer: each test's time, to see where a kernel's suite spends it
# (the debug kernel's runs beside the stock one in make test).
# shellcheck disable=SC2086
timeout "${PRLD_SUITE_TIMEOUT:-1800}" \
	prove --exec '' --timer --failures --comments ${PRLD_KTESTS:-tests/kernel/*.t}
rc=$?
if [ $rc -eq 124 ]; then
	echo "not ok - the suite timed out: blocked tasks follow"
	echo w > /proc/sysrq-trigger
	sleep 1
	dmesg | tail -n 150
	exit 1
fi

# Module unload must refuse while a device is bound, and then succeed.
"$PRLDCTL" create -s 16M "$SCRATCH/unload" > /dev/null &&
	dev=$("$PRLDCTL" open "$SCRATCH/unload")
if rmmod prld 2>/dev/null; then
	echo "not ok - rmmod succeeded with $dev attached"; rc=1
else
	echo "ok - rmmod refused with $dev attached"
fi
"$PRLDCTL" close "$dev"
left=$("$PRLDCTL" list)
[ -z "$left" ] || { echo "not ok - devices left bound: $left"; rc=1; }
if rmmod prld; then
	echo "ok - rmmod after detaching everything"
else
	echo "not ok - rmmod failed"; rc=1
fi
umount "$SCRATCH"
exit $rc
