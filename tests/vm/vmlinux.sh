#!/bin/bash
# vmlinux.sh KREL - prints the kernel file for the test VM to boot.
#
# Under TCG, the bzImage's own decompressor takes about 5 s of every boot
# (xz on 6.1, zstd on 6.12).  Debian kernels have CONFIG_PVH, so QEMU can
# boot the uncompressed ELF directly through its PVH entry point instead:
# decompress it once into $PRLD_VM_CACHE (default /var/cache/prld-vm),
# keyed by the image's hash.  Falls back to /boot/vmlinuz-KREL when the
# payload can't be extracted.
set -euo pipefail

KREL=${1:?usage: vmlinux.sh KREL}
CACHE=${PRLD_VM_CACHE:-/var/cache/prld-vm}
img=/boot/vmlinuz-$KREL
[ -f "$img" ] || {
	echo "vmlinux.sh: no $img (tests/vm/kernels.sh install)" >&2
	exit 1
}
hash=$(cat "$0" "$img" | sha256sum | cut -c1-16)
out=$CACHE/vmlinux-$KREL-$hash

if [ ! -s "$out" ]; then
	mkdir -p "$CACHE"
	tmp=$(mktemp "$CACHE/vmlinux.XXXXXX")
	trap 'rm -f "$tmp"' EXIT
	# The compressed payload starts at an xz or zstd magic somewhere in the
	# bzImage (like the kernel's scripts/extract-vmlinux); the real one
	# decompresses to an ELF with the PVH entry note (type 0x12).
	for m in '\xfd7zXZ\x00 xz' '\x28\xb5\x2f\xfd zstd'; do
		for pos in $(LC_ALL=C grep -obUaP "${m% *}" "$img" | cut -d: -f1); do
			# Trailing bytes after the stream make the tools complain.
			tail -c +$((pos + 1)) "$img" | ${m#* } -dcq >"$tmp" 2>/dev/null || true
			if [ "$(head -c 4 "$tmp")" = $'\x7fELF' ] &&
				readelf -n "$tmp" 2>/dev/null | grep -q 'Xen.*0x00000012'; then
				chmod 644 "$tmp"
				rm -f "$CACHE/vmlinux-$KREL-"*
				mv "$tmp" "$out"
				break 2
			fi
		done
	done
fi
if [ -s "$out" ]; then echo "$out"; else echo "$img"; fi
