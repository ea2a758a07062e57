#!/bin/bash
# The guest kernels for the VM test bed.
#
#   kernels.sh install   install Debian's 6.1 and 6.12 kernels with their
#                        headers, plus QEMU and the guest tools (as root)
#   kernels.sh list      the kernel releases usable for testing, 6.1 first
#
# Both series come from bookworm's own registry: 6.1 is the default
# (linux-image-amd64), 6.12 is the bookworm-backports-style
# linux-image-6.12.N+deb12-amd64.  An out-of-tree module needs the headers
# of exactly the image it is loaded into, so for 6.12 we pick the newest
# N for which BOTH the image and the headers have an installable candidate.
set -euo pipefail

TOOLS=(qemu-system-x86 busybox-static kmod cpio xz-utils zstd e2fsprogs
	xfsprogs fio)

# Releases with a kernel image and a module build directory; sorted by
# version so 6.1 comes before 6.12.
list() {
	local d rel
	for d in /lib/modules/*/; do
		rel=$(basename "$d")
		[ -f "/boot/vmlinuz-$rel" ] && [ -d "$d/build" ] && echo "$rel"
	done | sort -V
}

# True if every named package is installed.
installed() {
	[ "$(dpkg-query -W -f='${Status}\n' "$@" 2>/dev/null |
		grep -c 'ok installed')" -eq $# ]
}

candidate() {
	apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }'
}

# Newest 6.12.N+deb12 ABI that has both an image (signed or unsigned) and
# headers installable; prints "image-package headers-package".
pick_612() {
	local abi img c
	for abi in $(apt-cache pkgnames linux-headers-6.12. |
		sed -n 's/^linux-headers-\(6\.12\.[0-9]*+deb12\)-amd64$/\1/p' |
		sort -rV); do
		c=$(candidate "linux-headers-$abi-amd64")
		case "$c" in "" | "(none)") continue ;; esac
		for img in "linux-image-$abi-amd64" "linux-image-$abi-amd64-unsigned"; do
			if [ "$(candidate "$img")" = "$c" ]; then
				echo "$img linux-headers-$abi-amd64"
				return 0
			fi
		done
	done
	return 1
}

install() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "kernels.sh: install must run as root" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	local want=(linux-image-amd64 linux-headers-amd64 "${TOOLS[@]}")
	# Fast path: everything there and some 6.12 release already usable.
	if installed "${want[@]}" && list | grep -q '^6\.12\.'; then
		echo "kernels.sh: all present: $(list | xargs)"
		return 0
	fi
	apt-get update -qq
	local pair
	if ! list | grep -q '^6\.12\.'; then
		pair=$(pick_612) || {
			echo "kernels.sh: no 6.12 image+headers pair with equal versions" >&2
			exit 1
		}
		echo "kernels.sh: 6.12 pair: $pair"
		want+=("${pair% *}" "${pair#* }")
	fi
	# --no-install-recommends keeps firmware and friends out; the
	# initramfs/grub hooks run but need no input.
	apt-get install -y -qq --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"${want[@]}"
	echo "kernels.sh: installed: $(list | xargs)"
}

case "${1:-}" in
list) list ;;
install) install ;;
*)
	echo "usage: $0 install|list" >&2
	exit 2
	;;
esac
