#!/bin/bash
# failslab (debug kernel): kernel allocations fail at random during one
# PRLD_CONFIGURE (an attach) or PRLD_PUSH_TOP (a new top) ioctl, issued by
# rawattach --make-it-fail, which marks itself for failslab's task filter
# around the ioctl alone.  Every attempt either works or
# reports an error; a failed attach leaves no device bound and the image
# closed (in-use flag clear); the images check clean or with leaks only;
# KASAN, lockdep and kmemleak (tests/vm/run.sh) watch the error paths.
. "$(dirname "$0")/../kernel/lib.sh"
FS=/sys/kernel/debug/failslab
ROUNDS=${PRLD_FAILSLAB_ROUNDS:-40}

[ -d "$FS" ]
ok $? "failslab is there ($FS)"
# Only tasks with make-it-fail set; GFP_KERNEL allocations too (they
# are exempt by default); one log line per fault.
echo Y >"$FS/task-filter"
echo N >"$FS/ignore-gfp-wait"
echo 1 >"$FS/verbose"
echo 1000000 >"$FS/times"
echo 0 >"$FS/probability"

# failing PERCENT RAWATTACH-ARGS...: rawattach with PERCENT% of the
# ioctl's allocations failing.  Only the ioctl: a failed allocation in the
# exec or the opens, which read the guest's 9p root, leaves the 9p client
# broken (every later exec fails with EINVAL).
failing() {
	local p=$1 rc
	shift
	echo "$p" >"$FS/probability"
	"$RAWATTACH" --make-it-fail "$@"
	rc=$?
	echo 0 >"$FS/probability"
	return $rc
}

image_ok() {	# image_ok FILE NAME
	local rc
	qemu-img check -f parallels "$1" >/dev/null 2>&1
	rc=$?
	[ $rc = 0 ] || [ $rc = 3 ]
}

"$PRLDCTL" create -s 64M "$S/a" >/dev/null
"$PRLDCTL" create --image -s 64M "$S/top.hds" >/dev/null
cp "$S/top.hds" "$S/top.clean"
head -c 1M /dev/urandom >"$WORK/p"
"$PRLDCTL" write --offset 3M "$S/a" <"$WORK/p"

attached=0 refused=0 half=0 pushed=0 badimg=0 baddata=0
for i in $(seq "$ROUNDS"); do
	dev=$(failing 10 "$S/a/root.hds" 2>/dev/null)
	if [ -z "$dev" ]; then
		refused=$((refused + 1))
		[ -z "$("$PRLDCTL" list)" ] || half=$((half + 1))
		[ "$(le32 "$S/a/root.hds" 44)" = 0 ] || half=$((half + 1))
	else
		attached=$((attached + 1))
		DEVS+=("$dev")
		cp "$S/top.clean" "$S/top.hds"
		failing 10 --push-to "$dev" "$S/top.hds" \
			>/dev/null 2>&1 && pushed=$((pushed + 1))
		cmp -s <(dd if="$dev" bs=1M skip=3 count=1 status=none) "$WORK/p" ||
			baddata=$((baddata + 1))
		"$PRLDCTL" close "$dev" || half=$((half + 1))
		# A pushed top is part of the chain now: fold it back out of
		# the picture by starting the next round from the base alone.
		image_ok "$S/top.hds" || badimg=$((badimg + 1))
	fi
	image_ok "$S/a/root.hds" || badimg=$((badimg + 1))
done
echo "# $ROUNDS rounds: $attached attached ($pushed pushes worked), $refused refused"
ok $((attached == 0 || refused == 0)) "some attaches failed and some worked"
is "$half" 0 "no half-attached device, no image left in use"
is "$badimg" 0 "every image checks clean or with leaks only"
is "$baddata" 0 "an attached device always read the right data"
tap_done
