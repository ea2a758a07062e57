#!/bin/bash
# build-module.sh KREL|DIR: build driver/prld.ko for kernel release KREL
# (or against the built kernel tree DIR, the debug kernel) in its own copy
# of the sources (build/kmod/KREL or build/kmod/<DIR's name>), so builds
# for different kernels never share objects.  Prints the module's path.
# PRLD_FAULT_INJECT=y also builds the driver's fault points (prld_fault.c).
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
cp "$top"/Kbuild "$out/"
cp "$top"/driver/Kbuild "$top"/driver/*.[ch] "$out/driver/"
cp "$top"/include/*.h "$out/include/"
make -s -C "$kdir" M="$out" W=1 PRLD_FAULT_INJECT="${PRLD_FAULT_INJECT:-}" modules >&2
echo "$out/driver/prld.ko"
