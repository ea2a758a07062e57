#!/bin/bash
# build.sh [--print]: build (once) and print the directory of the debug
# kernel tree for the VM tests: Debian's linux-source-6.1 configured by
# x86_64_defconfig + debug.config, built in place (vmlinux, bzImage,
# Module.symvers), so `make -C DIR M=... modules` builds our modules
# against it and tests/vm/run.sh --kernel-dir DIR boots it.
#
# Cached outside the checkout in $PRLD_DEBUG_KERNEL_CACHE (default
# /var/cache/prld-debug-kernel)/<key>, the key hashing debug.config, this
# script, the source package's version and the compiler: CI on the same
# machine reuses it, a fresh machine (or any change) rebuilds it.
# --print only prints the directory, failing if it is not built yet.
# Build time on 2 cores: see tests/debug-kernel/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
src=/usr/src/linux-source-6.1.tar.xz
cache=${PRLD_DEBUG_KERNEL_CACHE:-/var/cache/prld-debug-kernel}

[ -f "$src" ] || { echo "debug-kernel: $src missing (make deps)" >&2; exit 1; }
ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$({ cat "$here/debug.config" "$here/build.sh"; echo "$ver"
	gcc --version | head -n1; } | sha256sum | cut -c1-16)
dir=$cache/$key
# "done" is written last: its presence means a complete tree.
if [ -f "$dir/done" ]; then
	echo "$dir"
	exit 0
fi
[ "${1:-}" != --print ] || { echo "debug-kernel: not built (make debug-kernel)" >&2; exit 1; }

mkdir -p "$cache"
# One build at a time per machine; a second caller waits, then reuses.
exec 9>"$cache/.lock"
flock 9
if [ -f "$dir/done" ]; then echo "$dir"; exit 0; fi
rm -rf "$dir"
mkdir -p "$dir"
start=$(date +%s)
echo "debug-kernel: building linux-source-6.1 $ver in $dir" >&2
tar -C "$dir" --strip-components=1 -xJf "$src"
jobs=$(nproc)
{
	make -C "$dir" -s x86_64_defconfig
	(cd "$dir" && scripts/kconfig/merge_config.sh -m .config "$here/debug.config")
	make -C "$dir" -s olddefconfig
	# merge_config.sh -m only warns when a value did not stick (a
	# dependency is missing): make that an error, as a silently dropped
	# KASAN would make every later run meaningless.
	bad=0
	while read -r line; do
		case "$line" in
		CONFIG_*=*) want=$line ;;
		"# CONFIG_"*" is not set") want=$line ;;
		*) continue ;;
		esac
		name=${want#\# }; name=${name%%[= ]*}
		got=$(grep -E "^(# )?$name[= ]" "$dir/.config" || echo "# $name is not set")
		if [ "$got" != "$want" ]; then
			echo "debug-kernel: $name: wanted '$want', got '$got'" >&2
			bad=1
		fi
	done <"$here/debug.config"
	[ $bad = 0 ] || exit 1
	nice -n 10 make -C "$dir" -s -j"$jobs" all
	make -C "$dir" -s modules_prepare
} >"$dir/build.log" 2>&1 || {
	tail -n 40 "$dir/build.log" >&2
	echo "debug-kernel: build failed (log: $dir/build.log)" >&2
	exit 1
}
# The sources are not needed for module builds beyond headers and the
# build's own outputs, but pruning saves little and risks breaking
# `make M=`: keep the tree whole.
echo "$(($(date +%s) - start))" >"$dir/build-seconds"
touch "$dir/done"
echo "debug-kernel: built in $(cat "$dir/build-seconds") s" >&2
# Older keys are stale builds of this same kernel.
for old in "$cache"/*/; do
	[ "${old%/}" = "$dir" ] || rm -rf "${old%/}"
done
echo "$dir"
