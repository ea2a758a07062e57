#!/bin/bash
# selftest.sh - proves the VM harness (tests/vm/run.sh) on every kernel
# of `tests/vm/kernels.sh list`: a good command passes, a failing command
# or a kernel splat fails the run, module loading works in the guest;
# once, on the first kernel: a guest panic and a hung guest fail the run.
# Output is TAP; run.sh's output goes to a log shown only on failures.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd -P)
RUN=$HERE/run.sh
log=$(mktemp)
# (e) builds a module here: outside the checkout, and somewhere the guest
# sees (its /tmp and /var/tmp are tmpfs).
kmod=$(mktemp -d "${PRLD_VM_CACHE:-/var/cache/prld-vm}/selftest.XXXXXX")
trap 'rm -rf "$log" "$kmod"' EXIT
n=0
failed=0

# check DESC WANT PATTERN -- RUN.SH ARGS: WANT is pass or fail; PATTERN
# (may be empty) must appear in run.sh's output, so a run that fails
# only counts if it failed for the reason under test.
check() {
	local desc=$1 want=$2 pattern=$3 rc t0 secs
	shift 4
	t0=$(date +%s.%N)
	"$RUN" "$@" >"$log" 2>&1
	rc=$?
	secs=$(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)")
	n=$((n + 1))
	if { [ "$want" = pass ] && [ $rc = 0 ]; } ||
		{ [ "$want" = fail ] && [ $rc != 0 ]; } &&
		{ [ -z "$pattern" ] || grep -qE -- "$pattern" "$log"; }; then
		echo "ok $n - $desc (${secs}s)"
	else
		echo "not ok $n - $desc (${secs}s, run.sh exit $rc)"
		sed 's/^/# /' "$log"
		failed=$((failed + 1))
	fi
}

# (a) Everything a data-path test needs: right kernel, -e, scratch disk,
# ext4 (module auto-loaded), fio, the work share, /dev/fd.
GOOD='set -ex
test "$(uname -r)" = "$WANT_KREL"
test "$SPACED" = "a b  c"
mkfs.ext4 -q -F "$PRLD_VM_SCRATCH"
mount "$PRLD_VM_SCRATCH" /mnt
echo hello >/mnt/file
sync
test "$(cat <(cat /mnt/file))" = hello
fio --name=selftest --filename=/mnt/fio.dat --size=32M --rw=randrw \
	--bs=4k --ioengine=libaio --direct=1 --iodepth=8 --runtime=5 \
	--time_based --minimal >"$PRLD_VM_WORK/fio.out"
umount /mnt
test -f Makefile'

# (d) Explicit modprobe from the host's kmod, and the kernel's own
# auto-loading (mount -t xfs) through the chroot helper.
MODS='set -ex
! grep -q "^loop " /proc/modules
modprobe loop
grep -q "^loop " /proc/modules
truncate -s 64M /tmp/img
losetup -f --show /tmp/img
! grep -q "^xfs " /proc/modules
mkfs.xfs -q "$PRLD_VM_SCRATCH"
mount "$PRLD_VM_SCRATCH" /mnt
grep -q "^xfs " /proc/modules
umount /mnt'

# (e) A module built against the installed headers loads into the image,
# i.e. image and headers match.
build_module() {
	mkdir -p "$kmod/$1"
	cat >"$kmod/$1/selftest.c" <<-'EOF'
	#include <linux/module.h>
	static int __init st_init(void) { pr_info("prld-vm selftest: in\n"); return 0; }
	static void __exit st_exit(void) { pr_info("prld-vm selftest: out\n"); }
	module_init(st_init);
	module_exit(st_exit);
	MODULE_LICENSE("GPL");
	EOF
	echo 'obj-m := selftest.o' >"$kmod/$1/Makefile"
	make -s -C "/lib/modules/$1/build" M="$kmod/$1" modules
}

for k in $("$HERE/kernels.sh" list); do
	t0=$(date +%s)
	check "$k: good command, ext4, fio, env passes" pass 'run.sh: PASS' -- \
		--kernel "$k" -e WANT_KREL="$k" -e SPACED="a b  c" -- bash -c "$GOOD"
	check "$k: exit 3 fails" fail 'command exited with status 3' -- \
		--kernel "$k" --scratch-size 0 -- sh -c 'exit 3'
	check "$k: WARNING in the kernel log fails" fail '^ +\[ *[0-9.]+\] WARNING: test splat' -- \
		--kernel "$k" --scratch-size 0 -- \
		sh -c 'echo "WARNING: test splat" >/dev/kmsg'
	check "$k: modprobe and module auto-loading work" pass 'run.sh: PASS' -- \
		--kernel "$k" -- bash -c "$MODS"
	if build_module "$k" >"$log" 2>&1; then
		check "$k: out-of-tree module loads and unloads" pass 'run.sh: PASS' -- \
			--kernel "$k" --scratch-size 0 -- sh -c "insmod $kmod/$k/selftest.ko &&
				rmmod selftest && dmesg | grep -q 'prld-vm selftest: out'"
	else
		n=$((n + 1)) failed=$((failed + 1))
		echo "not ok $n - $k: out-of-tree module builds"
		sed 's/^/# /' "$log"
	fi
	if [ -z "${once:-}" ]; then
		once=1
		check "$k: guest panic fails" fail 'no exit status' -- \
			--kernel "$k" --scratch-size 0 -- \
			sh -c 'echo c >/proc/sysrq-trigger'
		check "$k: hung command times out" fail 'timed out' -- \
			--kernel "$k" --scratch-size 0 --timeout 25 -- sleep 1000
	fi
	echo "# $k: selftest wall time $(($(date +%s) - t0))s"
done
echo "1..$n"
[ $failed = 0 ]
