#!/bin/bash
# run.sh [options] -- CMD [ARGS...]
#
# Runs CMD as root in a throw-away QEMU guest (TCG: nested KVM hangs on
# these machines) booting one of the host's Debian kernels, with the host
# root read-only as its root and the checkout as its working directory
# (see tests/vm/init for the guest's layout).  Exits 0 only if CMD exits 0
# and the guest's kernel log shows no splat.
#
#   --kernel KREL         guest kernel (default: $PRLD_VM_KERNEL or the
#                         first of `tests/vm/kernels.sh list`)
#   --kernel-dir DIR      boot the kernel built in tree DIR instead (its
#                         bzImage; 9p and virtio built in, so an initramfs
#                         without modules): tests/debug-kernel/build.sh
#   --scratch-size SIZE   sparse scratch disk, /dev/vda in the guest
#                         (default 2G; 0 for none)
#   --mem SIZE            guest memory (default 2G)
#   --smp N               guest CPUs (default $PRLD_VM_SMP, else 2)
#   --timeout SECONDS     hard limit for the whole VM (default 600)
#   --append ARGS         extra kernel command line
#   -e NAME=VALUE         environment variable for CMD (repeatable)
#   --dmesg-ignore REGEX  kernel log lines to exempt from the splat check
#   --keep                keep the work directory (printed at the end)
#   --scratch-image PATH  use PATH as the scratch disk, created sparse
#                         (--scratch-size) if missing, never deleted: a
#                         second run sees what the first left on it
#   --scratch-cache MODE  QEMU cache mode of the scratch disk (default none)
#   --share DIR           use DIR (created if missing, never deleted) as
#                         $PRLD_VM_WORK, so files survive into a next run
#   --kill-after SECONDS  power cut: SIGKILL QEMU that many seconds after
#                         the console shows the --kill-from text; exits 3
#                         if the cut happened and no splat was seen before
#   --kill-from TEXT      console text that starts the --kill-after clock
#                         (default "PRLD-VM: START", the command's start;
#                         a command prints "PRLD-VM: ARMED" when it is set up)
#   -v, --verbose         also show the guest's full kernel log
#
# In the guest CMD sees PRLD_VM=1, PRLD_VM_KREL, PRLD_VM_SCRATCH (the
# scratch disk), PRLD_VM_WORK (a writable directory shared with the host;
# the checkout itself is read-only, /tmp is a tmpfs).
#
# Exit status: 0 pass, 1 fail, 2 usage, 3 killed as asked by --kill-after
# (with no splat in the kernel log streamed until the cut).
#
# Environment: PRLD_VM_KERNEL (default kernel), PRLD_VM_TMPDIR (where the
# work directory and scratch disk go, default /var/tmp), PRLD_VM_CACHE
# (cached initramfs and kernels, default /var/cache/prld-vm),
# PRLD_VM_ACCEL (QEMU -accel, default tcg).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd -P)
SRC=$(cd "$HERE/../.." && pwd -P)

# Kernel log lines that fail the run.  Extended regular expressions.
DMESG_BAD=(
	'BUG:' 'Oops' 'WARNING:' 'KASAN' 'UBSAN' 'lockdep'
	'possible circular locking' 'possible recursive locking'
	'INFO: task .* blocked for more than' 'kmemleak: .*suspected memory leak'
	'general protection fault' 'Kernel panic' 'kernel BUG at'
	'list_(add|del) corruption' 'refcount_t: ' 'rcu: INFO: .* stall'
	'Unable to handle kernel' 'stack-protector' 'DEBUG_LOCKS_WARN_ON'
)

# Lines that match DMESG_BAD but are no splat: the debug kernel's boot
# banner for PROVE_RCU, and stack frames (a frame such as
# "? lockdep_hardirqs_on_prepare+0x277/0x3e0" in the trace of an
# allocation failure that failslab forced is no lockdep report; every
# real report has a header line of its own that DMESG_BAD matches).
DMESG_OK='RCU lockdep checking is enabled|^([0-9]+:)?\[ *[0-9.]+\] +(\? )?[A-Za-z0-9_.]+\+0x[0-9a-f]+/0x[0-9a-f]+( \[[A-Za-z0-9_]+\])?$'

# Under TCG the vCPUs' TSCs look unsynchronised, so the guest falls back
# to the HPET, whose every read is an emulated MMIO access: tsc=reliable
# halves the boot time and speeds up anything that reads the clock (fio).
# Speculation mitigations only cost emulated instructions here.
BOOT_ARGS="console=ttyS0 quiet panic=-1 tsc=reliable mitigations=off"

ACCEL=${PRLD_VM_ACCEL:-tcg}

kernel=${PRLD_VM_KERNEL:-}
kernel_dir=''
scratch=2G mem=2G smp=${PRLD_VM_SMP:-2} timeout=600 append='' ignore='' keep='' verbose=''
scratch_image='' scratch_cache=none share_dir='' kill_after='' kill_from='PRLD-VM: START'
envs=()
usage() {
	sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--kernel-dir) kernel_dir=$2; shift 2 ;;
	--scratch-size) scratch=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--dmesg-ignore) ignore=$2; shift 2 ;;
	-e)
		[[ $2 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || {
			echo "run.sh: -e wants NAME=VALUE, got '$2'" >&2
			exit 2
		}
		envs+=("$2"); shift 2 ;;
	--keep) keep=1; shift ;;
	--scratch-image) scratch_image=$2; shift 2 ;;
	--scratch-cache) scratch_cache=$2; shift 2 ;;
	--share) share_dir=$2; shift 2 ;;
	--kill-after) kill_after=$2; shift 2 ;;
	--kill-from) kill_from=$2; shift 2 ;;
	-v | --verbose) verbose=1; shift ;;
	--) shift; break ;;
	*) usage ;;
	esac
done
[ $# -gt 0 ] || usage

if [ -n "$kernel_dir" ]; then
	# The bzImage, not the ELF vmlinux through PVH: the KASAN build dies
	# in its PVH entry before the first console line (QEMU just exits);
	# the normal boot path costs a few seconds of decompression.
	vmlinux=$kernel_dir/arch/x86/boot/bzImage
	[ -s "$vmlinux" ] && [ -f "$kernel_dir/include/config/kernel.release" ] || {
		echo "run.sh: $kernel_dir is not a built kernel tree" >&2
		exit 1
	}
	kernel=$(cat "$kernel_dir/include/config/kernel.release")
	initrd=$("$HERE/mkinitrd.sh" --no-modules)
	# The debug kernel's AML interpreter (KASAN, lockdep) runs QEMU's
	# PCI routing method _PRT twice into ACPI's 30 s loop timeout under
	# TCG on a loaded host ("AE_AML_LOOP_TIMEOUT"), and finishes it on
	# an idle one: a minute of every boot, and IRQ routing that depends
	# on the load.  The BIOS's $PIR table routes the same interrupts.
	BOOT_ARGS="$BOOT_ARGS acpi=noirq"
else
	if [ -z "$kernel" ]; then
		kernel=$("$HERE/kernels.sh" list | head -n1)
		[ -n "$kernel" ] || {
			echo "run.sh: no usable kernel; run tests/vm/kernels.sh install" >&2
			exit 1
		}
	fi
	initrd=$("$HERE/mkinitrd.sh" "$kernel")
	vmlinux=$("$HERE/vmlinux.sh" "$kernel")
fi

# TCG guests read the host's TSC but calibrate it against the emulated
# PIT, which a loaded host throws off (59 MHz for 2.6 GHz seen): the
# guest's clock then races, timeouts fire early and RCU cries stall.
# Tell it the frequency (tests/vm/tsc_khz.c); its refined calibration
# against the HPET still runs, and now agrees.
host_tsc_khz() {
	local src=$HERE/tsc_khz.c cache=${PRLD_VM_CACHE:-/var/cache/prld-vm} bin
	bin=$cache/tsc_khz-$(sha256sum "$src" | cut -c1-16)
	if [ ! -x "$bin" ]; then
		mkdir -p "$cache" &&
			cc -O2 -Wall -Wextra -Werror -o "$bin.$$" "$src" &&
			mv "$bin.$$" "$bin" || return 1
	fi
	"$bin"
}
if [ "$ACCEL" = tcg ] && [ "$(uname -m)" = x86_64 ]; then
	tsc_khz=$(host_tsc_khz) || {
		echo "run.sh: cannot measure the host's TSC frequency" >&2
		exit 1
	}
	BOOT_ARGS="$BOOT_ARGS tsc_early_khz=$tsc_khz"
fi

# Work directory on a disk-backed filesystem: cache=none needs O_DIRECT,
# which tmpfs (a common /tmp) lacks before Linux 6.6.
tmp=$(mktemp -d "${PRLD_VM_TMPDIR:-/var/tmp}/prld-vm.XXXXXX")
if [ -n "$keep" ]; then
	trap 'echo "run.sh: work directory kept: $tmp"' EXIT
else
	trap 'rm -rf "$tmp"' EXIT
fi
share=$tmp/share
if [ -n "$share_dir" ]; then
	mkdir -p "$share_dir"
	share=$(cd "$share_dir" && pwd -P)
	# What a previous run reported must not pass for this one's.
	rm -f "$share/status" "$share/dmesg" "$share/dmesg.live" "$share/kmemleak" \
		"$share/kmemleak.err" "$share/kmemleak.tmp"
else
	mkdir "$share"
fi

# The command, run by the guest's /init as `chroot / bash cmd.sh`.
{
	echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	echo "export HOME=/tmp LANG=C.UTF-8 TERM=dumb PRLD_VM=1 PRLD_VM_WORK=/run/prld-vm"
	printf 'export PRLD_VM_KREL=%q PRLD_VM_SCRATCH=%q\n' "$kernel" \
		"$([ "$scratch" = 0 ] || echo /dev/vda)"
	for e in ${envs[@]+"${envs[@]}"}; do
		printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
	done
	printf 'cd %q || exit 125\n' "$SRC"
	# A killed guest writes no dmesg at the end: stream it to the share
	# (9p writes reach the host before they return, so a cut keeps them).
	[ -z "$kill_after" ] ||
		echo 'dmesg --follow > "$PRLD_VM_WORK/dmesg.live" 2>&1 &'
	printf '%q ' exec "$@"
	echo
} >"$share/cmd.sh"
echo "$SRC" >"$share/cwd"

# discard=unmap: what the guest trims goes from the host's file too, so a
# long run that rewrites its scratch filesystem (the bench's merges) does
# not grow the file to the disk's whole size, in RAM when it is on tmpfs.
disk=()
if [ -n "$scratch_image" ]; then
	[ -e "$scratch_image" ] || truncate -s "$scratch" "$scratch_image"
	disk=(-drive "file=$scratch_image,if=virtio,format=raw,cache=$scratch_cache,discard=unmap")
elif [ "$scratch" != 0 ]; then
	truncate -s "$scratch" "$tmp/scratch.img"
	disk=(-drive "file=$tmp/scratch.img,if=virtio,format=raw,cache=$scratch_cache,discard=unmap")
fi

# The power cut: once the console shows $kill_from, wait, then SIGKILL
# QEMU (no shutdown, no flush of anything the guest holds in memory).
killer() {
	local i
	for ((i = 0; i < timeout * 10; i++)); do
		grep -qF "$kill_from" "$tmp/console.log" 2>/dev/null && break
		[ -e "$tmp/qemu.rc" ] && return
		sleep 0.1
	done
	sleep "$kill_after"
	[ -e "$tmp/qemu.rc" ] && return
	date +%s.%N > "$tmp/killed"
	kill -KILL "$(cat "$tmp/qemu.pid")" 2>/dev/null
}

# The console goes live to stdout, minus the kernel log dump at the end
# (saved in the work directory and shown on failure or with -v).
# The CPU is TCG's "max" without 5-level paging: the debug kernel's KASAN
# reported a wild access at boot (an interrupt in identify_cpu taking an
# irq descriptor's lock at an LA57 direct-map address) on some boots,
# before any of our code ran; with 4-level paging it does not.
boot() {
	rm -f "$tmp/qemu.rc" "$tmp/qemu.pid" "$tmp/killed"
	: > "$tmp/console.log"
	[ -z "$kill_after" ] || { killer & }
	{
		timeout -k 5 "$timeout" qemu-system-x86_64 -pidfile "$tmp/qemu.pid" \
			-accel "$ACCEL" -cpu max,la57=off -m "$mem" -smp "$smp" \
			-nographic -no-reboot -nic none \
			-kernel "$vmlinux" -initrd "$initrd" \
			-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
			-virtfs "local,path=$share,mount_tag=work,security_model=none" \
			${disk[@]+"${disk[@]}"} \
			-append "$BOOT_ARGS $append" </dev/null 2>&1 &&
			echo 0 >"$tmp/qemu.rc" || echo $? >"$tmp/qemu.rc"
	} | tee "$tmp/console.log" | awk -v v="$verbose" '
		{ gsub(/\r|\033(\[[0-9;?]*[A-Za-z]|c)/, "") } # SeaBIOS clears the screen
		/^PRLD-VM: DMESG BEGIN/ { hide = !v }
		!hide { print; fflush() }
		/^PRLD-VM: DMESG END/ { hide = 0 }'
	wait	# the killer
}

echo "run.sh: kernel $kernel: $*"
start=$(date +%s.%N)
boot
# TCG's cross-CPU code patching is not airtight: about one boot in a
# hundred dies on a stale int3 while the kernel flips a static key.  A
# guest that died before the command started has not tested anything, so
# boot it once more.
if ! grep -q 'PRLD-VM: START' "$tmp/console.log" &&
	! grep -qx '124\|137' "$tmp/qemu.rc" && [ ! -e "$tmp/killed" ]; then
	echo "run.sh: the guest died while booting; booting it again"
	boot
fi
wall=$(echo "$(date +%s.%N) - $start" | bc)
wall=$(printf '%.1f' "$wall")

# Verdict.  With no kernel log file (the guest died), scan the console:
# with `quiet` it still shows the error-level lines of a crash.
fail=()
qrc=$(cat "$tmp/qemu.rc")
status=$(cat "$share/status" 2>/dev/null || true)
log=$share/dmesg
[ -s "$log" ] || log=$share/dmesg.live
[ -s "$log" ] || log=$tmp/console.log
killed=''
if [ -e "$tmp/killed" ]; then
	killed=1
	[ -z "$status" ] || fail+=("the command ended before the cut (status $status)")
else
	case "$qrc" in
	0) ;;
	124 | 137) fail+=("VM timed out after ${timeout}s") ;;
	*) fail+=("qemu exited with $qrc") ;;
	esac
	if [ -z "$status" ]; then
		fail+=("no exit status from the guest (kernel crash?)")
	elif [ "$status" != 0 ]; then
		fail+=("command exited with status $status")
	fi
fi
pattern=$(IFS='|'; echo "${DMESG_BAD[*]}")
bad=$(grep -E "$pattern" "$log" | grep -Ev "$DMESG_OK" |
	{ [ -z "$ignore" ] && cat || grep -Ev "$ignore"; } |
	tr -d '\r' || true)
[ -z "$bad" ] || fail+=("kernel log shows splats:"$'\n'"$(sed 's/^/    /' <<<"$bad")")
# kmemleak (debug kernel).  A kernel with kmemleak whose guest finished
# the command must have left a report (tests/vm/init), or the reason it
# has none: no report is no verdict, never a pass.
if [ -n "$kernel_dir" ] && grep -qx 'CONFIG_DEBUG_KMEMLEAK=y' "$kernel_dir/.config" &&
	[ -z "$killed" ] && [ -n "$status" ] && [ ! -e "$share/kmemleak" ]; then
	fail+=("no kmemleak report: $(cat "$share/kmemleak.err" 2>/dev/null ||
		echo "the guest did not finish its scans")")
fi
# A leak is ours when its allocation backtrace has a module frame:
# "sym+0x1/0x2 [module]", or a bare address in the module area (from
# 0xffffffffc0000000 up) once the module is unloaded (the bracketed
# address is hashed, the symbol part is not).  That kernel has everything
# else built in, so the only modules are ours.  Leaks without one are the
# kernel's own (boot-time allocations kmemleak cannot follow) and are
# only counted.
if [ -e "$share/kmemleak" ]; then
	ours=$(awk '/^unreferenced object/ { n++ } { blk[n] = blk[n] $0 "\n" }
		/\] (0xffffffff[c-f][0-9a-f]+|.*\[[a-z0-9_]+\])$/ { hit[n] = 1 }
		END { for (i = 1; i <= n; i++) if (hit[i]) printf "%s", blk[i] }' \
		"$share/kmemleak")
	others=$(grep -c '^unreferenced object' "$share/kmemleak" || true)
	if [ -n "$ours" ]; then
		fail+=("kmemleak reports leaks from modules:"$'\n'"$(head -n 40 <<<"$ours")")
	else
		echo "run.sh: kmemleak: no module leaks ($others kernel-only reports)"
	fi
fi

started=$(sed -n 's/.*PRLD-VM: START \([0-9.]*\).*/\1/p' "$tmp/console.log")
echo "run.sh: kernel $kernel: VM wall time ${wall}s," \
	"command started at ${started:-?}s guest uptime"
if [ ${#fail[@]} -gt 0 ]; then
	# The console was already shown; add the kernel log from its first
	# splat on (or its end), unless -v showed all of it.
	if [ -z "$verbose" ] && [ -s "$share/dmesg" ]; then
		# The same lines the verdict counts: not the PROVE_RCU banner.
		first=$(grep -nE "$pattern" "$share/dmesg" | grep -Ev "$DMESG_OK" |
			head -n1 | cut -d: -f1 || true)
		if [ -n "$first" ]; then
			echo "run.sh: guest kernel log from its first splat:"
			# No pipe: under pipefail, a 'tail | head' whose tail
			# was still writing when head quit died of SIGPIPE here,
			# so run.sh exited 141 before printing why it failed.
			sed -n "$first,$((first + 79))p" "$share/dmesg"
		else
			echo "run.sh: end of the guest kernel log:"
			tail -n 30 "$share/dmesg"
		fi
	fi
	printf 'run.sh: FAIL: %s\n' "${fail[@]}"
	exit 1
fi
if [ -n "$killed" ]; then
	echo "run.sh: KILLED: QEMU got SIGKILL ${kill_after}s after '$kill_from', as asked"
	exit 3
fi
echo "run.sh: PASS"
