#!/bin/bash
# build-module.sh KREL|DIR: build driver/prld.ko for kernel release KREL
# (or against the built kernel tree DIR, the debug kernel) in its own copy
# of the sources (build/kmod/KREL or build/kmod/<DIR's name>), so builds
# for different kernels never share objects.  Prints the module's path.
# PRLD_FAULT_INJECT=y also builds the driver's fault points (prld_fault.c).
#
# make test runs suites on one kernel side by side (make -j2), and a
# guest loads the .ko from this tree over 9p: a second build must never
# rewrite it under a running guest.  So builds of one tree take a lock,
# copy only the sources that changed (an unchanged tree is a no-op for
# kbuild), and with PRLD_MODULE_ONCE set (one token per make test run)
# the tree is built once per run and later callers reuse it.
set -euo pipefail
krel=${1:?usage: build-module.sh KREL|DIR}
top=$(cd "$(dirname "$0")/../.." && pwd -P)
if [ -d "$krel" ]; then
	kdir=$(cd "$krel" && pwd -P)
	out=$top/build/kmod/$(basename "$kdir")
else
	kdir=/lib/modules/$krel/build
	out=$top/build/kmod/$krel
fi
[ -d "$kdir" ] || { echo "build-module: no headers for $krel ($kdir)" >&2; exit 1; }
mkdir -p "$out/driver" "$out/include"
exec 8>"$out.lock"
flock 8
once=${PRLD_MODULE_ONCE:-}
if [ -n "$once" ] && [ "$(cat "$out.once" 2>/dev/null)" = "$once" ]; then
	echo "$out/driver/prld.ko"
	exit 0
fi
# copy_changed DEST FILE...: copy each FILE into DEST unless identical.
copy_changed() {
	local dest=$1 f
	shift
	for f in "$@"; do
		cmp -s "$f" "$dest/${f##*/}" || cp "$f" "$dest/"
	done
}
copy_changed "$out" "$top"/Kbuild
# Not the generated prld.mod.c of an in-tree `make module` (for whichever
# kernel that was): kbuild would compile it into this tree's module, and
# the module would carry the other kernel's symbol versions.
copy_changed "$out/driver" "$top"/driver/Kbuild \
	$(ls "$top"/driver/*.[ch] | grep -v '\.mod\.c$')
copy_changed "$out/include" "$top"/include/*.h
rm -f "$out.once"
make -s -C "$kdir" M="$out" W=1 PRLD_FAULT_INJECT="${PRLD_FAULT_INJECT:-}" modules >&2
[ -z "$once" ] || echo "$once" >"$out.once"
echo "$out/driver/prld.ko"
