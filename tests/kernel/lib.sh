# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the kernel tests (sourced): TAP helpers plus device helpers.
# Runs inside the test VM with the prld module loaded.
. "$(dirname "$0")/../cli/tap.sh"
: "${SCRATCH:?}" "${RAWATTACH:?}"
S=$SCRATCH/$(basename "$0" .t)
rm -rf "$S" && mkdir -p "$S"
DEVS=()

# Detach whatever a failed test left behind, so the next file starts clean.
cleanup_devices() {
	local d
	for d in "${DEVS[@]}"; do
		"$PRLDCTL" close "$d" 2>/dev/null
	done
}
trap 'cleanup_devices; rm -rf "$WORK"' EXIT

# attach ARGS...: prldctl open, remembering the device for cleanup.
attach() {
	local dev
	dev=$("$PRLDCTL" open "$@") || return 1
	DEVS+=("$dev")
	echo "$dev"
}

# dmesg lines the module printed since the mark.
dmesg_mark() { DMESG_AT=$(dmesg | wc -l); }
dmesg_new() { dmesg | tail -n +$((DMESG_AT + 1)); }

rand() { echo $(( ((RANDOM << 15) | RANDOM) % $1 )); }

# put OFFSET FILE: the same bytes into $dev (durably) and into $WORK/ref,
# the reference the device is compared with.
put() {
	dd if="$2" of="$dev" bs=64k seek="$1" oflag=seek_bytes conv=notrunc,fsync status=none &&
	dd if="$2" of="$WORK/ref" bs=64k seek="$1" oflag=seek_bytes conv=notrunc status=none
}

# devcmp DEV FILE: the device's bytes, read with O_DIRECT so the driver
# answers rather than the device's page cache, equal FILE's.
devcmp() {
	cmp -s <(dd if="$1" bs=1M iflag=direct status=none) "$2"
}

# pd17 NAME: extract the real Parallels Desktop 17 bundle NAME (from
# shared/data, next to the checkout, or $PRLD_PD17) into $S/NAME; without
# the fixtures, say so as a skip and end the test file (so: no subshell).
pd17() {
	local tar=${PRLD_PD17:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/data/parallels-desktop-17/pd17-bundles.tar.xz}

	if [ ! -r "$tar" ]; then
		ok 0 "# SKIP PD 17 fixtures not found at $tar"
		tap_done
		exit
	fi
	tar -xJf "$tar" -C "$S" "$1"
}
