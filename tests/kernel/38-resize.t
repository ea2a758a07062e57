#!/bin/bash
# Growing an attached device (PRLD_RESIZE): the capacity follows, every
# byte stays, clusters in the way of the larger BAT move while the device
# runs, a mounted ext4 grows with resize2fs and checks clean, the image
# and descriptor agree after detach, QEMU reads the same; shrinking and
# malformed requests are refused with nothing changed.
. "$(dirname "$0")/lib.sh"

MB=1048576
size() { blockdev --getsize64 "$1"; }

# ---- raw device, 64K clusters: the BAT outgrows its first cluster --------
"$PRLDCTL" create -s 512M --cluster-size 64K "$S/d"
dev=$(attach "$S/d")
head -c $((3 * MB)) /dev/urandom > "$WORK/a"
dd if="$WORK/a" of="$dev" bs=1M conv=fsync status=none
dd if="$WORK/a" of="$dev" bs=1M seek=509 conv=fsync status=none
run "$PRLDCTL" resize -s 2G "$dev"
is "$RC" 0 "resize of /dev/prldN to 2 GiB"
is "$(size "$dev")" $((2048 * MB)) "the device's capacity is 2 GiB"
is "$(le32 "$S/d/root.hds" 48)" 384 "the data area moved behind the grown BAT"
cmp -s <(head -c $((3 * MB)) "$dev") "$WORK/a"
ok $? "the first clusters (moved) read back"
cmp -s <(dd if="$dev" bs=1M skip=509 count=3 status=none) "$WORK/a"
ok $? "data near the old end reads back"
cmp -s <(dd if="$dev" bs=1M skip=1024 count=4 status=none) <(head -c $((4 * MB)) /dev/zero)
ok $? "the new space reads zeros"
dd if="$WORK/a" of="$dev" bs=1M seek=2045 conv=fsync status=none
ok $? "the last 3 MiB are writable"
is "$(xmllint --xpath 'string(//Disk_size)' "$S/d/DiskDescriptor.xml")" 4194304 \
	"the descriptor says 2 GiB"
run "$PRLDCTL" resize -s 1G "$dev"
is "$RC" 1 "shrinking is refused"
is "$(size "$dev")" $((2048 * MB)) "capacity unchanged"
"$PRLDCTL" close "$dev"
run "$PRLDCTL" check "$S/d"
is "$RC" 0 "prldctl check after detach: clean"
run qemu-img check -f parallels "$S/d/root.hds"
is "$RC" 0 "qemu-img check: clean"
qemu-img convert -f parallels -O raw "$S/d/root.hds" "$WORK/q.raw"
cmp -s <(head -c $((3 * MB)) "$WORK/q.raw") "$WORK/a" &&
	cmp -s <(dd if="$WORK/q.raw" bs=1M skip=2045 status=none) "$WORK/a"
ok $? "QEMU reads the moved and the new data"

# ---- a chain: the top grows, the snapshot stays smaller ------------------
"$PRLDCTL" create -s 64M "$S/c"
dev=$(attach "$S/c")
dd if="$WORK/a" of="$dev" bs=1M conv=fsync status=none
snap=$("$PRLDCTL" snapshot "$dev")
run "$PRLDCTL" resize -s 256M "$dev"
is "$RC" 0 "resize of a device with a snapshot below"
dd if="$WORK/a" of="$dev" bs=1M seek=200 conv=fsync status=none
cmp -s <(head -c $((3 * MB)) "$dev") "$WORK/a" &&
	cmp -s <(dd if="$dev" bs=1M skip=200 count=3 status=none) "$WORK/a"
ok $? "old and new data read back through the chain"
is "$(le64 "$S/c/root.hds" 36)" $((64 * 2048)) "the snapshot keeps its size"
"$PRLDCTL" close "$dev"
dev=$(attach "$S/c")
is "$(size "$dev")" $((256 * MB)) "re-attached: 256 MiB (the top's size)"
cmp -s <(dd if="$dev" bs=1M skip=200 count=3 status=none) "$WORK/a"
ok $? "and the data is there"
"$PRLDCTL" close "$dev"

# ---- ext4 grows with resize2fs --------------------------------------------
"$PRLDCTL" create -s 128M "$S/e"
dev=$(attach "$S/e")
mkfs.ext4 -q "$dev" && mkdir -p "$WORK/m" && mount "$dev" "$WORK/m"
head -c $((20 * MB)) /dev/urandom > "$WORK/m/f"
sum=$(md5sum < "$WORK/m/f")
blocks=$(df -B1 --output=size "$WORK/m" | tail -1)
run "$PRLDCTL" resize -s 512M "$dev"
is "$RC" 0 "resize while mounted"
run resize2fs "$dev"
is "$RC" 0 "resize2fs grows the mounted filesystem"
after=$(df -B1 --output=size "$WORK/m" | tail -1)
ok $((after <= blocks * 3)) "the filesystem is more than three times larger ($blocks -> $after)"
head -c $((200 * MB)) /dev/zero > "$WORK/m/big"
ok $? "200 MiB more fit"
is "$(md5sum < "$WORK/m/f")" "$sum" "the earlier file is intact"
umount "$WORK/m"
run fsck.ext4 -f -n "$dev"
is "$RC" 0 "fsck clean"
"$PRLDCTL" close "$dev"
run "$PRLDCTL" check "$S/e"
is "$RC" 0 "the image checks clean"

# ---- malformed PRLD_RESIZE: refused, nothing changes -------------------
"$PRLDCTL" create -s 16M "$S/r"
dev=$(attach "$S/r")
ro=$(attach -r "$S/d")
while read -r verdict name; do
	ok "$([ "$verdict" = PASS ]; echo $?)" "PRLD_RESIZE $name"
done < <(python3 - "$dev" "$ro" <<'EOF'
import fcntl, os, struct, sys
# struct prld_resize: u32 size, u32 flags, u64 new_sectors, u64 reserved[4]
SIZE = 48
def ioc(n):     # _IOW(0xDC, 0x18, 48)
    return (1 << 30) | (n << 16) | (0xDC << 8) | 0x18
def attempt(path, size, flags, sectors, reserved, n=SIZE):
    fd = os.open(path, os.O_RDONLY)
    buf = struct.pack("<IIQ4Q", size, flags, sectors, 0, 0, 0, reserved)
    try:
        fcntl.ioctl(fd, ioc(n), buf)
        return "ok"
    except OSError as e:
        return os.strerror(e.errno)
    finally:
        os.close(fd)
dev, ro = sys.argv[1], sys.argv[2]
cases = [
    ("wrong size field", dev, 40, 0, 65536, 0, "Invalid argument"),
    ("flags", dev, SIZE, 1, 65536, 0, "Invalid argument"),
    ("reserved", dev, SIZE, 0, 65536, 7, "Invalid argument"),
    ("zero sectors", dev, SIZE, 0, 0, 0, "Invalid argument"),
    ("shrink", dev, SIZE, 0, 1024, 0, "Invalid argument"),
    ("beyond the format", dev, SIZE, 0, 1 << 62, 0, "Invalid argument"),
    ("read-only device", ro, SIZE, 0, 65536, 0, "Read-only file system"),
]
for name, path, size, flags, sectors, res, want in cases:
    got = attempt(path, size, flags, sectors, res)
    print("PASS" if got == want else "FAIL", name, "->", got)
EOF
)
is "$(size "$dev")" $((16 * MB)) "after the refusals the device is unchanged"
"$PRLDCTL" close "$ro"
"$PRLDCTL" close "$dev"
run "$PRLDCTL" check "$S/r"
is "$RC" 0 "and its image checks clean"

tap_done
