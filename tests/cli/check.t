#!/bin/bash
# prldctl check against qemu-img check on the problems both know (in-use
# flag, leaked tail), then the stricter ones, and --repair without data loss.
. "$(dirname "$0")/tap.sh"

setle32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' \
	$(($3 & 255)) $(($3 >> 8 & 255)) $(($3 >> 16 & 255)) $(($3 >> 24 & 255)))" |
	dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }

img=$WORK/a.hds
"$PRLDCTL" create --image -s 16M --cluster-size 64K "$img"
head -c 300000 /dev/urandom > "$WORK/data"
"$PRLDCTL" write --offset 100000 "$img" < "$WORK/data"
"$PRLDCTL" read "$img" > "$WORK/before.raw"

run "$PRLDCTL" check "$img"
is "$RC" 0 "clean image: exit 0"
like "$OUT" "No errors" "clean image: says so"
is "$("$PRLDCTL" check --json "$img" | jq .exit_status)" 0 "json exit_status 0"

# In-use flag: both checkers call it corruption; writes are refused,
# reads still work, --repair clears it.
setle32 "$img" 44 $((0x746F6E59))
run "$PRLDCTL" check "$img"
is "$RC" 2 "in-use flag: exit 2"
like "$OUT" "in-use" "in-use flag named"
run qemu-img check -f parallels "$img"
is "$RC" 2 "qemu-img check agrees (exit 2)"
run sh -c "printf x | '$PRLDCTL' write '$img'"
ok $((RC == 0)) "writing a dirty image is refused"
like "$ERR" "check --repair" "the refusal says how to fix it"
"$PRLDCTL" read "$img" | cmp -s - "$WORK/before.raw"
ok $? "reading a dirty image still works"
run "$PRLDCTL" check --repair "$img"
is "$RC" 0 "--repair: exit 0"
like "$OUT" "repaired" "--repair says what it did"
is "$(le32 "$img" 44)" 0 "flag cleared on disk"
run qemu-img check -f parallels "$img"
is "$RC" 0 "qemu-img check clean after repair"

# Leaked tail: qemu-img says 3, so do we; repair truncates.
size=$(stat -c %s "$img")
truncate -s $((size + 3 * 65536)) "$img"
run "$PRLDCTL" check "$img"
is "$RC" 3 "leaked tail: exit 3"
like "$OUT" "leak" "leak named"
run qemu-img check -f parallels "$img"
is "$RC" 3 "qemu-img check agrees (exit 3)"
run "$PRLDCTL" check --repair "$img"
is "$RC" 0 "repair of the leak: exit 0"
is "$(stat -c %s "$img")" "$size" "tail truncated"

# A failed extension (length not a multiple of the cluster).
truncate -s $((size + 1000)) "$img"
run "$PRLDCTL" check "$img"
is "$RC" 3 "partial cluster at the end: leak (exit 3)"
"$PRLDCTL" check --repair "$img" > /dev/null
is "$(stat -c %s "$img")" "$size" "partial cluster removed"

# Stricter than qemu: a duplicated BAT entry.
e0=$(le32 "$img" 64)
for i in $(seq 0 255); do
	e=$(le32 "$img" $((64 + 4 * i)))
	[ "$e" != 0 ] && [ "$e" != "$e0" ] && { idx=$i; break; }
done
setle32 "$img" $((64 + 4 * 200)) "$(le32 "$img" $((64 + 4 * idx)))"
run "$PRLDCTL" check "$img"
is "$RC" 2 "duplicate BAT entry: exit 2"
like "$OUT" "duplicate" "duplicate named"
run "$PRLDCTL" check --repair "$img"
is "$RC" 0 "duplicate repaired"
run "$PRLDCTL" check "$img"
is "$RC" 0 "clean after repair"
"$PRLDCTL" read --length 12M "$img" | cmp -s - <(head -c 12M "$WORK/before.raw")
ok $? "data before the duplicate unchanged"
"$PRLDCTL" read --offset $((200 * 65536)) --length 65536 "$img" |
	cmp -s - <(tail -c +$((idx * 65536 + 1)) "$WORK/before.raw" | head -c 65536)
ok $? "the duplicate got its own copy of the data"

# A whole disk directory: descriptor checks too.
"$PRLDCTL" create -s 8M "$WORK/dir"
run "$PRLDCTL" check --json "$WORK/dir"
is "$RC" 0 "clean directory"
sed -i 's/<Blocksize>2048</<Blocksize>4096</' "$WORK/dir/DiskDescriptor.xml"
run "$PRLDCTL" check "$WORK/dir"
is "$RC" 2 "Blocksize disagreeing with the image: exit 2"
like "$OUT$ERR" "Blocksize" "Blocksize named"
sed -i 's/<Blocksize>4096</<Blocksize>2048</' "$WORK/dir/DiskDescriptor.xml"
mv "$WORK/dir/root.hds" "$WORK/dir/gone.hds"
run "$PRLDCTL" check "$WORK/dir"
is "$RC" 2 "missing image file: exit 2"
like "$OUT$ERR" "root.hds" "missing file named"
run "$PRLDCTL" check "$WORK/nonexistent"
is "$RC" 1 "check of a missing path fails (exit 1)"
like "$ERR" "nonexistent" "and names it"

tap_done
