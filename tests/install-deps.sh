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
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (sudo make deps)" >&2
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
	exit 0
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
