#!/bin/bash
# Boot 1 of a power-cut test (tests/kernel/crash.sh, tests/vm/crash.sh):
# two disks on an ext4 scratch filesystem, attached; random direct writes
# with FUA and flushes on one, files created/fsynced/unlinked on an ext4
# inside the other; each writer logs what it made durable to the 9p share
# ($PRLD_VM_WORK, kept by the host whatever happens to the guest).  Runs
# until QEMU is killed; prints "PRLD-VM: ARMED" when the set-up is durable.
set -eu
cd "$(dirname "$0")/../.."
: "${PRLD_KO:?}" "${PRLD_VM_SCRATCH:?}" "${PRLD_VM_WORK:?}"
PRLDCTL=$PWD/userspace/prldctl DURABLE=$PWD/build/durable
seed=${PRLD_CRASH_SEED:-1}
W=$PRLD_VM_WORK

mkfs.ext4 -q -F "$PRLD_VM_SCRATCH"
mkdir -p /mnt/s /mnt/fs
mount "$PRLD_VM_SCRATCH" /mnt/s
insmod "$PRLD_KO"
# 64 KiB clusters for the raw writer (many allocations), the default
# 1 MiB for the filesystem.
"$PRLDCTL" create -s 64M --cluster-size 64K /mnt/s/raw > /dev/null
"$PRLDCTL" create -s 128M /mnt/s/fs > /dev/null
rawdev=$("$PRLDCTL" open /mnt/s/raw)
fsdev=$("$PRLDCTL" open /mnt/s/fs)
mkfs.ext4 -q "$fsdev"
mount "$fsdev" /mnt/fs
sync
echo "$rawdev $fsdev" > "$W/devices"
rm -f "$W/dev.log" "$W/files.log"

echo "PRLD-VM: ARMED (seed $seed)"
"$DURABLE" dev "$rawdev" "$W/dev.log" "$seed" &
"$DURABLE" files /mnt/fs "$W/files.log" "$seed" &
wait -n
echo "crash-workload: a writer stopped before the cut" >&2
exit 1
