#!/bin/bash
# Ctrl-C (SIGINT) during write and delete-snapshot leaves the disk clean:
# in-use flag cleared, qemu-img check clean, and nothing half-written --
# write keeps whole chunks of its input, a merge finishes.  (convert's
# interruption is in convert.t.)
. "$(dirname "$0")/tap.sh"

P=$PRLDCTL
MiB=1048576

# write: 3.5 MiB through a fifo, then SIGINT while it waits for more.
"$P" create -s 16M "$WORK/d" > /dev/null
head -c $((7 * MiB / 2)) /dev/urandom > "$WORK/in"
mkfifo "$WORK/fifo"
"$P" write "$WORK/d" < "$WORK/fifo" 2> "$WORK/err" &
pid=$!
exec 9>"$WORK/fifo"
cat "$WORK/in" >&9
sleep 0.3
kill -INT $pid
wait $pid
is $? 130 "write: SIGINT ends it with 130"
exec 9>&-
like "$(cat "$WORK/err")" "interrupted: 3145728 bytes (3 MiB) written" \
	"write: says how much it wrote"
is "$(le32 "$WORK/d/root.hds" 44)" 0 "write: in-use flag cleared"
run qemu-img check -f parallels "$WORK/d/root.hds"
is "$RC" 0 "write: qemu-img check clean"
{ head -c $((3 * MiB)) "$WORK/in"; head -c $((13 * MiB)) /dev/zero; } > "$WORK/ref"
"$P" read "$WORK/d" | cmp -s - "$WORK/ref"
ok $? "write: the disk holds the 3 whole chunks read, nothing of the 4th"

# delete-snapshot: SIGINT once the copy is under way; the merge finishes.
"$P" create -s 256M "$WORK/m" > /dev/null
head -c 64M /dev/urandom | "$P" write "$WORK/m"
G=$("$P" snapshot "$WORK/m")
head -c 192M /dev/urandom | "$P" write "$WORK/m"
"$P" read "$WORK/m" | md5sum > "$WORK/before"
"$P" delete-snapshot "$G" "$WORK/m" > "$WORK/progress" 2> "$WORK/err" &
pid=$!
for _ in $(seq 500); do
	grep -q '"done"' "$WORK/progress" && break
	sleep 0.01
done
kill -INT $pid
wait $pid
is $? 0 "delete-snapshot: SIGINT during the copy; the merge still finishes"
like "$(tail -1 "$WORK/progress")" '"status":"ok"' "delete-snapshot: status ok"
run "$P" snapshots --json "$WORK/m"
is "$(echo "$OUT" | jq length)" 1 "delete-snapshot: one image left"
run "$P" check "$WORK/m"
is "$RC" 0 "delete-snapshot: prldctl check clean (no journal, no in-use flag)"
run qemu-img check -f parallels "$WORK/m/root.hds"
is "$RC" 0 "delete-snapshot: qemu-img check clean"
is "$("$P" read "$WORK/m" | md5sum)" "$(cat "$WORK/before")" \
	"delete-snapshot: the disk reads as before"

tap_done
