#!/bin/bash
# Ioctl abuse beyond 60-corpus.t (sizes, flags, reserved, bad fds and
# pointers, directories, a bound device as backing) and 40-lifetime.t
# (prldctl as nobody, the same file twice): the driver's own permission
# checks, descriptors of every wrong kind, a delta on a filesystem the
# device itself holds, legitimate stacking, hard links, and a backing
# file cut short under a bound device.  Errors, never a hang or a splat.
. "$(dirname "$0")/lib.sh"
: "${RAWIOCTL:?}"
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
bound() { "$PRLDCTL" list | wc -l; }
mkdir -p /mnt/abuse /mnt/abuse2

# --- The driver refuses unprivileged callers itself ---------------------
# The nodes are opened to everyone, so the requests reach the driver (as
# nobody, prldctl already fails at the 0600 control node: 40-lifetime.t).
"$PRLDCTL" create -s 16M "$S/u"
"$PRLDCTL" create --image -s 16M "$S/u-new.hds"
"$PRLDCTL" create --image -s 16M "$S/u-free.hds"
chmod 755 "$S" && chmod 666 "$S/u-new.hds" "$S/u-free.hds"
dev=$(attach "$S/u")
free=/dev/prld$("$RAWIOCTL" ctl-get-free)
ctl_mode=$(stat -c %a /dev/prld-control)
is "$ctl_mode" 600 "the control node is mode 0600"
chmod 666 /dev/prld-control "$dev" "$free"
for op in "ctl-get-free" "ctl-add -1" "ctl-remove 7"; do
	# shellcheck disable=SC2086
	run nobody "$RAWIOCTL" $op
	like "$ERR" EPERM "nobody: PRLD_${op%% *}: EPERM"
done
run nobody "$RAWIOCTL" configure "$free" file "$S/u-free.hds"
like "$ERR" EPERM "nobody: PRLD_CONFIGURE: EPERM"
run nobody "$RAWIOCTL" detach "$dev"
like "$ERR" EPERM "nobody: PRLD_DETACH: EPERM"
run nobody "$RAWIOCTL" push "$dev" "$S/u-new.hds"
like "$ERR" EPERM "nobody: PRLD_PUSH_TOP: EPERM"
run nobody "$RAWIOCTL" map "$dev"
like "$ERR" EPERM "nobody: PRLD_GET_MAP: EPERM"
for op in copy drop; do
	run nobody "$RAWIOCTL" merge "$dev" $op 0 /dev/null
	like "$ERR" EPERM "nobody: PRLD_MERGE_${op^^}: EPERM"
done
# As with loop's status ioctls, whoever may open the node may read its
# status and layer paths, and flush (which only makes data durable).
run nobody "$RAWIOCTL" status "$dev"
is "$RC" 0 "nobody with an open node: PRLD_GET_STATUS allowed"
run nobody "$RAWIOCTL" flush "$dev"
is "$RC" 0 "nobody with an open node: PRLD_FLUSH allowed"
chmod 600 /dev/prld-control "$dev" "$free"
is "$("$PRLDCTL" info --json "$dev" | jq '.layers | length')" 1 "the device kept its one layer"
is "$(bound)" 1 "nothing else got bound"
"$PRLDCTL" close "$dev"

# --- Descriptors of every wrong kind ---------------------------------------
"$PRLDCTL" create --image -s 16M "$S/k.hds"
for kind in wronly:EBADF opath:EBADF pipe:EINVAL socket:EINVAL null:EINVAL \
	eventfd:EINVAL self:EINVAL; do
	free=/dev/prld$("$RAWIOCTL" ctl-get-free)
	run "$RAWIOCTL" configure "$free" "${kind%:*}" "$S/k.hds"
	like "$ERR" "${kind#*:}" "a ${kind%:*} descriptor as the layer: ${kind#*:}"
	is "$(bound)" 0 "${kind%:*}: nothing bound"
done
# A memfd holding a valid image is a regular file: it attaches and reads.
free=/dev/prld$("$RAWIOCTL" ctl-get-free)
run "$RAWIOCTL" configure "$free" memfd "$S/k.hds"
is "$RC" 0 "an image in a memfd attaches"
cmp -s <(head -c 16M "$free") <(head -c 16M /dev/zero)
ok $? "and reads (zeros)"
run "$RAWIOCTL" detach "$free"
is "$RC" 0 "and detaches"

# push_refused DEV FILE WHAT: a PRLD_PUSH_TOP of FILE on DEV is refused
# with EINVAL and the reason in dmesg, and does not hang.
push_refused() {
	local rc
	"$PRLDCTL" create --image -s 64M "$2"
	dmesg_mark
	timeout 60 "$RAWIOCTL" push "$1" "$2" 2> "$WORK/err"
	rc=$?
	ok $((rc == 0 || rc == 124)) "push of a delta $3: refused, no hang (exit $rc)"
	like "$(cat "$WORK/err")" EINVAL "with EINVAL"
	like "$(dmesg_new)" "on a filesystem of this device" "and dmesg says why"
}

# --- A new top on a filesystem of the device itself ----------------------
# Writing its in-use flag under the frozen queue would wait for the
# device's own I/O forever (a hang seen here before the driver checked).
"$PRLDCTL" create -s 64M "$S/rec"
dev=$(attach "$S/rec")
mkfs.ext4 -q "$dev" && mount "$dev" /mnt/abuse
push_refused "$dev" /mnt/abuse/new.hds "living on the device itself"
echo still > /mnt/abuse/f && sync
ok $? "the filesystem on the device still writes"

# --- Legitimate stacking: an image on a filesystem of another device -----
"$PRLDCTL" create -s 32M /mnt/abuse/inner
inner=$(attach /mnt/abuse/inner)
ok $? "an image on a prld device's filesystem attaches"
head -c 1M /dev/urandom > "$WORK/p"
dd if="$WORK/p" of="$inner" bs=1M seek=3 oflag=direct conv=fsync status=none
cmp -s <(dd if="$inner" bs=1M skip=3 count=1 iflag=direct status=none) "$WORK/p"
ok $? "and round-trips data through both devices"
# A new top of the lower device on the upper device's filesystem: its
# writes go through the upper device, whose image is on the lower one.
mkfs.ext4 -q "$inner" && mkdir -p /mnt/abuse2 && mount "$inner" /mnt/abuse2
push_refused "$dev" /mnt/abuse2/new.hds "on a device stacked on this one"
"$PRLDCTL" create --image -s 32M /mnt/abuse/new2.hds
timeout 60 "$RAWIOCTL" push "$inner" /mnt/abuse/new2.hds 2> "$WORK/err"
is "$?" 0 "the other way round (upper device, delta on the lower one's filesystem) works"
umount /mnt/abuse2
run "$PRLDCTL" close "$dev"
is "$RC" 1 "the lower device refuses to detach under the mounted filesystem"
"$PRLDCTL" close "$inner"
umount /mnt/abuse && "$PRLDCTL" close "$dev"
ok $? "both detach in order"

# --- One file, two names -----------------------------------------------------
"$PRLDCTL" create --image -s 16M "$S/h.hds"
ln "$S/h.hds" "$S/h-link.hds"
dev=$("$RAWATTACH" "$S/h.hds") && DEVS+=("$dev")
run "$RAWATTACH" "$S/h-link.hds"
like "$ERR" EBUSY "the same file through a hard link: EBUSY"
run "$RAWATTACH" --ro "/proc/self/root$S/h.hds"
like "$ERR" EBUSY "and through another path, read-only: EBUSY"
"$PRLDCTL" close "$dev"

# --- The backing file cut short under a bound device -----------------------
"$PRLDCTL" create -s 16M --cluster-size 64K "$S/cut"
dev=$(attach "$S/cut")
dd if="$WORK/p" of="$dev" bs=1M seek=2 oflag=direct conv=fsync status=none
truncate -s 4096 "$S/cut/root.hds"
echo 3 > /proc/sys/vm/drop_caches
# Errors or zeros are both fine; what is not: a hang (or a splat).
timeout 120 dd if="$dev" of=/dev/null bs=1M iflag=direct status=none 2>/dev/null
rc=$?
ok $((rc == 124)) "reading after the file shrank returns (exit $rc), no hang"
timeout 120 dd if="$WORK/p" of="$dev" bs=64k count=4 seek=100 oflag=direct \
	conv=fsync status=none 2>/dev/null
rc=$?
ok $((rc == 124)) "writing after the file shrank returns (exit $rc), no hang"
run "$PRLDCTL" close "$dev"
is "$RC" 0 "the device still detaches"
is "$(bound)" 0 "nothing left bound"

tap_done
