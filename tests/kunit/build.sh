#!/bin/bash
# build.sh KDIR [--selftest]: build prld_kunit.ko against the kernel tree
# KDIR (the debug kernel: tests/debug-kernel/build.sh) in its own flat
# copy of the suites, driver/prld_chain.c, prld_pages.c, prld_validate.c and the
# headers (build/kunit/...), never touching driver/ or prld.ko.  With
# --selftest the module also has a suite that must fail.  Prints the
# module's path.
set -euo pipefail
kdir=${1:?usage: build.sh KDIR [--selftest]}
top=$(cd "$(dirname "$0")/../.." && pwd -P)
variant=normal selftest=
[ "${2:-}" != --selftest ] || { variant=selftest; selftest=y; }
[ -f "$kdir/Module.symvers" ] || { echo "kunit: $kdir is not a built tree" >&2; exit 1; }
out=$top/build/kunit/$(basename "$kdir")-$variant
rm -rf "$out" && mkdir -p "$out"
cp "$top"/tests/kunit/Kbuild "$top"/tests/kunit/*.[ch] "$out/"
cp "$top"/driver/prld_chain.c "$top"/driver/prld_pages.c \
	"$top"/driver/prld_validate.c "$top"/driver/*.h \
	"$top"/include/*.h "$out/"
make -s -C "$kdir" M="$out" W=1 PRLD_KUNIT_SELFTEST=$selftest modules >&2
echo "$out/prld_kunit.ko"
