#!/bin/bash
# The README's incremental backup, end to end, while a writer holds the
# disk (prldctl write on a fifo: the top is locked the whole time, as an
# attached device locks it): a full backup of snapshot G1's state, then
# only the clusters `map --from G1 --to G2` names, copied out of G2's
# state with `read --snapshot`, make the backup equal G2's state; G1 is
# deleted offline afterwards and the disk still reads the same.  (The
# attached variant, `open -r --snapshot`, is tests/kernel/39-backup.t.)
. "$(dirname "$0")/tap.sh"

P=$PRLDCTL
MiB=1048576

# The recipe's incremental step, as in README.md.
incremental() {	# incremental DISK FROM TO BACKUP
	local disk=$1 from=$2 to=$3 backup=$4 cl size r a b off len
	cl=$("$P" map --from "$from" --to "$to" "$disk" | awk '/^granularity/ { print $2 }')
	size=$("$P" info --json "$disk" | jq .virtual_size)
	for r in $("$P" map --from "$from" --to "$to" "$disk" |
		   sed -n 's/^clusters: *//p' | tr ',' ' '); do
		a=${r%-*} b=${r#*-}
		off=$((a * cl)) len=$(((b - a + 1) * cl))
		[ $((off + len)) -le "$size" ] || len=$((size - off))
		"$P" read --snapshot "$to" --offset $off --length $len "$disk" |
			dd of="$backup" bs=1M seek=$off oflag=seek_bytes \
			   conv=notrunc status=none || return 1
	done
}

"$P" create -s 64M "$WORK/d" > /dev/null
head -c 20M /dev/urandom | "$P" write "$WORK/d"
G1=$("$P" snapshot "$WORK/d")

# A writer holds the disk from here on.
mkfifo "$WORK/fifo"
"$P" write --offset 30M "$WORK/d" < "$WORK/fifo" &
writer=$!
exec 9>"$WORK/fifo"
head -c 1M /dev/urandom >&9
run "$P" write "$WORK/d" < /dev/null
like "$ERR" "in use by another process" "the disk is held by the writer"

run "$P" convert -q --snapshot "$G1" "$WORK/d" "$WORK/backup.raw"
is "$RC" 0 "full backup of G1 while the disk is written"
"$P" read --snapshot "$G1" "$WORK/d" | cmp -s - "$WORK/backup.raw"
ok $? "the full backup is G1's state"
head -c 3M /dev/urandom >&9
exec 9>&-
wait $writer
is $? 0 "the writer finishes"

# More writes, a second snapshot, then the incremental step.
head -c 2M /dev/urandom | "$P" write --offset 5M "$WORK/d"
printf 'tail' | "$P" write --offset $((64 * MiB - 4)) "$WORK/d"
G2=$("$P" snapshot "$WORK/d")
head -c 1M /dev/urandom | "$P" write --offset 50M "$WORK/d"
changed=$("$P" map --from "$G1" --to "$G2" "$WORK/d" | sed -n 's/^clusters: *//p')
is "$changed" "5-6,30-33,63" "map --from G1 --to G2: the clusters written between them"
incremental "$WORK/d" "$G1" "$G2" "$WORK/backup.raw"
ok $? "incremental step"
"$P" read --snapshot "$G2" "$WORK/d" | cmp -s - "$WORK/backup.raw"
ok $? "backup + increment = G2's state"
"$P" read "$WORK/d" | md5sum > "$WORK/now"
run "$P" delete-snapshot --json "$G1" "$WORK/d"
is "$RC" 0 "G1 deleted once backed up"
is "$("$P" read "$WORK/d" | md5sum)" "$(cat "$WORK/now")" "the disk reads the same"
"$P" read --snapshot "$G2" "$WORK/d" | cmp -s - "$WORK/backup.raw"
ok $? "G2 still reads as the backup"
run qemu-img check -f parallels "$WORK/d/root.hds"
is "$RC" 0 "qemu-img check clean on the base"

tap_done
