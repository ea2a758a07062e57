#!/bin/bash
# mkinitrd.sh KREL [OUT] - the initramfs of the test VM for kernel KREL.
# mkinitrd.sh --no-modules [OUT] - the same without modules, for a kernel
# with 9p and virtio built in (the debug kernel, tests/debug-kernel).
#
# Contents: static busybox, the modules needed to reach the host over 9p
# and the scratch disk over virtio_blk (decompressed: busybox insmod only
# reads plain .ko), and tests/vm/init.  Everything else comes from the
# host root inside the guest.
#
# The result is cached in $PRLD_VM_CACHE (default /var/cache/prld-vm),
# keyed by this script, init and the kernel image, so editing either
# rebuilds it and a kernel update with the same release does too.  Prints
# the cached path; with OUT, also copies it there.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${PRLD_VM_CACHE:-/var/cache/prld-vm}
# Order matters: insmod does not resolve dependencies.
MODULES=(9p 9pnet_virtio virtio_pci virtio_blk)

KREL=${1:?usage: mkinitrd.sh KREL|--no-modules [OUT]}
OUT=${2:-}
if [ "$KREL" = --no-modules ]; then
	KREL=nomodules
	MODULES=()
	kimage=/dev/null
else
	kimage=/boot/vmlinuz-$KREL
fi
[ -f "$kimage" ] || [ "$kimage" = /dev/null ] || {
	echo "mkinitrd.sh: no $kimage (tests/vm/kernels.sh install)" >&2
	exit 1
}

hash=$(cat "$HERE/mkinitrd.sh" "$HERE/init" "$kimage" |
	sha256sum | cut -c1-16)
img=$CACHE/initrd-$KREL-$hash.cpio.gz

if [ ! -s "$img" ]; then
	mkdir -p "$CACHE"
	tmp=$(mktemp -d "$CACHE/build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	root=$tmp/root
	mkdir -p "$root"/{bin,dev,proc,sys,lib/modules}

	# /bin/busybox is the static one once busybox-static is installed.
	cp /bin/busybox "$root/bin/busybox"
	for a in $("$root/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
	done
	install -m 755 "$HERE/init" "$root/init"

	# --show-depends takes one module (further words are parameters);
	# lines are "insmod PATH" or "builtin NAME".  Keep the first
	# occurrence of each module, which is dependency order.
	for m in ${MODULES[@]+"${MODULES[@]}"}; do
		modprobe -S "$KREL" --show-depends "$m" ||
			{ echo "mkinitrd.sh: no module $m for $KREL" >&2; exit 1; }
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' >"$tmp/paths"
	: >"$root/modules"
	while read -r p; do
		name=$(basename "$p")
		name=${name%.xz}
		name=${name%.zst}
		case "$p" in
		*.xz) xz -dc "$p" ;;
		*.zst) zstd -qdc "$p" ;;
		*) cat "$p" ;;
		esac >"$root/lib/modules/$name"
		echo "$name" >>"$root/modules"
	done <"$tmp/paths"

	(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -6 >"$tmp/img"
	rm -f "$CACHE/initrd-$KREL-"*.cpio.gz # stale versions
	mv "$tmp/img" "$img" # atomic: parallel builds just race harmlessly
fi

[ -z "$OUT" ] || cp "$img" "$OUT"
echo "$img"
