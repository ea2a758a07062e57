#!/bin/bash
# tests/deb/run.sh's guest half, run as the VM test bed's command: give
# the read-only host root a writable overlay whose upper half lives on
# the scratch disk (so a second boot finds what the first installed),
# and run tests/deb/system.sh inside it as the system's root.
set -u
: "${PRLD_DEB_DIR:?}" "${PRLD_DEB_STAGE:?}" "${PRLD_VM_SCRATCH:?}"
here=$(cd "$(dirname "$0")" && pwd -P)
S=/mnt/scratch R=/mnt/root
mkdir -p "$S" "$R"
[ "$PRLD_DEB_STAGE" = install ] && mkfs.ext4 -q -F "$PRLD_VM_SCRATCH"
mount "$PRLD_VM_SCRATCH" "$S" || exit 1
mkdir -p "$S/upper" "$S/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$S/upper,workdir=$S/work" "$R" ||
	{ echo "not ok - overlay over the host root"; exit 1; }
for m in proc sys dev dev/pts run tmp; do mount --rbind "/$m" "$R/$m"; done
# The upper half, for system.sh to search after the purge.
mkdir -p "$R/mnt/upper" && mount --bind -o ro "$S/upper" "$R/mnt/upper"
chroot "$R" /bin/bash "$here/system.sh" "$PRLD_DEB_STAGE" "$PRLD_DEB_DIR"
rc=$?
# Leave nothing mounted on the overlay or the scratch disk.
umount -R "$R" 2>/dev/null || umount -l "$R"
umount "$S"
exit $rc
