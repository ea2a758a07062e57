#!/bin/bash
# The kernel half of `make demo`: load prld, attach a disk, partition it,
# make a filesystem, mount it, copy files, show lsblk, detach.  Runs as
# root where modules can be loaded: on the host, or inside the test VM.
set -euo pipefail
: "${PRLDCTL:?}" "${PRLD_KO:?}"
say() { printf '\n$ %s\n' "$*"; }
step() { say "$*"; "$@"; }
dir=${PRLD_DEMO_DIR:-$(mktemp -d /tmp/prld-demo.XXXXXX)}
mnt=$(mktemp -d /tmp/prld-mnt.XXXXXX)

lsmod 2>/dev/null | grep -q '^prld ' || step insmod "$PRLD_KO"
step "$PRLDCTL" create -s 1G "$dir/disk"
say "prldctl open $dir/disk"
dev=$("$PRLDCTL" open "$dir/disk")
echo "$dev"
say "echo ',,L' | sfdisk $dev"
echo ',,L' | sfdisk -q "$dev"
for _ in $(seq 50); do [ -b "${dev}p1" ] && break; sleep 0.1; done
step mkfs.ext4 -q -L prld-demo "${dev}p1"
step mount "${dev}p1" "$mnt"
step cp -a /usr/share/doc/bash /usr/share/doc/coreutils "$mnt/"
step lsblk -o NAME,SIZE,TYPE,FSTYPE,LABEL,MOUNTPOINT "$dev"
step df -h "$mnt"
step "$PRLDCTL" list
say "prldctl close $dev   # while mounted: refused"
"$PRLDCTL" close "$dev" || true
step umount "$mnt"
step "$PRLDCTL" close "$dev"
step "$PRLDCTL" info "$dir/disk"
step "$PRLDCTL" check "$dir/disk"
step qemu-img check -f parallels "$dir/disk/root.hds"
echo
echo "demo: OK"
