#!/bin/bash
# Boot 2 of a power-cut test: after the cut, the images check clean but for
# the in-use flag and leaked clusters, repair to clean, attach, the inner
# ext4 is clean after its journal replay, and every write and file the
# writers' logs call durable is there.  PRLD_CRASH_SELFTEST=1 then undoes
# one durable write and damages one durable file and wants both checkers
# to notice: proof that this check can fail.  TAP output.
cd "$(dirname "$0")/../.."
export PRLDCTL=$PWD/userspace/prldctl
. tests/cli/tap.sh
: "${PRLD_KO:?}" "${PRLD_VM_SCRATCH:?}" "${PRLD_VM_WORK:?}"
DURABLE=$PWD/build/durable
W=$PRLD_VM_WORK

mkdir -p /mnt/s /mnt/fs
mount "$PRLD_VM_SCRATCH" /mnt/s
ok $? "the scratch filesystem mounts (its own journal replayed)"
insmod "$PRLD_KO"
for d in raw fs; do
	run "$PRLDCTL" check --json "/mnt/s/$d"
	bad=$(jq -r '.findings[] | select(.severity == "corrupt") | .message' <<< "$OUT" |
		grep -v '^in-use flag set' || true)
	is "$bad" "" "$d: prldctl check finds nothing but the in-use flag and leaks"
	like "$OUT" "in-use flag set" "$d: and the in-use flag (the cut hit it attached)"
	[ -z "$bad" ] || echo "$OUT" | sed 's/^/#   /'
	run "$PRLDCTL" check --repair "/mnt/s/$d"
	ok $((RC != 0 && RC != 3)) "$d: prldctl check --repair (exit $RC)"
	for img in /mnt/s/$d/*.hds*; do
		run qemu-img check -f parallels "$img"
		ok $((RC != 0 && RC != 3)) "$d: qemu-img check $(basename "$img") (exit $RC)"
		[ "$RC" = 0 ] || [ "$RC" = 3 ] || echo "$OUT" | sed 's/^/#   /'
	done
done

rawdev=$("$PRLDCTL" open /mnt/s/raw)
ok $? "the raw-writer disk attaches"
run "$DURABLE" check-dev "$rawdev" "$W/dev.log"
is "$RC" 0 "every durable direct write is there"
echo "$OUT" | sed 's/^/#   /'
fsdev=$("$PRLDCTL" open /mnt/s/fs)
ok $? "the filesystem disk attaches"
# e2fsck -n cannot replay a journal: a mount does, then the full check.
mount "$fsdev" /mnt/fs && umount /mnt/fs
ok $? "the inner ext4 mounts and replays its journal"
run fsck.ext4 -f -n "$fsdev"
is "$RC" 0 "fsck.ext4 -f -n: clean"
[ "$RC" = 0 ] || echo "$OUT" | tail -n 20 | sed 's/^/#   /'
mount "$fsdev" /mnt/fs
run "$DURABLE" check-files /mnt/fs "$W/files.log"
is "$RC" 0 "every durable file is there, every durable unlink done"
echo "$OUT" | sed 's/^/#   /'

if [ "${PRLD_CRASH_SELFTEST:-0}" = 1 ]; then
	"$DURABLE" damage-dev "$rawdev" "$W/dev.log" | sed 's/^/# /'
	run "$DURABLE" check-dev "$rawdev" "$W/dev.log"
	is "$RC" 1 "selftest: check-dev notices an undone durable write"
	"$DURABLE" damage-files /mnt/fs "$W/files.log" | sed 's/^/# /'
	run "$DURABLE" check-files /mnt/fs "$W/files.log"
	is "$RC" 1 "selftest: check-files notices a damaged durable file"
fi

umount /mnt/fs
"$PRLDCTL" close "$rawdev" && "$PRLDCTL" close "$fsdev"
ok $? "both disks detach"
for d in raw fs; do
	run "$PRLDCTL" check "/mnt/s/$d"
	ok $((RC != 0 && RC != 3)) "$d: prldctl check after the clean detach (exit $RC)"
done
rmmod prld
umount /mnt/s
echo "# check took $SECONDS s"
tap_done
