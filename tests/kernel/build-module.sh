#!/bin/bash
# build-module.sh KREL: build driver/prld.ko for kernel release KREL in its
# own copy of the sources (build/kmod/KREL), so builds for different
# kernels never share objects.  Prints the module's path.
set -euo pipefail
krel=${1:?usage: build-module.sh KREL}
top=$(cd "$(dirname "$0")/../.." && pwd -P)
out=$top/build/kmod/$krel
kdir=/lib/modules/$krel/build
[ -d "$kdir" ] || { echo "build-module: no headers for $krel ($kdir)" >&2; exit 1; }
mkdir -p "$out/driver" "$out/include"
cp "$top"/Kbuild "$out/"
cp "$top"/driver/Kbuild "$top"/driver/*.[ch] "$out/driver/"
cp "$top"/include/*.h "$out/include/"
make -s -C "$kdir" M="$out" W=1 modules >&2
echo "$out/driver/prld.ko"
