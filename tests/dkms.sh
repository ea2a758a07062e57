#!/bin/bash
# dkms.sh install|check [KREL...]
#   install  put the sources under /usr/src/prld-VERSION, dkms add, build
#            and install for the running kernel (or KREL...), and load the
#            module at boot through /etc/modules-load.d/prld.conf.
#   check    dkms add + build for each KREL (default: every test kernel),
#            then remove it all again: proves the dkms packaging builds.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd -P)
mode=${1:?usage: dkms.sh install|check [KREL...]}
shift
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
dest=/usr/src/prld-$ver

stage() {
	rm -rf "$dest" && mkdir -p "$dest"
	cp -r "$top/dkms.conf" "$top/Kbuild" "$top/driver" "$top/include" "$dest/"
	rm -f "$dest"/driver/*.o "$dest"/driver/*.ko "$dest"/driver/*.mod* \
		"$dest"/driver/.*.cmd "$dest"/driver/modules.order
	dkms remove -m prld -v "$ver" --all > /dev/null 2>&1 || true
	dkms add -m prld -v "$ver"
}

case $mode in
install)
	stage
	kernels=("$@")
	[ ${#kernels[@]} -gt 0 ] || kernels=("$(uname -r)")
	for k in "${kernels[@]}"; do
		dkms build -m prld -v "$ver" -k "$k"
		dkms install -m prld -v "$ver" -k "$k"
	done
	install -D -m 0644 "$top/packaging/modules-load.d-prld.conf" \
		/etc/modules-load.d/prld.conf
	;;
check)
	stage
	kernels=("$@")
	[ ${#kernels[@]} -gt 0 ] || mapfile -t kernels < <("$top/tests/vm/kernels.sh" list)
	status=0
	for k in "${kernels[@]}"; do
		# 6.12's modules are compressed, and dkms compresses ours to match.
		if dkms build -m prld -v "$ver" -k "$k" > /tmp/prld-dkms.log 2>&1 &&
		   compgen -G "/var/lib/dkms/prld/$ver/$k/x86_64/module/prld.ko*" > /dev/null; then
			echo "ok - dkms build for $k"
		else
			cat /tmp/prld-dkms.log
			echo "not ok - dkms build for $k"
			status=1
		fi
	done
	dkms remove -m prld -v "$ver" --all > /dev/null 2>&1 || true
	rm -rf "$dest"
	exit $status
	;;
*)
	echo "dkms.sh: unknown mode $mode" >&2
	exit 2
	;;
esac
