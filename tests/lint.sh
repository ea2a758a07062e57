#!/bin/bash
# lint.sh KREL...: the kernel code's quality gates, each a hard failure:
#   checkpatch.pl --no-tree (from Debian's linux-source-6.1) on driver/ and
#   include/; a W=1 build with sparse (C=2) for every kernel release given.
#   KREL "debug" is the debug kernel's tree (tests/debug-kernel), with the
#   driver's fault points (prld_fault.c) compiled in.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$top"
src=/usr/src/linux-source-6.1.tar.xz
cache=/var/cache/prld-checkpatch
status=0

# make test may lint the stock and debug trees at once: one unpacks.
mkdir -p "$cache"
exec 9>"$cache.lock"
flock 9
if [ ! -x "$cache/scripts/checkpatch.pl" ]; then
	[ -f "$src" ] || { echo "lint: $src missing (make deps)" >&2; exit 1; }
	tar -C "$cache" --strip-components=1 -xJf "$src" \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
fi
exec 9>&-
# Our sources only: not the build's generated prld.mod.c.
files=$(ls driver/*.[ch] include/*.h | grep -v '\.mod\.c$')
# shellcheck disable=SC2086
out=$("$cache/scripts/checkpatch.pl" --no-tree --terse --show-types -f \
	$files 2>&1 | grep -E 'ERROR|WARNING' || true)
if [ -n "$out" ]; then
	echo "$out"
	echo "lint: checkpatch: not clean"
	status=1
else
	echo "lint: checkpatch clean ($(wc -w <<<"$files") files)"
fi

for krel in "$@"; do
	dir=$top/build/lint/$krel
	rm -rf "$dir" && mkdir -p "$dir/driver" "$dir/include"
	cp Kbuild "$dir/" && cp driver/Kbuild driver/*.[ch] "$dir/driver/"
	cp include/*.h "$dir/include/"
	kdir=/lib/modules/$krel/build fault=
	if [ "$krel" = debug ]; then
		kdir=$(tests/debug-kernel/build.sh --print) || { status=1; continue; }
		fault=y
	fi
	# Not the caller's MAKEFLAGS: `make -s lint` would silence the CHECK
	# lines that prove sparse ran.
	log=$(MAKEFLAGS= make -C "$kdir" M="$dir" W=1 C=2 PRLD_FAULT_INJECT=$fault \
		modules 2>&1) ||
		{ echo "$log"; echo "lint: $krel: build failed"; status=1; continue; }
	# C=2 prints a CHECK line per file: no such line, no sparse run.
	if ! grep -q ' CHECK ' <<<"$log"; then
		echo "lint: $krel: sparse did not run (is it installed?)"
		status=1
		continue
	fi
	warn=$(grep -E 'warning:|error:' <<<"$log" || true)
	if [ -n "$warn" ]; then
		echo "$warn"
		echo "lint: $krel: W=1/sparse warnings"
		status=1
	else
		echo "lint: $krel: W=1 and sparse clean"
	fi
done
exit $status
