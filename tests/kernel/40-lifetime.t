#!/bin/bash
# Device lifetime and the refusals: busy detach, deferred detach, several
# devices, unprivileged callers, dirty images, a file attached twice.
. "$(dirname "$0")/lib.sh"

mkdir -p /mnt/prld
"$PRLDCTL" create -s 128M "$S/m"
dev=$(attach "$S/m")
mkfs.ext4 -q -F "$dev" && mount "$dev" /mnt/prld
head -c 2M /dev/urandom > "$WORK/f" && cp "$WORK/f" /mnt/prld/f && sync
run "$PRLDCTL" close "$dev"
is "$RC" 1 "detach while mounted fails"
like "$ERR" "busy" "with a busy message (EBUSY)"
cmp -s /mnt/prld/f "$WORK/f"
ok $? "mounted data intact after the refused detach"
run "$PRLDCTL" close --deferred "$dev"
is "$RC" 0 "deferred detach accepted while mounted"
is "$("$PRLDCTL" list --json | jq 'map(select(.device == "'"$dev"'")) | .[0].autoclear')" true "device marked autoclear"
umount /mnt/prld
for i in $(seq 50); do
	[ -z "$("$PRLDCTL" list --json | jq -r '.[].device' | grep -x "$dev")" ] && break
	sleep 0.1
done
[ -z "$("$PRLDCTL" list --json | jq -r '.[].device' | grep -x "$dev")" ]
ok $? "deferred detach happens at last close"
is "$(le32 "$S/m/root.hds" 44)" 0 "and it was a clean close"
dev=$(attach -r "$S/m") && mount -o ro "$dev" /mnt/prld
cmp -s /mnt/prld/f "$WORK/f"
ok $? "file intact after the deferred detach"
umount /mnt/prld && "$PRLDCTL" close "$dev"

# Several devices at once, each with its own data.
devs=()
for i in 1 2 3; do
	"$PRLDCTL" create -s 32M "$S/multi$i"
	devs[$i]=$(attach "$S/multi$i")
	head -c 1M /dev/urandom > "$WORK/m$i"
	dd if="$WORK/m$i" of="${devs[$i]}" bs=1M seek=$i oflag=direct status=none
done
is "$("$PRLDCTL" list --json | jq length)" 3 "three devices bound"
okall=0
for i in 1 2 3; do
	cmp -s <(dd if="${devs[$i]}" bs=1M skip=$i count=1 status=none) "$WORK/m$i" || okall=1
done
ok $okall "each device holds its own data"
for i in 1 2 3; do "$PRLDCTL" close "${devs[$i]}"; done
is "$("$PRLDCTL" list | wc -l)" 0 "all detached"

# Unprivileged callers are refused; nothing gets attached.
"$PRLDCTL" create -s 16M "$S/u"
chmod 755 "$S" && chmod 644 "$S/u/root.hds" "$S/u/DiskDescriptor.xml" && chmod 755 "$S/u"
run setpriv --reuid=65534 --regid=65534 --clear-groups "$PRLDCTL" open -r "$S/u"
ok $((RC == 0)) "unprivileged prldctl open fails"
like "$ERR" "root" "and says it needs root"
dev=$(attach -r "$S/u")
run setpriv --reuid=65534 --regid=65534 --clear-groups "$PRLDCTL" close "$dev"
ok $((RC == 0)) "unprivileged close fails"
"$PRLDCTL" close "$dev"
is "$("$PRLDCTL" list | wc -l)" 0 "nothing left attached"

# An image whose in-use flag is set: read-write refused, read-only works.
"$PRLDCTL" create -s 16M "$S/dirty"
printf '\x59\x6e\x6f\x74' | dd of="$S/dirty/root.hds" bs=1 seek=44 conv=notrunc status=none
dmesg_mark
run "$RAWATTACH" "$S/dirty/root.hds"
like "$ERR" "EUCLEAN" "kernel refuses a dirty image read-write (EUCLEAN)"
like "$(dmesg_new)" "in-use flag set" "and says why in dmesg"
run "$PRLDCTL" open "$S/dirty"
like "$ERR" "check --repair" "prldctl explains the repair"
dev=$(attach -r "$S/dirty")
ok $? "read-only attach of the dirty image works"
"$PRLDCTL" close "$dev"

# One file must not be writable through two devices.
"$PRLDCTL" create -s 16M "$S/twice"
dev=$(attach "$S/twice")
run "$RAWATTACH" "$S/twice/root.hds"
ok $((RC == 0)) "second read-write attach of the same file fails"
like "$ERR" "EBUSY" "with EBUSY"
run "$RAWATTACH" --ro "$S/twice/root.hds"
like "$ERR" "EBUSY" "read-only attach of a file another device writes: EBUSY"
run "$PRLDCTL" open "$S/twice"
ok $((RC == 0)) "prldctl open of an attached disk fails"
run "$PRLDCTL" close "$S/twice"
is "$RC" 0 "close by directory finds the device"
is "$("$PRLDCTL" list | wc -l)" 0 "detached"

# A moment's opener (udev's blkid, an attach racing for the index) is
# waited out; an opener that stays makes close fail with EBUSY.
"$PRLDCTL" create -s 16M "$S/brief"
dev=$(attach "$S/brief")
(exec 8< "$dev"; sleep 0.4) & holder=$!
sleep 0.1
run "$PRLDCTL" close "$dev"
is "$RC" 0 "close waits out an opener that holds the device for 0.4 s"
wait $holder
is "$("$PRLDCTL" list | wc -l)" 0 "and the device is detached"
dev=$(attach "$S/brief")
(exec 8< "$dev"; sleep 5) & holder=$!
sleep 0.1
run "$PRLDCTL" close "$dev"
is "$RC" 1 "close of a device held open for longer fails"
like "$ERR" "busy" "as busy"
wait $holder
"$PRLDCTL" close "$dev"
is "$("$PRLDCTL" list | wc -l)" 0 "closed once the opener went"

# The last closer of a deferred detach is an unprivileged user who may use
# the device but not write its image (root's 0600 file): the clean close
# must not depend on who closes last (driver review M3).
"$PRLDCTL" create -s 64M "$S/m3"
dev=$(attach "$S/m3")
head -c 3M /dev/urandom > "$WORK/m3"
dd if="$WORK/m3" of="$dev" bs=1M oflag=direct status=none
is "$(stat -c %a "$S/m3/root.hds")" 600 "the image is root's alone"
ok $(( $(stat -c %s "$S/m3/root.hds") > 4 * 1048576 ? 0 : 1 )) \
	"the file has a preallocated tail the clean close must cut"
setpriv --reuid=65534 --regid=65534 --clear-groups sleep 2 < "$dev" & holder=$!
sleep 0.3
dmesg_mark
run "$PRLDCTL" close --deferred "$dev"
is "$RC" 0 "deferred detach while user nobody holds the device"
wait $holder
for i in $(seq 50); do
	[ "$("$PRLDCTL" list | wc -l)" = 0 ] && break
	sleep 0.1
done
is "$("$PRLDCTL" list | wc -l)" 0 "detached at nobody's close"
is "$(le32 "$S/m3/root.hds" 44)" 0 "the clean close cleared the in-use flag"
is "$(stat -c %s "$S/m3/root.hds")" $((4 * 1048576)) "and cut the tail"
unlike() { case "$1" in *"$2"*) ok 1 "$3" ;; *) ok 0 "$3" ;; esac; }
unlike "$(dmesg_new)" "clean close" "no failed clean close in dmesg"
run "$PRLDCTL" check "$S/m3"
is "$RC" 0 "prldctl check clean"
"$PRLDCTL" read --length 3M "$S/m3" | cmp -s - "$WORK/m3"
ok $? "the data is there"

# ->open refuses a device being detached; the detacher's own close does
# the teardown (newest loop's order, driver review L6).
"$PRLDCTL" create -s 16M "$S/gate"
dev=$(attach "$S/gate")
run python3 - "$dev" <<'PY'
import errno, fcntl, os, sys
PRLD_DETACH = (0xDC << 8) | 0x11
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.ioctl(fd, PRLD_DETACH, 0)
try:
    os.close(os.open(sys.argv[1], os.O_RDONLY))
    print("second open allowed")
except OSError as e:
    print("second open:", errno.errorcode[e.errno])
os.close(fd)
PY
is "$OUT" "second open: ENXIO" "a device being detached refuses new openers"
is "$("$PRLDCTL" list | wc -l)" 0 "the detacher's close detached it"
is "$(le32 "$S/gate/root.hds" 44)" 0 "cleanly"

tap_done
