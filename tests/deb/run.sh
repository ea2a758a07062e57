#!/bin/bash
# make test-deb: the Debian packages end to end (TAP).
#
#   1. dpkg-buildpackage -us -uc on a copy of the working tree: prldctl,
#      libprld1, libprld-dev, prld-dkms (build/deb/)
#   2. lintian on them: no error
#   3. boot the VM test bed on the first test kernel with a writable root
#      (an overlay over the read-only host root, its upper half on the
#      scratch disk), install the packages there: DKMS builds the module
#      for every installed kernel, it loads, the unit is enabled and
#      passes systemd-analyze verify; /etc/prldtab's disks attach through
#      the unit's own ExecStart line with udevd running (by-id, by-uuid,
#      by-label links, a mount by UUID), detach through its ExecStop
#      (tests/deb/guest.sh, tests/deb/system.sh)
#   4. boot the same root on the second kernel: the module DKMS built for
#      it loads, the disks attach again; then dpkg --purge, and nothing of
#      the packages is left.
# systemd itself does not run in the test bed (its init is a busybox
# script), so the unit is exercised by running its command lines.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd -P)
out=$top/build/deb
mapfile -t kernels < <("$top/tests/vm/kernels.sh" list)
n=0 failed=0
step() {	# step STATUS NAME
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; exit; }

rm -rf "$out" && mkdir -p "$out/src/prld" "$out/share"
# The working tree as it is (tracked and new files, nothing ignored).
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	tar --null --ignore-failed-read -T - -cf - 2> /dev/null) |
	tar -C "$out/src/prld" -xf -
start=$(date +%s)
(cd "$out/src/prld" && dpkg-buildpackage -us -uc) > "$out/build.log" 2>&1
step $? "dpkg-buildpackage -us -uc ($(( $(date +%s) - start )) s)"
[ "$failed" -eq 0 ] || { tail -30 "$out/build.log" | sed 's/^/#   /'; finish; }
debs=$(cd "$out/src" && ls ./*.deb | grep -v dbgsym | tr '\n' ' ')
echo "# packages: $debs"
lintian --fail-on error "$out"/src/*.changes > "$out/lintian.log" 2>&1
step $? "lintian: no error ($(grep -c '^W:' "$out/lintian.log") warnings, $(grep -c '^I:' "$out/lintian.log") notes)"
sed 's/^/#   /' "$out/lintian.log"

vm() {	# vm KERNEL STAGE
	"$top/tests/vm/run.sh" --kernel "$1" --scratch-image "$out/scratch.img" \
		--scratch-size 4G --share "$out/share" --timeout 1500 \
		-e "PRLD_DEB_DIR=$out/src" -e "PRLD_DEB_STAGE=$2" -- \
		tests/deb/guest.sh
}
rm -f "$out/scratch.img"
start=$(date +%s)
vm "${kernels[0]}" install
step $? "installed and used on ${kernels[0]} ($(( $(date +%s) - start )) s)"
start=$(date +%s)
vm "${kernels[${#kernels[@]} - 1]}" purge
step $? "used on ${kernels[${#kernels[@]} - 1]}, then purged ($(( $(date +%s) - start )) s)"
rm -f "$out/scratch.img"
finish
