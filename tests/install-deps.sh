#!/bin/bash
# Install everything the build, the tests and the demo need on Debian 12.
# One list, used by `make deps` and by .ci/run.  Run as root.
set -euo pipefail

PACKAGES=(
	# build
	build-essential pkg-config libxml2-dev uuid-dev libjson-c-dev
	# tests: TAP runner, sanitizers and libFuzzer, valgrind
	perl clang libclang-rt-dev valgrind
	# tests: QEMU as the independent peer, XML and JSON inspection
	qemu-utils libxml2-utils jq xxd
	# real-images: gen_real.py builds the variants; the PD 17 fixtures are .tar.xz
	python3 xz-utils
	# kernel side: lint (checkpatch from the 6.1 source, sparse), dkms,
	# and the tools the VM tests run (the kernels come from kernels.sh)
	linux-source-6.1 sparse dkms fio e2fsprogs xfsprogs fdisk util-linux
	# the VM runner times runs with bc; dkms makes its signing key with openssl
	bc openssl
	# make bench: the chart
	gnuplot-nox
	# make test-deb: building and checking the Debian packages
	debhelper dh-dkms lintian
	# the debug kernel (tests/debug-kernel/build.sh) from linux-source-6.1
	flex bison libelf-dev libssl-dev xz-utils cpio
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (as root: make deps; with sudo: sudo make deps)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages present"
else
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian's 6.1 and 6.12 kernels with headers, QEMU and the guest's tools.
"$(dirname "$0")/vm/kernels.sh" install
