#!/bin/bash
# Attach a disk, check size, flags, status, data, offset policy, read-only.
. "$(dirname "$0")/lib.sh"

"$PRLDCTL" create -s 256M "$S/d"
run attach "$S/d"
is "$RC" 0 "prldctl open works"
dev=$OUT
DEVS+=("$dev")
like "$dev" "/dev/prld" "it names a /dev/prldN"
is "$(blockdev --getsize64 "$dev")" 268435456 "device size = virtual size"
is "$(blockdev --getss "$dev")" 512 "512-byte sectors"
is "$(le32 "$S/d/root.hds" 44)" $((0x746F6E59)) "in-use flag set while attached rw"
j=$("$PRLDCTL" list --json)
is "$(jq length <<<"$j")" 1 "list shows one device"
is "$(jq -r '.[0].device' <<<"$j")" "$dev" "list names it"
j=$("$PRLDCTL" info --json "$dev")
is "$(jq -r '.layers[0].file' <<<"$j")" "$(realpath "$S/d/root.hds")" "kernel reports the backing file"
is "$(jq .cluster_size <<<"$j")" 1048576 "kernel reports the cluster size"
is "$(jq .allocated_clusters <<<"$j")" 0 "nothing allocated yet"
cmp -s <(head -c 4M "$dev") <(head -c 4M /dev/zero)
ok $? "unallocated clusters read as zeros"

# Data written through the device reads back, also after detach.
head -c 3M /dev/urandom > "$WORK/p"
dd if="$WORK/p" of="$dev" bs=1M seek=10 oflag=direct conv=fsync status=none
ok $? "3 MiB direct write at 10 MiB"
cmp -s <(dd if="$dev" bs=1M skip=10 count=3 iflag=direct status=none) "$WORK/p"
ok $? "reads back through the device"
is "$("$PRLDCTL" map --json "$dev" | jq .set)" 3 "kernel map: 3 clusters"
is "$("$PRLDCTL" info --json "$dev" | jq .allocated_clusters)" 3 "status: 3 allocated"
head -c 5000 /dev/urandom > "$WORK/small"
dd if="$WORK/small" of="$dev" bs=5000 seek=5000 oflag=seek_bytes conv=notrunc,fsync status=none
ok $? "unaligned 5000-byte buffered write at byte 5000"
run "$PRLDCTL" close "$dev"
is "$RC" 0 "prldctl close"
is "$(le32 "$S/d/root.hds" 44)" 0 "in-use flag cleared by detach"
is "$(( $(le32 "$S/d/root.hds" 52) & 1 ))" 0 "CIF_Empty cleared"
run qemu-img check -f parallels "$S/d/root.hds"
is "$RC" 0 "qemu-img check exit 0 after detach"
"$PRLDCTL" read --offset 10M --length 3M "$S/d" | cmp -s - "$WORK/p"
ok $? "prldctl read sees the device's data"
"$PRLDCTL" read --offset 5000 --length 5000 "$S/d" | cmp -s - "$WORK/small"
ok $? "prldctl read sees the unaligned write"
is "$(stat -c %s "$S/d/root.hds")" $((1048576 * 5)) "file = header + 4 clusters, nothing more"
run "$PRLDCTL" close "$dev"
ok $((RC == 0)) "closing an unbound device fails"
like "$ERR" "not attached" "and says so"

# Read-only: the kernel refuses writes, the image stays byte-identical.
sum=$(sha256sum < "$S/d/root.hds")
dev=$(attach -r "$S/d")
is "$(blockdev --getro "$dev")" 1 "read-only attach: device is read-only"
is "$(le32 "$S/d/root.hds" 44)" 0 "read-only attach leaves the in-use flag alone"
run dd if=/dev/zero of="$dev" bs=4k count=1 oflag=direct status=none
ok $((RC == 0)) "writing to a read-only device fails"
cmp -s <(dd if="$dev" bs=1M skip=10 count=3 status=none) "$WORK/p"
ok $? "read-only device reads the data"
"$PRLDCTL" close "$dev"
is "$(sha256sum < "$S/d/root.hds")" "$sum" "image byte-identical after read-only use"

# The offset policy shifts every access.
dev=$(attach --offset 10M "$S/d")
is "$(blockdev --getsize64 "$dev")" $((246 << 20)) "--offset 10M: device is 10 MiB smaller"
cmp -s <(head -c 3M "$dev") "$WORK/p"
ok $? "--offset 10M: byte 0 is the disk's 10 MiB"
"$PRLDCTL" close "$dev"
run "$PRLDCTL" open --offset 1000 "$S/d"
ok $((RC == 0)) "--offset not a multiple of 512 refused"

# A bare image (no descriptor) attaches too; buffered I/O when asked.
"$PRLDCTL" create --image -s 64M --cluster-size 64K "$S/bare.hds"
dev=$(attach --direct-io off "$S/bare.hds")
is "$("$PRLDCTL" info --json "$dev" | jq .direct_io)" false "--direct-io off honoured"
dd if="$WORK/p" of="$dev" bs=64k seek=7 conv=fsync status=none
"$PRLDCTL" close "$dev"
"$PRLDCTL" read --offset $((7 * 65536)) --length 3M "$S/bare.hds" | cmp -s - "$WORK/p"
ok $? "bare image with 64K clusters, buffered: data round-trips"
run qemu-img check -f parallels "$S/bare.hds"
is "$RC" 0 "qemu-img check exit 0"

# prldctl open reads headers only and leaves the BATs to the kernel; a
# BAT the kernel refuses is explained by the full userspace check.
"$CORPUS_GEN" "$S/c" > /dev/null
sum=$(sha256sum < "$S/c/truncated-data.hds")
dmesg_mark
run "$PRLDCTL" open "$S/c/truncated-data.hds"
ok $((RC == 0)) "an image whose BAT points past its end is refused"
like "$ERR" "BAT entry points past the end of the file" "prldctl names the rule"
like "$(dmesg_new)" "BAT entry points past the end of the file" "so does the kernel"
is "$(sha256sum < "$S/c/truncated-data.hds")" "$sum" "the image is unchanged"
is "$("$PRLDCTL" list | wc -l)" 0 "nothing bound"

tap_done
